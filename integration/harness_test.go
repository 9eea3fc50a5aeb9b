// Package integration runs whole syncs on a real Temporal dev server (the
// Temporal CLI that `make tools` builds) against the Sprig stand-in. The
// tests are skipped with -short.
package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/sprigsync/sprigsync/standin"
	"github.com/sprigsync/sprigsync/state"
	"github.com/sprigsync/sprigsync/syncrun"
	"github.com/sprigsync/sprigsync/syncworker"
	"github.com/sprigsync/sprigsync/workflows"
)

var devServer *testsuite.DevServer

func TestMain(m *testing.M) {
	flag.Parse()
	code := func() int {
		if !testing.Short() && os.Getenv("SPRIGSYNC_SKIP_INTEGRATION") == "" {
			path := devServerPath()
			if _, err := os.Stat(path); err != nil {
				fmt.Fprintf(os.Stderr, "integration: the Temporal CLI is missing at %s: run `make tools` "+
					"or set TEMPORAL_CLI (or run the unit tests alone with -short)\n", path)
				return 1
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			// The server writes to a file, not to this process's output: a
			// server left behind by a crashed test binary must not keep the
			// output pipe of `go test` open, or `go test` would wait forever.
			logFile, err := os.CreateTemp("", "sprigsync-devserver-*.log")
			if err != nil {
				fmt.Fprintf(os.Stderr, "integration: %v\n", err)
				return 1
			}
			defer logFile.Close()
			devServer, err = testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
				ExistingPath:  path,
				LogLevel:      "error",
				ClientOptions: &client.Options{Logger: quietLogger()},
				Stdout:        logFile,
				Stderr:        logFile,
			})
			if err != nil {
				fmt.Fprintf(os.Stderr, "integration: start the Temporal dev server: %v\n", err)
				return 1
			}
			defer devServer.Stop()
		}
		return m.Run()
	}()
	os.Exit(code)
}

func quietLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr,
		&slog.HandlerOptions{Level: slog.LevelError})))
}

// harness is one sync's world: a Sprig stand-in on 127.0.0.1, a state
// directory and a worker on its own task queue.
type harness struct {
	t         *testing.T
	client    client.Client
	taskQueue string
	key       string
	standin   *standin.Server
	url       string
	stateDir  string
	store     state.Store
	worker    worker.Worker
	// upserts counts POST /v2/users requests that reached the stand-in.
	upserts atomic.Int64
	// hook, when set, runs before the stand-in serves a request.
	hook atomic.Pointer[func(*http.Request)]
	// handler serves the stand-in through server.
	handler http.Handler
	server  atomic.Pointer[http.Server]
}

// serve serves the stand-in on ln.
func (h *harness) serve(ln net.Listener) {
	srv := &http.Server{Handler: h.handler}
	h.server.Store(srv)
	go srv.Serve(ln)
}

// outage makes the stand-in refuse connections for d: it closes the
// listener and every connection, then listens again on the same address.
func (h *harness) outage(d time.Duration) {
	h.server.Load().Close()
	time.Sleep(d)
	ln, err := net.Listen("tcp", strings.TrimPrefix(h.url, "http://"))
	if err != nil {
		h.t.Errorf("listen again after the outage: %v", err)
		return
	}
	h.serve(ln)
}

func newHarness(t *testing.T, opts standin.Options) *harness {
	t.Helper()
	h := newBareHarness(t, opts)
	h.startWorker()
	return h
}

// newBareHarness is newHarness without a worker.
func newBareHarness(t *testing.T, opts standin.Options) *harness {
	t.Helper()
	if devServer == nil {
		t.Skip("integration tests need the Temporal dev server; skipped with -short")
	}
	h := &harness{t: t, client: devServer.Client(), key: randomKey(t),
		taskQueue: "it-" + randomKey(t)[:12], stateDir: t.TempDir()}
	opts.Keys = map[string]string{h.key: "production"}
	h.standin = standin.New(opts)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v2/users" {
			h.upserts.Add(1)
		}
		if hook := h.hook.Load(); hook != nil {
			(*hook)(r)
		}
		h.standin.ServeHTTP(w, r)
	})
	h.serve(ln)
	t.Cleanup(func() { h.server.Load().Close() })
	h.url = "http://" + ln.Addr().String()

	store, err := state.NewLocal(h.stateDir)
	if err != nil {
		t.Fatal(err)
	}
	h.store = store
	return h
}

func (h *harness) startWorker() {
	h.t.Helper()
	w, err := syncworker.New(h.client, syncworker.Config{TaskQueue: h.taskQueue,
		StateDir: h.stateDir, SprigURL: h.url, APIKeys: map[string]string{"production": h.key},
		StopTimeout: 5 * time.Second})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.worker = w
	h.t.Cleanup(w.Stop)
}

func randomKey(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// run starts a run of the sync and waits for it.
func (h *harness) run(in workflows.SyncInput) (workflows.Summary, error) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run, err := syncrun.Start(ctx, h.client, h.taskQueue, in)
	if err != nil {
		h.t.Fatal(err)
	}
	return syncrun.Wait(ctx, run)
}

// testdata returns the path of a file under the repository's testdata.
func testdata(parts ...string) string {
	return filepath.Join(append([]string{"..", "testdata"}, parts...)...)
}

// baselineLen returns the number of users in a sync's baseline.
func (h *harness) baselineLen(syncID string) int {
	h.t.Helper()
	b, err := state.LoadBaseline(h.store, workflows.StateKey(syncID, "production"))
	if err != nil {
		h.t.Fatal(err)
	}
	return b.Len()
}

func startRun(h *harness, in workflows.SyncInput) (client.WorkflowRun, error) {
	return syncrun.Start(context.Background(), h.client, h.taskQueue, in)
}

func osMkdirTemp() (string, error) { return os.MkdirTemp("", "sprigsync-it-") }

// devServerPath returns the path of the Temporal CLI: $TEMPORAL_CLI, or the
// one `make tools` builds.
func devServerPath() string {
	if path := os.Getenv("TEMPORAL_CLI"); path != "" {
		return path
	}
	return "../.tools/bin/temporal"
}
