package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sprigsync/sprigsync/plan"
	"github.com/sprigsync/sprigsync/usergen"
	"github.com/sprigsync/sprigsync/workflows"
)

// TestMain lets the test binary serve as the bench's child process: the
// measurements re-execute os.Executable, which is this binary in tests.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == childCommand {
		os.Exit(runChild(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// testUsers is the size of the small version of the plan measurements.
const testUsers = 10_000

func TestExpectedChangesMatchUsergen(t *testing.T) {
	for _, rows := range []int{1, 999, 10_000, 123_457} {
		sum, err := usergen.WriteNext(discard{}, baseOptions(rows), changes)
		if err != nil {
			t.Fatal(err)
		}
		changed, added, removed := expectedChanges(rows, changes)
		if changed != int64(len(sum.Changed)) {
			t.Errorf("%d rows: changed = %d, usergen changed %d", rows, changed, len(sum.Changed))
		}
		if added != int64(len(sum.Added)) {
			t.Errorf("%d rows: added = %d, usergen added %d", rows, added, len(sum.Added))
		}
		if removed != int64(len(sum.Removed)) {
			t.Errorf("%d rows: removed = %d, usergen removed %d", rows, removed, len(sum.Removed))
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestPlanMeasurementCounts(t *testing.T) {
	dir := t.TempDir()
	first, err := usergen.CachedFile(dir, baseOptions(testUsers))
	if err != nil {
		t.Fatal(err)
	}
	next := filepath.Join(dir, "next.parquet")
	sum, err := usergen.WriteNextFile(next, baseOptions(testUsers), changes)
	if err != nil {
		t.Fatal(err)
	}
	in := sizeInput{users: testUsers, first: first, next: next, changed: int64(len(sum.Changed)),
		added: int64(len(sum.Added)), removed: int64(len(sum.Removed))}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := benchSize(ctx, config{dir: dir}, in)
	for _, err := range r.checks() {
		t.Error(err)
	}

	if r.Read.Out.Rows != testUsers {
		t.Errorf("read rows = %d, want %d", r.Read.Out.Rows, testUsers)
	}
	if r.Scan.Out.Users != testUsers {
		t.Errorf("scan users = %d, want %d", r.Scan.Out.Users, testUsers)
	}
	wantFirst := plan.Counts{Files: 1, Rows: testUsers, Added: testUsers}
	if diff := cmp.Diff(wantFirst, r.First.counts()); diff != "" {
		t.Errorf("first plan counts (-want +got):\n%s", diff)
	}
	wantIncremental := plan.Counts{
		Files:     1,
		Rows:      int64(sum.Rows),
		Added:     int64(len(sum.Added)),
		Changed:   int64(len(sum.Changed)),
		Unchanged: int64(testUsers - len(sum.Changed) - len(sum.Removed)),
		Removed:   int64(len(sum.Removed)),
	}
	if diff := cmp.Diff(wantIncremental, r.Incremental.counts()); diff != "" {
		t.Errorf("incremental plan counts (-want +got):\n%s", diff)
	}
	// The shares give 100 changed, 10 added and 10 removed of 10,000 users.
	if len(sum.Changed) != 100 || len(sum.Added) != 10 || len(sum.Removed) != 10 {
		t.Errorf("usergen summary has %d changed, %d added, %d removed; want 100, 10, 10",
			len(sum.Changed), len(sum.Added), len(sum.Removed))
	}
	for _, m := range []measurement{r.Read, r.Scan} {
		if len(m.Runs) != oneCoreRuns || slices.Min(m.Runs) != m.callCPU() {
			t.Errorf("a one-core measurement kept call CPU %v of runs %v; want the least of %d runs",
				m.callCPU(), m.Runs, oneCoreRuns)
		}
		if m.Out.CallCPU <= 0 || m.Out.CallCPU > m.CPU {
			t.Errorf("a one-core measurement has call CPU %v and process CPU %v; want 0 < call <= process",
				m.Out.CallCPU, m.CPU)
		}
	}
	for _, m := range []measurement{r.Read, r.Scan, r.First, r.Incremental} {
		if m.PeakRSS <= 0 {
			t.Errorf("a %d-row measurement has peak RSS %d, want a positive size",
				m.Out.Rows, m.PeakRSS)
		}
	}
}

// TestDeliveryAndHistory runs the small version of the delivery and
// orchestration measurements on a real dev server, with bin/worker built
// from this module.
func TestDeliveryAndHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the Temporal dev server; skipped with -short")
	}
	temporal := os.Getenv("TEMPORAL_CLI")
	if temporal == "" {
		temporal = filepath.Join("..", "..", ".tools", "bin", "temporal")
	}
	if _, err := os.Stat(temporal); err != nil {
		t.Fatalf("the Temporal CLI is missing at %s: run `make tools` or set TEMPORAL_CLI "+
			"(or skip this test with -short): %v", temporal, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	binDir := buildWorker(ctx, t)

	cfg := defaultConfig()
	cfg.temporal, cfg.binDir, cfg.dir = temporal, binDir, dir
	cfg.deliveryUsers = 2000
	cfg.orchestrationUsers = testUsers
	cfg.orchestrationTimeout = 2 * time.Minute
	cl, err := startCluster(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.close()

	t.Run("delivery", func(t *testing.T) {
		path, err := cachedFile(dir, cfg.deliveryUsers)
		if err != nil {
			t.Fatal(err)
		}
		d := benchDelivery(ctx, cl, cfg, path)
		if d.Err != nil {
			t.Fatal(d.Err)
		}
		if d.TooMany != 0 {
			t.Errorf("the stand-in sent %d responses 429, want 0", d.TooMany)
		}
		if d.Missing != 0 {
			t.Errorf("the stand-in lacks %d users", d.Missing)
		}
		if d.Summary.Accepted != 2000 {
			t.Errorf("run accepted %d users, want 2000", d.Summary.Accepted)
		}
		if d.Accepted != 2000 {
			t.Errorf("recorder saw %d accepted upserts, want 2000", d.Accepted)
		}
		if d.Requests != 2000 {
			t.Errorf("stand-in answered %d upserts, want 2000", d.Requests)
		}
		if d.Achieved <= 0 {
			t.Errorf("achieved rate = %v, want a positive rate", d.Achieved)
		}
		if d.WorkerPeakRSS <= 0 {
			t.Errorf("worker peak RSS = %d, want a positive size", d.WorkerPeakRSS)
		}
	})

	t.Run("orchestration", func(t *testing.T) {
		path, err := cachedFile(dir, cfg.orchestrationUsers)
		if err != nil {
			t.Fatal(err)
		}
		o := benchOrchestration(ctx, cl, cfg, path)
		for _, err := range o.checks() {
			t.Fatal(err)
		}
		if o.Summary.Accepted != testUsers {
			t.Errorf("run accepted %d users, want %d", o.Summary.Accepted, testUsers)
		}
		if o.History.Runs != 1 {
			t.Errorf("history has %d runs, want 1", o.History.Runs)
		}
		if o.History.Events <= 0 {
			t.Errorf("history has %d events, want some", o.History.Events)
		}
		if o.History.LargestPayload <= 0 || o.History.LargestPayload >= maxPayloadBytes {
			t.Errorf("largest payload = %d bytes, want 1 to %d", o.History.LargestPayload,
				maxPayloadBytes-1)
		}
	})

	// With one user per batch, 600 users take more batches than one
	// execution runs, so the walk must follow continue-as-new.
	t.Run("continue-as-new chain", func(t *testing.T) {
		const users = 600
		path, err := cachedFile(dir, users)
		if err != nil {
			t.Fatal(err)
		}
		in := workflows.SyncInput{SyncID: "bench-chain", Snapshot: path, Config: mappingConfig,
			RateLimit: 20_000, BatchSize: 1, Parallelism: workflows.MaxParallelism}
		r := runSync(ctx, cl, "worker-chain", in, users, 0, 2*time.Minute)
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		h, err := walkHistory(ctx, cl.client, in.SyncID)
		if err != nil {
			t.Fatal(err)
		}
		if h.Runs < 2 {
			t.Errorf("history has %d runs, want 2 or more", h.Runs)
		}
		// Every batch is at least a scheduled, a started and a completed
		// activity event.
		if h.Events < 3*users {
			t.Errorf("history has %d events, want at least %d", h.Events, 3*users)
		}
		if h.LargestPayload >= maxPayloadBytes {
			t.Errorf("largest payload = %d bytes, want under %d", h.LargestPayload, maxPayloadBytes)
		}
	})
}

// buildWorker builds this module's worker command into a temporary
// directory and returns the directory.
func buildWorker(ctx context.Context, t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir, "github.com/sprigsync/sprigsync/worker")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build of the worker failed: %v\n%s", err, out)
	}
	return dir
}
