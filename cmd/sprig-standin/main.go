// Command sprig-standin serves the local Sprig STAND-IN of package standin
// (not Sprig) for tests, demos and load runs.
//
//	sprig-standin -addr 127.0.0.1:0 -key dev-key=development -key prod-key=production
//
// Its first line on stdout is "listening on http://ADDR", so scripts can
// read the address (use -addr 127.0.0.1:0 for a free port). Logs go to
// stderr. SIGINT or SIGTERM stops it cleanly. Keys may also come from the
// environment variable SPRIG_STANDIN_KEYS ("key=env,key=env"), which keeps
// them out of the process list. Faults can be changed while it runs with
// POST /standin/config.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sprigsync/sprigsync/standin"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sprig-standin:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("sprig-standin", flag.ContinueOnError)
	opts := standin.Options{Keys: map[string]string{}, RejectUserIDs: map[string]string{}}
	addr := fs.String("addr", "127.0.0.1:8787",
		"listen address as host:port (port 0 picks a free port)")

	// The flag package quotes a rejected value in its error, so an invalid
	// -key is reported after parsing instead, without its value.
	var keyErr error
	fs.Func("key", "API key and its environment as KEY=ENVIRONMENT (repeatable)",
		func(s string) error {
			if err := pairInto(opts.Keys)(s); err != nil && keyErr == nil {
				keyErr = fmt.Errorf("invalid -key: %w", err)
			}
			return nil
		})
	fs.Float64Var(&opts.RateLimit, "rate", 0,
		"requests per second allowed over all Sprig endpoints, 0 = unlimited (429 above)")
	fs.IntVar(&opts.Burst, "burst", 0, "token-bucket size for -rate, 0 = one second's worth")
	fs.DurationVar(&opts.RetryAfter, "retry-after", 0,
		"Retry-After sent with a 429, rounded up to seconds; 0 = 1s, negative = no header")
	fs.Float64Var(&opts.ServerErrorShare, "server-error-share", 0,
		"share (0 to 1) of POST /v2/users failed with an injected 500")
	fs.DurationVar(&opts.Latency, "latency", 0, "delay added before every Sprig-endpoint response")
	fs.Func("reject", "USERID=MESSAGE: reject upserts of USERID with 422 MESSAGE (repeatable)",
		pairInto(opts.RejectUserIDs))
	fs.Int64Var(&opts.Seed, "seed", 1, "seed of the injected-fault sequence")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error (debug logs every request)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if keyErr != nil {
		return keyErr
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if env := os.Getenv("SPRIG_STANDIN_KEYS"); env != "" {
		for pair := range strings.SplitSeq(env, ",") {
			if err := pairInto(opts.Keys)(strings.TrimSpace(pair)); err != nil {
				return fmt.Errorf("SPRIG_STANDIN_KEYS: %w", err)
			}
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	opts.Logger = log
	if err := opts.Validate(); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           standin.New(opts),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	log.Info("Sprig stand-in (not Sprig) serving", "addr", ln.Addr().String(), "options", opts)
	if len(opts.Keys) == 0 {
		log.Warn("no API keys, so every Sprig request gets 401 until keys are set " +
			"with -key, SPRIG_STANDIN_KEYS or POST /standin/config")
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		log.Warn("listening on a non-loopback address, but the /standin/ control " +
			"endpoints have no protection")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// pairInto returns a flag function that parses NAME=VALUE into m. Its
// errors never repeat the pair, which may hold an API key.
func pairInto(m map[string]string) func(string) error {
	return func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
			return errors.New("expected NAME=VALUE with both parts non-empty")
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		return nil
	}
}
