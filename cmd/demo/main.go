// Command demo runs the main job end to end on this machine. It starts a
// Temporal dev server with its Web UI, the Sprig stand-in and a worker. It
// syncs the sample snapshot, then a second snapshot with a few changed
// users, and prints both summaries. Then it checks the users the stand-in
// contains and stops everything it started.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/sprigsync/sprigsync/mapping"
	"github.com/sprigsync/sprigsync/syncrun"
	"github.com/sprigsync/sprigsync/workflows"
)

type options struct {
	temporal, bin, dir string
	snapshots          [2]string
	keep               bool
}

func main() {
	var o options
	flag.StringVar(&o.temporal, "temporal", ".tools/bin/temporal", "path of the Temporal CLI")
	flag.StringVar(&o.bin, "bin", "bin", "directory of the worker and sprig-standin binaries")
	flag.StringVar(&o.dir, "dir", ".demo", "work directory for state and logs; emptied first")
	flag.StringVar(&o.snapshots[0], "snapshot-1", "demo/users-1.parquet", "first snapshot")
	flag.StringVar(&o.snapshots[1], "snapshot-2", "demo/users-2.parquet", "second snapshot")
	flag.BoolVar(&o.keep, "keep", false,
		"keep the dev server, Web UI, stand-in and worker running after the runs, until Ctrl-C")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	logs := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return err
	}
	key := randomKey()

	// The Temporal dev server with its Web UI, on loopback only.
	port, err := freePort(7233)
	if err != nil {
		return err
	}
	uiPort, err := freePort(8233)
	if err != nil {
		return err
	}
	address := fmt.Sprintf("127.0.0.1:%d", port)
	fmt.Printf("Starting the Temporal dev server (%s)...\n", o.temporal)
	server, _, err := startProcess("temporal", logs, nil, false, o.temporal, "server", "start-dev",
		"--ip", "127.0.0.1", "--port", fmt.Sprint(port), "--ui-port", fmt.Sprint(uiPort),
		"--db-filename", filepath.Join(dir, "temporal.db"), "--log-level", "error")
	if err != nil {
		return fmt.Errorf("%w (run `make tools` to build the Temporal CLI)", err)
	}
	defer server.stop()
	c, err := dialTemporal(ctx, address)
	if err != nil {
		return err
	}
	defer c.Close()
	ui := fmt.Sprintf("http://127.0.0.1:%d", uiPort)
	fmt.Printf("Temporal Web UI: %s/namespaces/default/workflows\n", ui)

	// The Sprig stand-in and a worker that writes to it.
	standin, line, err := startProcess("sprig-standin", logs,
		[]string{"SPRIG_STANDIN_KEYS=" + key + "=production"}, true,
		filepath.Join(o.bin, "sprig-standin"), "-addr", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer standin.stop()
	var standinURL string
	if _, err := fmt.Sscanf(line, "listening on %s", &standinURL); err != nil {
		return fmt.Errorf("the stand-in printed %q, want its address", line)
	}
	fmt.Printf("Sprig stand-in: %s (not Sprig; GET %s/standin/users shows what it holds)\n",
		standinURL, standinURL)
	worker, _, err := startProcess("worker", logs, []string{"SPRIG_API_KEY_PRODUCTION=" + key}, false,
		filepath.Join(o.bin, "worker"), "-address", address, "-state-dir", filepath.Join(dir, "state"),
		"-sprig-url", standinURL)
	if err != nil {
		return err
	}
	defer worker.stop()
	fmt.Printf("Worker started; logs in %s\n\n", logs)

	// Two runs of one sync.
	cfg := mapping.Config{UserIDColumn: "user_id", EmailColumn: "email"}
	var sums [2]workflows.Summary
	for i, snap := range o.snapshots {
		abs, err := filepath.Abs(snap)
		if err != nil {
			return err
		}
		in := workflows.SyncInput{SyncID: "demo-users", Snapshot: abs, Config: cfg,
			RateLimit: 200}
		run, err := syncrun.Start(ctx, c, "", in)
		if err != nil {
			return err
		}
		fmt.Printf("Run %d: syncing %s\n", i+1, snap)
		sums[i], err = syncrun.Wait(ctx, run)
		syncrun.Format(os.Stdout, sums[i])
		fmt.Println()
		if err != nil {
			return fmt.Errorf("run %d failed: %w", i+1, err)
		}
	}
	if err := verify(ctx, standinURL, o.snapshots, cfg, sums); err != nil {
		return err
	}
	fmt.Printf("Both runs are in the Temporal Web UI: %s/namespaces/default/workflows/demo-users\n", ui)

	if o.keep {
		fmt.Println("Everything keeps running; press Ctrl-C to stop it.")
		<-ctx.Done()
	}
	fmt.Println("Stopping the worker, the stand-in and the dev server.")
	return nil
}

func dialTemporal(ctx context.Context, address string) (client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := waitForPort(ctx, address); err != nil {
		return nil, fmt.Errorf("the Temporal dev server did not start: %w", err)
	}
	for {
		c, err := client.Dial(client.Options{HostPort: address, Logger: quietLogger()})
		if err == nil {
			if _, err = c.CheckHealth(ctx, &client.CheckHealthRequest{}); err == nil {
				return c, nil
			}
			c.Close()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the Temporal dev server at %s is not healthy: %w", address, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func randomKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "demo-" + hex.EncodeToString(b)
}
