package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/sprigsync/sprigsync/plan"
)

// benchSyncID is the sync id of the plan measurements.
const benchSyncID = "bench"

// errNotRun marks a measurement skipped because one it depends on failed.
var errNotRun = errors.New("not run because an earlier step failed")

// sizeResult holds the measurements of one plan size.
type sizeResult struct {
	Users int
	// Read and Scan run on one core (GOMAXPROCS=1) over the first snapshot,
	// each the best of oneCoreRuns runs.
	Read, Scan measurement
	// First plans the first snapshot against an empty baseline.
	First measurement
	// Setup marks the first run accepted; it is not a product figure.
	Setup measurement
	// Incremental plans the second snapshot against the baseline that
	// Setup left.
	Incremental measurement

	// Expected counts of the two plans.
	WantFirst, WantIncremental plan.Counts
}

// benchSize runs the read, scan and plan measurements of one size.
func benchSize(ctx context.Context, cfg config, in sizeInput) sizeResult {
	r := sizeResult{Users: in.users}
	n := int64(in.users)
	r.WantFirst = plan.Counts{Files: 1, Rows: n, Added: n}
	r.WantIncremental = plan.Counts{Files: 1, Rows: n - in.removed + in.added, Added: in.added,
		Changed: in.changed, Unchanged: n - in.removed - in.changed, Removed: in.removed}

	profile := func(name string) string {
		if cfg.profileDir == "" {
			return ""
		}
		return filepath.Join(cfg.profileDir, fmt.Sprintf("%s-%d.pprof", name, in.users))
	}

	slog.Info("Measuring the raw read", "users", in.users)
	r.Read = measureBest(ctx, oneCoreRuns, childSpec{Kind: kindRead, Snapshot: in.first,
		CPUProfile: profile("read")}, "GOMAXPROCS=1")
	slog.Info("Measuring the mapping", "users", in.users)
	r.Scan = measureBest(ctx, oneCoreRuns, childSpec{Kind: kindScan, Snapshot: in.first,
		CPUProfile: profile("scan")}, "GOMAXPROCS=1")

	// The first plan writes into a fresh state directory, which the setup
	// then turns into the baseline of the incremental plan.
	stateDir := filepath.Join(cfg.dir, "state", fmt.Sprintf("plan-%d", in.users))
	r.Setup.Err, r.Incremental.Err = errNotRun, errNotRun
	if err := os.RemoveAll(stateDir); err != nil {
		r.First.Err = fmt.Errorf("empty the state directory %q: %w", stateDir, err)
		return r
	}
	defer os.RemoveAll(stateDir)

	slog.Info("Measuring the first-sync plan", "users", in.users)
	r.First = measure(ctx, childSpec{Kind: kindPlan, Snapshot: in.first, StateDir: stateDir,
		SyncID: benchSyncID, RunID: "first", CPUProfile: profile("plan-first")})
	if r.First.Err != nil {
		return r
	}
	slog.Info("Accepting the first run as the baseline", "users", in.users)
	r.Setup = measure(ctx, childSpec{Kind: kindAccept, StateDir: stateDir, SyncID: benchSyncID,
		RunID: "first"})
	if r.Setup.Err != nil {
		return r
	}
	// The first run's changeset is as large as the snapshot's bodies and no
	// longer needed.
	if err := os.RemoveAll(filepath.Join(stateDir, "syncs", benchSyncID, "runs", "first")); err != nil {
		slog.Warn("Could not remove the first run's changeset", "error", err)
	}
	slog.Info("Measuring the incremental plan", "users", in.users)
	r.Incremental = measure(ctx, childSpec{Kind: kindPlan, Snapshot: in.next, StateDir: stateDir,
		SyncID: benchSyncID, RunID: "incremental", CPUProfile: profile("plan-incremental")})
	return r
}

// counts returns the plan counts of m, or the zero Counts when it failed.
func (m measurement) counts() plan.Counts {
	if m.Out.Plan == nil {
		return plan.Counts{}
	}
	return m.Out.Plan.Counts
}

// checks returns what is wrong with the size's measurements: a failure, a
// count other than the expected one, or a read that missed rows.
func (r sizeResult) checks() []error {
	var errs []error
	for _, m := range []struct {
		name string
		m    measurement
	}{{"read", r.Read}, {"scan", r.Scan}, {"first plan", r.First}, {"baseline setup", r.Setup},
		{"incremental plan", r.Incremental}} {
		if m.m.Err != nil && !errors.Is(m.m.Err, errNotRun) {
			errs = append(errs, fmt.Errorf("%d users: %s: %w", r.Users, m.name, m.m.Err))
		}
	}
	if r.Read.Err == nil && r.Read.Out.Rows != int64(r.Users) {
		errs = append(errs, fmt.Errorf("%d users: the read returned %d rows", r.Users,
			r.Read.Out.Rows))
	}
	if r.Scan.Err == nil && r.Scan.Out.Users != int64(r.Users) {
		errs = append(errs, fmt.Errorf("%d users: the scan returned %d users", r.Users,
			r.Scan.Out.Users))
	}
	if r.First.Err == nil && r.First.counts() != r.WantFirst {
		errs = append(errs, fmt.Errorf("%d users: the first plan counted %+v, want %+v", r.Users,
			r.First.counts(), r.WantFirst))
	}
	if r.Incremental.Err == nil && r.Incremental.counts() != r.WantIncremental {
		errs = append(errs, fmt.Errorf("%d users: the incremental plan counted %+v, want %+v",
			r.Users, r.Incremental.counts(), r.WantIncremental))
	}
	return errs
}
