package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/sprigsync/sprigsync/standin"
)

// environment is the Sprig environment of every run.
const environment = "production"

// cluster is the setup that the delivery and orchestration runs share: a
// Temporal dev server, a client of it, and the Sprig stand-in served by this
// process on 127.0.0.1 behind a recorder of accepted upserts. Each run
// starts its own worker.
type cluster struct {
	dir     string
	server  *process
	address string
	client  client.Client

	key     string
	standin *standin.Server
	rec     *recorder
	http    *http.Server
	url     string
	worker  string // path of the worker binary
}

// startCluster starts the dev server and the stand-in. The caller must call
// close.
func startCluster(ctx context.Context, cfg config) (*cluster, error) {
	cl := &cluster{dir: cfg.dir}
	started := false
	defer func() {
		if !started {
			cl.close()
		}
	}()
	var err error
	if cl.worker, err = filepath.Abs(filepath.Join(cfg.binDir, "worker")); err != nil {
		return nil, err
	}
	if _, err := os.Stat(cl.worker); err != nil {
		return nil, fmt.Errorf("the worker binary is missing at %q: run `make build`, or pass "+
			"its directory with -bin: %w", cl.worker, err)
	}

	slog.Info("Starting the Temporal dev server", "cli", cfg.temporal)
	cl.server, cl.address, err = startDevServer(cfg.temporal, cl.logDir())
	if err != nil {
		return nil, err
	}
	if cl.client, err = dialTemporal(ctx, cl.server, cl.address); err != nil {
		return nil, err
	}

	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	cl.key = "bench-" + hex.EncodeToString(b)
	cl.standin = standin.New(standin.Options{Keys: map[string]string{cl.key: environment}})
	cl.rec = &recorder{next: cl.standin, epoch: time.Now()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the stand-in on 127.0.0.1: %w", err)
	}
	cl.http = &http.Server{Handler: cl.rec, ReadHeaderTimeout: 10 * time.Second}
	go cl.http.Serve(ln)
	cl.url = "http://" + ln.Addr().String()
	slog.Info("Started the dev server and the Sprig stand-in", "temporal", cl.address,
		"standin", cl.url)
	started = true
	return cl, nil
}

func (cl *cluster) logDir() string { return filepath.Join(cl.dir, "logs") }

// close stops the stand-in and the dev server.
func (cl *cluster) close() {
	if cl.client != nil {
		cl.client.Close()
	}
	if cl.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := cl.http.Shutdown(ctx); err != nil {
			cl.http.Close()
		}
	}
	cl.server.stop()
}

// dialTemporal connects to the dev server once it passes a health check,
// within 90 seconds.
func dialTemporal(ctx context.Context, server *process, address string) (client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := waitForPort(ctx, server, address); err != nil {
		return nil, fmt.Errorf("the Temporal dev server did not start: %w", err)
	}
	logger := sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr,
		&slog.HandlerOptions{Level: slog.LevelError})))
	for {
		c, err := client.Dial(client.Options{HostPort: address, Logger: logger})
		if err == nil {
			if _, err = c.CheckHealth(ctx, &client.CheckHealthRequest{}); err == nil {
				return c, nil
			}
			c.Close()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the Temporal dev server at %s is not healthy: %w", address,
				errors.Join(err, ctx.Err()))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// resetStandin deletes the stand-in's users and counts, sets its rate limit
// (0 means none) with a bucket of one second's requests, and clears the
// recorder.
func (cl *cluster) resetStandin(rate float64) {
	opts := standin.Options{Keys: map[string]string{cl.key: environment}, RateLimit: rate}
	if rate > 0 {
		opts.Burst = int(rate)
	}
	cl.standin.SetOptions(opts)
	cl.standin.Reset()
	cl.rec.reset()
}

// startWorker starts bin/worker against the dev server and the stand-in,
// with its own state directory under the bench directory, emptied first.
// It returns the worker and its state directory.
func (cl *cluster) startWorker(name string) (*process, string, error) {
	stateDir := filepath.Join(cl.dir, "state", name)
	if err := os.RemoveAll(stateDir); err != nil {
		return nil, "", fmt.Errorf("empty the worker's state directory %q: %w", stateDir, err)
	}
	p, err := startProcess(name, cl.logDir(), []string{"SPRIG_API_KEY_PRODUCTION=" + cl.key},
		cl.worker, "-address", cl.address, "-state-dir", stateDir, "-sprig-url", cl.url)
	return p, stateDir, err
}

// recorder passes requests to the stand-in and records the time of the
// response to each accepted upsert (POST /v2/users with status 202). Times
// are monotonic nanoseconds since epoch, plus one so that 0 means none,
// because the wall clock can jump during a run.
type recorder struct {
	next     http.Handler
	epoch    time.Time
	accepted atomic.Int64
	first    atomic.Int64 // time of the first accepted upsert's response; 0 before
	last     atomic.Int64 // time of the last one
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/v2/users" {
		r.next.ServeHTTP(w, req)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	r.next.ServeHTTP(sw, req)
	if sw.status != http.StatusAccepted {
		return
	}
	now := int64(time.Since(r.epoch)) + 1
	r.accepted.Add(1)
	for {
		first := r.first.Load()
		if (first != 0 && first <= now) || r.first.CompareAndSwap(first, now) {
			break
		}
	}
	for {
		last := r.last.Load()
		if last >= now || r.last.CompareAndSwap(last, now) {
			break
		}
	}
}

func (r *recorder) reset() {
	r.accepted.Store(0)
	r.first.Store(0)
	r.last.Store(0)
}

// span returns the time from the first to the last accepted upsert.
func (r *recorder) span() time.Duration {
	return time.Duration(r.last.Load() - r.first.Load())
}

// statusWriter records the status code of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}
