// Command starter starts a run of a sync, waits for it and prints its
// summary. It exits 0 when the run completed (with or without rejected
// users), 1 when it failed, and 2 on invalid flags.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"log/slog"

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

func main() {
	var in workflows.SyncInput
	attrs := attributeFlag{}
	address := flag.String("address", envOr("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		"Temporal frontend host:port (env TEMPORAL_ADDRESS)")
	namespace := flag.String("namespace", envOr("TEMPORAL_NAMESPACE", "default"),
		"Temporal namespace (env TEMPORAL_NAMESPACE)")
	taskQueue := flag.String("task-queue", syncworker.DefaultTaskQueue, "the worker's task queue")
	flag.StringVar(&in.SyncID, "sync-id", "", "name of the sync; its runs share one baseline (required)")
	flag.StringVar(&in.Snapshot, "snapshot", "",
		"Parquet file, directory of part files, or glob, as the worker sees it (required)")
	flag.StringVar(&in.UserIDColumn, "user-id-column", "", "column sent as userId (default user_id)")
	flag.StringVar(&in.EmailColumn, "email-column", "", "column sent as emailAddress (default: none)")
	flag.Var(attrs, "attribute", "column=attribute to send a column under a name; repeat it "+
		"(default: every other column under its own name)")
	flag.StringVar(&in.Environment, "environment", "", "Sprig environment: production or development (default production)")
	flag.Float64Var(&in.RateLimit, "rate-limit", 0, "most requests per second to Sprig (default 100)")
	flag.IntVar(&in.BatchSize, "batch-size", 0, "most users per batch (default 1000)")
	flag.IntVar(&in.Parallelism, "parallelism", 0, "most batches in flight (default 4)")
	flag.BoolVar(&in.AllowEmpty, "allow-empty-snapshot", false, "run a snapshot with zero rows")
	flag.Float64Var(&in.MaxChangedShare, "max-changed-share", 0,
		"largest share of the baseline that may change or go in one run, 0 to 1 (default 0.5; 1 turns the check off)")
	asJSON := flag.Bool("json", false, "print the summary as one JSON object")
	flag.Parse()
	if in.SyncID == "" || in.Snapshot == "" {
		fmt.Fprintln(os.Stderr, "starter: -sync-id and -snapshot are required")
		flag.Usage()
		os.Exit(2)
	}
	if len(attrs) > 0 {
		in.Attributes = attrs
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := client.Dial(client.Options{HostPort: *address, Namespace: *namespace,
		Logger: sdklog.NewStructuredLogger(logger)})
	if err != nil {
		fmt.Fprintf(os.Stderr, "starter: unable to connect to Temporal at %s: %v\n", *address, err)
		os.Exit(1)
	}
	defer c.Close()

	ctx := context.Background()
	run, err := syncrun.Start(ctx, c, *taskQueue, in)
	if err != nil {
		fmt.Fprintf(os.Stderr, "starter: %v\n", err)
		os.Exit(1)
	}
	if !*asJSON {
		fmt.Printf("Started sync %s, run %s; waiting for it to finish.\n", in.SyncID, run.GetRunID())
	}
	sum, runErr := syncrun.Wait(ctx, run)
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.Encode(sum)
	} else {
		syncrun.Format(os.Stdout, sum)
	}
	if runErr != nil {
		if !*asJSON {
			fmt.Fprintf(os.Stderr, "starter: run failed: %v\n", runErr)
		}
		os.Exit(1)
	}
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
