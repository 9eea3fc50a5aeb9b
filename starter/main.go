// Command starter starts a run of a sync, waits for it and prints its
// summary. "starter resume -sync-id ID" starts a new run of a sync whose
// last run failed, with the same input; it sends only the users that are
// left. Both exit 0 when the run completed (with or without rejected users),
// 1 when it failed, and 2 on invalid flags.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/sprigsync/sprigsync/syncrun"
	"github.com/sprigsync/sprigsync/syncworker"
	"github.com/sprigsync/sprigsync/workflows"
)

// attributeFlag collects -attribute column=name pairs.
type attributeFlag map[string]string

func (a attributeFlag) String() string { return fmt.Sprint(map[string]string(a)) }

func (a attributeFlag) Set(v string) error {
	column, name, ok := strings.Cut(v, "=")
	if !ok || column == "" || name == "" {
		return fmt.Errorf("invalid attribute mapping %q: use column=attribute", v)
	}
	a[column] = name
	return nil
}

// connection holds the flags every subcommand shares.
type connection struct {
	address, namespace, taskQueue string
	asJSON                        bool
}

func (c *connection) register(fs *flag.FlagSet) {
	fs.StringVar(&c.address, "address", envOr("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		"Temporal frontend host:port (env TEMPORAL_ADDRESS)")
	fs.StringVar(&c.namespace, "namespace", envOr("TEMPORAL_NAMESPACE", "default"),
		"Temporal namespace (env TEMPORAL_NAMESPACE)")
	fs.StringVar(&c.taskQueue, "task-queue", "", "the worker's task queue (default "+
		syncworker.DefaultTaskQueue+"; resume: the last run's)")
	fs.BoolVar(&c.asJSON, "json", false, "print the summary as one JSON object")
}

func (c *connection) taskQueueOrDefault() string {
	if c.taskQueue == "" {
		return syncworker.DefaultTaskQueue
	}
	return c.taskQueue
}

func (c *connection) dial() (client.Client, error) {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cl, err := client.Dial(client.Options{HostPort: c.address, Namespace: c.namespace,
		Logger: sdklog.NewStructuredLogger(logger)})
	if err != nil {
		return nil, fmt.Errorf("unable to connect to Temporal at %s: %w", c.address, err)
	}
	return cl, nil
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "resume" {
		os.Exit(resume(os.Args[2:]))
	}
	os.Exit(start(os.Args[1:]))
}

func start(args []string) int {
	fs := flag.NewFlagSet("starter", flag.ContinueOnError)
	var conn connection
	conn.register(fs)
	var in workflows.SyncInput
	attrs := attributeFlag{}
	fs.StringVar(&in.SyncID, "sync-id", "", "name of the sync; its runs share one baseline (required)")
	fs.StringVar(&in.Snapshot, "snapshot", "",
		"Parquet file, directory of part files, or glob, as the worker sees it (required)")
	fs.StringVar(&in.UserIDColumn, "user-id-column", "", "column sent as userId (default user_id)")
	fs.StringVar(&in.EmailColumn, "email-column", "", "column sent as emailAddress (default: none)")
	fs.Var(attrs, "attribute", "column=attribute to send a column under a name; repeat it "+
		"(default: every other column under its own name)")
	fs.StringVar(&in.Environment, "environment", "",
		"Sprig environment: production or development (default production)")
	fs.Float64Var(&in.RateLimit, "rate-limit", 0, "most requests per second to Sprig (default 100)")
	fs.IntVar(&in.BatchSize, "batch-size", 0, "most users per batch (default 10000)")
	fs.IntVar(&in.Parallelism, "parallelism", 0, "most batches in flight (default 4)")
	fs.BoolVar(&in.AllowEmpty, "allow-empty-snapshot", false, "run a snapshot with zero rows")
	fs.Float64Var(&in.MaxChangedShare, "max-changed-share", 0, "largest share of the baseline "+
		"that may change or go in one run, 0 to 1 (0 means the default 0.5; 1 turns the check off)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: starter -sync-id ID -snapshot PATH [flags]\n"+
			"       starter resume -sync-id ID   (start a failed sync again; see starter resume -h)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if in.SyncID == "" || in.Snapshot == "" {
		fmt.Fprintln(os.Stderr, "starter: -sync-id and -snapshot are required")
		fs.Usage()
		return 2
	}
	if len(attrs) > 0 {
		in.Attributes = attrs
	}
	c, err := conn.dial()
	if err != nil {
		fmt.Fprintf(os.Stderr, "starter: %v\n", err)
		return 1
	}
	defer c.Close()
	ctx := context.Background()
	run, err := syncrun.Start(ctx, c, conn.taskQueue, in)
	if err != nil {
		fmt.Fprintf(os.Stderr, "starter: %v\n", err)
		return 1
	}
	if n, err := syncrun.Pollers(ctx, c, conn.taskQueue); err == nil && n == 0 {
		fmt.Fprintf(os.Stderr, "starter: warning: no worker polls task queue %q, so the run "+
			"waits until one does; check -task-queue, or stop the run with "+
			"`temporal workflow terminate --workflow-id %s`\n", conn.taskQueueOrDefault(), in.SyncID)
	}
	return wait(ctx, conn, run, in.SyncID)
}

func resume(args []string) int {
	fs := flag.NewFlagSet("starter resume", flag.ContinueOnError)
	var conn connection
	conn.register(fs)
	syncID := fs.String("sync-id", "", "the sync whose failed run to resume (required)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *syncID == "" {
		fmt.Fprintln(os.Stderr, "starter resume: -sync-id is required")
		fs.Usage()
		return 2
	}
	c, err := conn.dial()
	if err != nil {
		fmt.Fprintf(os.Stderr, "starter: %v\n", err)
		return 1
	}
	defer c.Close()
	ctx := context.Background()
	run, err := syncrun.Resume(ctx, c, conn.taskQueue, *syncID)
	if err != nil {
		fmt.Fprintf(os.Stderr, "starter resume: %v\n", err)
		return 1
	}
	return wait(ctx, conn, run, *syncID)
}

// wait waits for the run and prints its summary; it returns the exit code.
func wait(ctx context.Context, conn connection, run client.WorkflowRun, syncID string) int {
	if !conn.asJSON {
		fmt.Printf("Started sync %s, run %s; waiting for it to finish.\n", syncID, run.GetRunID())
	}
	sum, runErr := syncrun.Wait(ctx, run)
	if conn.asJSON {
		json.NewEncoder(os.Stdout).Encode(sum)
	} else {
		syncrun.Format(os.Stdout, sum)
	}
	if runErr != nil {
		ended := sum.Status == workflows.StatusCanceled || sum.Status == workflows.StatusTerminated
		switch {
		case conn.asJSON:
		case ended:
			fmt.Fprintf(os.Stderr, "starter: %v\n", runErr)
		default:
			fmt.Fprintf(os.Stderr, "starter: run failed: %v\n", runErr)
		}
		return 1
	}
	return 0
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
