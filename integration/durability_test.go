package integration

import (
	"context"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sprigsync/sprigsync/mapping"
	"github.com/sprigsync/sprigsync/standin"
	"github.com/sprigsync/sprigsync/state"
	"github.com/sprigsync/sprigsync/syncrun"
	"github.com/sprigsync/sprigsync/usergen"
	"github.com/sprigsync/sprigsync/workflows"
)

const durableUsers = 20_000

// Settings of the durability runs. The bound on users sent twice after a
// crash is the requests in flight (parallelism batches, each with its
// senders) plus one checkpoint interval (1 s) at the rate limit.
const (
	durableRate        = 2000
	durableParallelism = 4
	batchConcurrency   = durableRate/durableParallelism/4 + 1
	resendBound        = durableParallelism*batchConcurrency + durableRate
)

var durableSnapshot = sync.OnceValues(func() (string, error) {
	dir, err := osMkdirTemp()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "users-20000.parquet")
	return path, usergen.WriteFile(path, usergen.Options{Rows: durableUsers, Seed: 20})
})

func durableInput(t *testing.T, syncID string) workflows.SyncInput {
	t.Helper()
	snap, err := durableSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	return workflows.SyncInput{SyncID: syncID, Snapshot: snap, RateLimit: durableRate,
		Parallelism: durableParallelism, BatchSize: 1000,
		Config: mapping.Config{UserIDColumn: "user_id", EmailColumn: "email"}}
}

// checkComplete checks that every user of the snapshot is in the stand-in
// with its values, that the baseline holds exactly the snapshot's users
// with the fingerprints of their bodies, and that at most resendBound
// users were sent twice.
func (h *harness) checkComplete(in workflows.SyncInput, sum workflows.Summary) {
	h.t.Helper()
	want := expectedUsers(h.t, in.Snapshot)
	if len(want.users) != durableUsers || len(want.invalid) != 0 {
		h.t.Fatalf("the snapshot has %d valid and %d invalid users, want %d valid",
			len(want.users), len(want.invalid), durableUsers)
	}
	if diff := cmp.Diff(want.users, storedUsers(h.standin)); diff != "" {
		h.t.Fatalf("stand-in (-want +got):\n%s", diff)
	}
	if sum.Accepted+sum.Rejected != sum.Changes || sum.BaselineUsers != durableUsers {
		h.t.Fatalf("summary = %+v, want every user settled and in the baseline", sum)
	}

	var entries []state.Entry
	_, err := mapping.Scan(context.Background(), in.Snapshot, in.Config, handlerFunc(func(u *mapping.User) {
		entries = append(entries, state.Entry{Key: state.KeyOf(u.UserID),
			Fingerprint: state.FingerprintOf(u.Body)})
	}))
	if err != nil {
		h.t.Fatal(err)
	}
	wantBase, err := state.NewBaseline(entries)
	if err != nil {
		h.t.Fatal(err)
	}
	gotBase, err := state.LoadBaseline(h.store, workflows.StateKey(in.SyncID, "production"))
	if err != nil {
		h.t.Fatal(err)
	}
	if diff := cmp.Diff(wantBase.Entries(), gotBase.Entries(), cmpopts.EquateEmpty()); diff != "" {
		h.t.Fatalf("baseline (-want +got):\n%s", diff)
	}

	st := h.standin.Stats()
	repeats := st.UpsertsAccepted - st.DistinctUpsertsAccepted
	h.t.Logf("%d users sent twice (bound %d)", repeats, resendBound)
	if repeats > resendBound {
		h.t.Fatalf("%d users were sent twice, more than the bound of %d", repeats, resendBound)
	}
}

type handlerFunc func(u *mapping.User)

func (f handlerFunc) User(u *mapping.User) error         { f(u); return nil }
func (f handlerFunc) Invalid(r mapping.InvalidRow) error { return nil }

// killAfterUpserts makes the stand-in call kill once, when it receives its
// n-th upsert, before responding to it.
func (h *harness) killAfterUpserts(n int64, kill func()) {
	var once sync.Once
	hook := func(r *http.Request) {
		if r.Method == http.MethodPost && h.upserts.Load() >= n {
			once.Do(kill)
		}
	}
	h.hook.Store(&hook)
}

func TestWorkerKilledMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	tests := []struct {
		name  string
		pause string // fault injection point, or "" to kill mid-batch
	}{
		{"while planning", "plan"},
		{"mid-batch", ""},
		{"while finishing", "finish"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newBareHarness(t, standin.Options{})
			pauseFile := filepath.Join(t.TempDir(), "paused")
			first := h.startWorkerProcess("SPRIGSYNC_FAULT_PAUSE_AT="+tc.pause,
				"SPRIGSYNC_FAULT_PAUSE_FILE="+pauseFile)
			in := durableInput(t, "killed")
			run, err := startRun(h, in)
			if err != nil {
				t.Fatal(err)
			}
			if tc.pause == "" {
				killed := make(chan struct{})
				h.killAfterUpserts(durableUsers/4, func() { first.kill(); close(killed) })
				waitFor(t, killed, 2*time.Minute, "the worker to be killed mid-batch")
			} else {
				waitForFile(t, pauseFile, 2*time.Minute)
				first.kill()
			}
			h.startWorkerProcess()

			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			sum, err := syncrun.Wait(ctx, run)
			if err != nil {
				t.Fatalf("run failed after the restart: %v", err)
			}
			h.checkComplete(in, sum)
		})
	}
}

func TestOneOfTwoWorkersKilled(t *testing.T) {
	h := newBareHarness(t, standin.Options{})
	doomed := h.startWorkerProcess()
	h.startWorkerProcess()
	in := durableInput(t, "two-workers")
	killed := make(chan struct{})
	h.killAfterUpserts(durableUsers/4, func() { doomed.kill(); close(killed) })
	sum, err := h.run(in)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-killed:
	default:
		t.Fatal("the worker was never killed")
	}
	h.checkComplete(in, sum)
}

func TestWorkerStoppedWithSIGTERM(t *testing.T) {
	h := newBareHarness(t, standin.Options{})
	first := h.startWorkerProcess()
	in := durableInput(t, "sigterm")
	stopped := make(chan struct{})
	h.killAfterUpserts(durableUsers/4, func() { go func() { first.terminate(); close(stopped) }() })
	run, err := startRun(h, in)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, stopped, 2*time.Minute, "the worker to stop")
	h.startWorkerProcess()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	sum, err := syncrun.Wait(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	h.checkComplete(in, sum)
}

func waitFor(t *testing.T, ch <-chan struct{}, limit time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(limit):
		t.Fatalf("gave up waiting for %s after %s", what, limit)
	}
}
