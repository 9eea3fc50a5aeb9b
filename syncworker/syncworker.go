// Package syncworker builds the Temporal worker that runs SyncWorkflow and
// its activities, from configuration that comes from the worker's own
// environment. API keys enter here and go nowhere else: not into workflow
// input, history or logs.
package syncworker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sprigsync/sprigsync/activities"
	"github.com/sprigsync/sprigsync/sprig"
	"github.com/sprigsync/sprigsync/state"
	"github.com/sprigsync/sprigsync/workflows"
)

// DefaultTaskQueue is the task queue the worker polls and the starter uses.
const DefaultTaskQueue = "sprig-sync"

// Environments are the Sprig environments a worker can hold a key for.
var Environments = []string{"production", "development"}

// Config configures a worker. Zero values mean the documented defaults.
type Config struct {
	// TaskQueue is the task queue to poll. Default DefaultTaskQueue.
	TaskQueue string
	// StateDir is the directory of the state store. Required.
	StateDir string
	// SprigURL is Sprig's API root. Default https://api.sprig.com.
	SprigURL string
	// APIKeys has one Sprig API key per environment name. At least one is
	// required.
	APIKeys map[string]string `json:"-"`
	// StopTimeout is how long a stopping worker lets running activities
	// finish or checkpoint before it cancels them. Default 30 s.
	StopTimeout time.Duration
	// MaxConcurrentBatches bounds the batch activities this worker runs
	// at once. Default 64.
	MaxConcurrentBatches int
	// PauseAt and PauseFile inject a fault for tests: when an activity
	// reaches the point PauseAt ("plan" or "finish"), the worker writes
	// PauseFile and blocks there, so a test can kill it at that moment.
	PauseAt, PauseFile string
}

// String describes the configuration without the API keys.
func (c Config) String() string {
	var envs []string
	for _, env := range Environments {
		if c.APIKeys[env] != "" {
			envs = append(envs, env)
		}
	}
	return fmt.Sprintf("syncworker.Config{TaskQueue:%q, StateDir:%q, SprigURL:%q, APIKeys:[%s redacted]}",
		c.TaskQueue, c.StateDir, c.SprigURL, strings.Join(envs, ","))
}

// ConfigFromEnv reads the API keys from SPRIG_API_KEY_PRODUCTION and
// SPRIG_API_KEY_DEVELOPMENT, the Sprig URL from SPRIG_BASE_URL, and the
// test-only fault injection from SPRIGSYNC_FAULT_PAUSE_AT and
// SPRIGSYNC_FAULT_PAUSE_FILE.
func ConfigFromEnv() Config {
	c := Config{SprigURL: os.Getenv("SPRIG_BASE_URL"), APIKeys: map[string]string{},
		PauseAt: os.Getenv("SPRIGSYNC_FAULT_PAUSE_AT"), PauseFile: os.Getenv("SPRIGSYNC_FAULT_PAUSE_FILE")}
	for _, env := range Environments {
		if key := strings.TrimSpace(os.Getenv(activities.KeyVariable(env))); key != "" {
			c.APIKeys[env] = key
		}
	}
	return c
}

// New returns a worker that runs SyncWorkflow and its activities on c.
func New(c client.Client, cfg Config) (worker.Worker, error) {
	if cfg.TaskQueue == "" {
		cfg.TaskQueue = DefaultTaskQueue
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 30 * time.Second
	}
	if cfg.MaxConcurrentBatches == 0 {
		cfg.MaxConcurrentBatches = workflows.MaxParallelism
	}
	store, err := state.NewLocal(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	acts := &activities.Activities{Store: store, Clients: map[string]activities.Client{}}
	for _, env := range Environments {
		key := cfg.APIKeys[env]
		if key == "" {
			continue
		}
		sc, err := sprig.NewClient(sprig.Options{BaseURL: cfg.SprigURL, APIKey: key,
			MaxIdleConns: 512})
		if err != nil {
			return nil, fmt.Errorf("sprig client for environment %q: %w", env, err)
		}
		acts.Clients[env] = sc
	}
	if cfg.PauseAt != "" {
		acts.Pause = pauseAt(cfg.PauseAt, cfg.PauseFile)
	}
	if len(acts.Clients) == 0 {
		return nil, errors.New("no Sprig API key is set: set SPRIG_API_KEY_PRODUCTION or " +
			"SPRIG_API_KEY_DEVELOPMENT (Sprig: Integrations > Enrichment > Data Import API)")
	}

	w := worker.New(c, cfg.TaskQueue, worker.Options{
		WorkerStopTimeout:                  cfg.StopTimeout,
		MaxConcurrentActivityExecutionSize: cfg.MaxConcurrentBatches + 4,
	})
	w.RegisterWorkflowWithOptions(workflows.SyncWorkflow,
		workflow.RegisterOptions{Name: workflows.SyncWorkflowName})
	w.RegisterActivity(acts)
	return w, nil
}

// pauseAt returns a Pause hook that blocks at point until the activity is
// cancelled, after writing file so that a test can see the worker is there.
func pauseAt(point, file string) func(ctx context.Context, at string) {
	return func(ctx context.Context, at string) {
		if at != point {
			return
		}
		slog.Warn("Fault injection: pausing the activity", "point", at)
		if file != "" {
			os.WriteFile(file, []byte(at), 0o644)
		}
		<-ctx.Done()
	}
}
