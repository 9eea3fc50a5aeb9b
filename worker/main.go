// Command worker runs SyncWorkflow and its activities.
//
// API keys come from the environment, one per Sprig environment:
// SPRIG_API_KEY_PRODUCTION and SPRIG_API_KEY_DEVELOPMENT.
package main

import (
	"flag"
	"log/slog"
	"os"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/sprigsync/sprigsync/syncworker"
)

func main() {
	cfg := syncworker.ConfigFromEnv()
	address := flag.String("address", envOr("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		"Temporal frontend host:port (env TEMPORAL_ADDRESS)")
	namespace := flag.String("namespace", envOr("TEMPORAL_NAMESPACE", "default"),
		"Temporal namespace (env TEMPORAL_NAMESPACE)")
	flag.StringVar(&cfg.TaskQueue, "task-queue", syncworker.DefaultTaskQueue, "task queue to poll")
	flag.StringVar(&cfg.StateDir, "state-dir", envOr("SPRIGSYNC_STATE_DIR", "state"),
		"directory of baselines, changesets and run records (env SPRIGSYNC_STATE_DIR)")
	flag.StringVar(&cfg.SprigURL, "sprig-url", cfg.SprigURL,
		"Sprig API root (env SPRIG_BASE_URL; default https://api.sprig.com)")
	flag.DurationVar(&cfg.StopTimeout, "stop-timeout", 0,
		"time running batches get to checkpoint on SIGTERM (default 30s)")
	debug := flag.Bool("debug", false, "log at debug level")
	flag.Parse()

	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)

	c, err := client.Dial(client.Options{HostPort: *address, Namespace: *namespace,
		Logger: sdklog.NewStructuredLogger(logger)})
	if err != nil {
		logger.Error("Unable to connect to Temporal", "address", *address, "error", err)
		os.Exit(1)
	}
	defer c.Close()

	w, err := syncworker.New(c, cfg)
	if err != nil {
		logger.Error("Unable to create the worker", "error", err)
		os.Exit(1)
	}
	logger.Info("Worker starting", "address", *address, "namespace", *namespace,
		"task_queue", cfg.TaskQueue, "state_dir", cfg.StateDir)
	if err := w.Run(worker.InterruptCh()); err != nil {
		logger.Error("Worker stopped with an error", "error", err)
		os.Exit(1)
	}
	logger.Info("Worker stopped")
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
