// Command bench measures sprigsync on this machine and prints one markdown
// table: planning 1M and 10M users (first and incremental sync) next to the
// raw Parquet read and the mapping alone, delivery of 60,000 users at Sprig's
// rate limit of 1,000 requests/s, and the Temporal history cost of a
// 1,000,000-user sync. `make bench` builds it and runs it.
//
//	./bin/bench -temporal .tools/bin/temporal [-sizes 1000000,10000000] [-dir .bench]
//	            [-skip-delivery] [-skip-orchestration] [-cpuprofile-dir DIR]
//
// Inputs are generated with package usergen into -dir and reused by later
// runs. Every plan, read and scan runs in a child process (this binary
// re-executed with a hidden first argument), so its CPU time comes from the
// kernel's rusage of that child alone and its peak RSS from the child's own
// VmHWM. Rows per CPU-second count the CPU time of the measured call, which
// the child takes from getrusage before and after it. Delivery and
// orchestration start a Temporal dev server, the Sprig stand-in (package
// standin, served by this process on 127.0.0.1) and bin/worker, and stop
// them before the table is printed. Progress goes to stderr, the table to
// stdout. The exit status is 1 when a measurement failed or a count was not
// the expected one; a missed target alone does not change it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is the set of measurements of one benchmark run and the paths they
// use.
type config struct {
	temporal string // path of the Temporal CLI
	binDir   string // directory of the worker binary
	dir      string // inputs, state directories and logs
	command  string // the command line, for the report

	sizes []int // user counts of the plan measurements
	// profileDir, when set, receives a CPU profile of every read, scan and
	// plan measurement.
	profileDir string

	skipDelivery  bool
	deliveryUsers int
	deliveryRate  float64 // requests per second, for the run and the stand-in

	skipOrchestration        bool
	orchestrationUsers       int
	orchestrationRate        float64
	orchestrationParallelism int
	// orchestrationTimeout bounds the orchestration run. A run still going
	// then is terminated and reported as not finished.
	orchestrationTimeout time.Duration
}

// defaultConfig returns the measurements `make bench` runs.
func defaultConfig() config {
	return config{
		temporal:                 ".tools/bin/temporal",
		binDir:                   "bin",
		dir:                      ".bench",
		sizes:                    []int{1_000_000, 10_000_000},
		deliveryUsers:            60_000,
		deliveryRate:             1000,
		orchestrationUsers:       1_000_000,
		orchestrationRate:        20_000,
		orchestrationParallelism: 8,
		orchestrationTimeout:     45 * time.Minute,
	}
}

func main() {
	// A child measurement is this binary run again with a hidden first
	// argument, which the flags below would reject.
	if len(os.Args) > 1 && os.Args[1] == childCommand {
		os.Exit(runChild(os.Args[2:]))
	}

	cfg := defaultConfig()
	sizes := joinInts(cfg.sizes)
	flag.StringVar(&cfg.temporal, "temporal", cfg.temporal, "path of the Temporal CLI")
	flag.StringVar(&cfg.binDir, "bin", cfg.binDir, "directory that contains the worker binary")
	flag.StringVar(&cfg.dir, "dir", cfg.dir,
		"directory for generated snapshots (kept and reused), state directories and logs")
	flag.StringVar(&sizes, "sizes", sizes, "comma-separated user counts of the plan measurements")
	flag.StringVar(&cfg.profileDir, "cpuprofile-dir", "",
		"directory to write a CPU profile of every read, scan and plan measurement to")
	flag.BoolVar(&cfg.skipDelivery, "skip-delivery", false,
		"skip the rate-limited delivery run")
	flag.IntVar(&cfg.deliveryUsers, "delivery-users", cfg.deliveryUsers,
		"users sent by the delivery run")
	flag.BoolVar(&cfg.skipOrchestration, "skip-orchestration", false,
		"skip the history-cost run")
	flag.IntVar(&cfg.orchestrationUsers, "orchestration-users", cfg.orchestrationUsers,
		"users sent by the history-cost run")
	flag.DurationVar(&cfg.orchestrationTimeout, "orchestration-timeout", cfg.orchestrationTimeout,
		"longest wait for the history-cost run before it is terminated")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected arguments %q; see -help\n", flag.Args())
		os.Exit(2)
	}
	var err error
	if cfg.sizes, err = parseSizes(sizes); err != nil {
		fmt.Fprintf(os.Stderr, "bench: invalid -sizes: %v\n", err)
		os.Exit(2)
	}
	cfg.command = strings.Join(os.Args, " ")

	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg)
	if rep != nil {
		rep.write(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		stop()
		os.Exit(1)
	}
}

// run makes the inputs and runs every measurement cfg selects. A failed
// measurement is recorded in the report, and the others still run. The
// returned error names every failure and every count that was not the
// expected one.
func run(ctx context.Context, cfg config) (*report, error) {
	dir, err := filepath.Abs(cfg.dir)
	if err != nil {
		return nil, err
	}
	cfg.dir = dir
	if cfg.profileDir != "" {
		if cfg.profileDir, err = filepath.Abs(cfg.profileDir); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
			return nil, fmt.Errorf("creating the profile directory %q failed: %w",
				cfg.profileDir, err)
		}
	}
	rep := &report{Date: time.Now(), Machine: readMachine(), Command: cfg.command,
		Revision: buildRevision()}

	in, err := prepareInputs(ctx, cfg)
	if err != nil {
		return rep, err
	}
	for _, size := range in.sizes {
		rep.Sizes = append(rep.Sizes, benchSize(ctx, cfg, size))
	}

	if !cfg.skipDelivery || !cfg.skipOrchestration {
		if err := runOnCluster(ctx, cfg, in, rep); err != nil {
			return rep, err
		}
	}
	return rep, rep.failures()
}

// runOnCluster starts the dev server and the stand-in, runs the delivery and
// orchestration measurements on them, and stops both.
func runOnCluster(ctx context.Context, cfg config, in *inputs, rep *report) error {
	cl, err := startCluster(ctx, cfg)
	if err != nil {
		return err
	}
	defer cl.close()
	if !cfg.skipDelivery {
		rep.Delivery = benchDelivery(ctx, cl, cfg, in.delivery)
	}
	if !cfg.skipOrchestration {
		rep.Orchestration = benchOrchestration(ctx, cl, cfg, in.orchestration)
	}
	return nil
}

func parseSizes(s string) ([]int, error) {
	var sizes []int
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive user count", part)
		}
		sizes = append(sizes, n)
	}
	if len(sizes) == 0 {
		return nil, errors.New("no user count given; use for example -sizes 1000000")
	}
	return sizes, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
