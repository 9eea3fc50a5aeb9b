package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"time"

	"github.com/sprigsync/sprigsync/mapping"
	"github.com/sprigsync/sprigsync/standin"
	"github.com/sprigsync/sprigsync/syncrun"
	"github.com/sprigsync/sprigsync/workflows"
)

// deliverySyncID is the sync id, and so the workflow id, of the delivery run.
const deliverySyncID = "bench-delivery"

// syncResult holds the figures of one run on the cluster that delivery and
// orchestration share.
type syncResult struct {
	Users   int
	Rate    float64 // configured rate limit, requests per second
	Summary workflows.Summary
	Wall    time.Duration // from the start of the run to its end

	// Accepted, Span and Achieved come from the recorder: accepted upserts
	// and the time from the first to the last of them.
	Accepted int64
	Span     time.Duration
	Achieved float64 // (Accepted-1) / Span, requests per second

	Requests int64 // POST /v2/users requests the stand-in received, any status
	TooMany  int64 // 429s the stand-in sent on any endpoint

	// WorkerCPU is the worker's CPU time over the run and WorkerPeakRSS
	// its peak resident set size since it started, both from /proc.
	WorkerCPU     time.Duration
	WorkerPeakRSS int64

	Load load
	Err  error
}

// cpuPerThousand returns the worker's CPU time per 1,000 upsert requests.
func (r syncResult) cpuPerThousand() time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return time.Duration(float64(r.WorkerCPU) * 1000 / float64(r.Requests))
}

// rateError returns the achieved rate's difference from the configured
// one, in percent.
func (r syncResult) rateError() float64 { return (r.Achieved - r.Rate) / r.Rate * 100 }

// deliveryResult is the rate-limited delivery run with its checks.
type deliveryResult struct {
	syncResult
	// Missing counts users of the snapshot that the stand-in does not have.
	Missing int
}

// benchDelivery syncs every user of the snapshot at cfg.deliveryRate to a
// stand-in that enforces the same limit, with a fresh worker.
func benchDelivery(ctx context.Context, cl *cluster, cfg config, snapshotPath string) *deliveryResult {
	r := &deliveryResult{}
	r.syncResult = runSync(ctx, cl, "worker-delivery", workflows.SyncInput{
		SyncID: deliverySyncID, Snapshot: snapshotPath, Config: mappingConfig,
		RateLimit: cfg.deliveryRate,
	}, cfg.deliveryUsers, cfg.deliveryRate, deliveryTimeout(cfg))
	if r.Err != nil {
		return r
	}
	r.Missing, r.Err = missingUsers(ctx, cl.standin, snapshotPath)
	return r
}

// deliveryTimeout allows three times the time the rate limit needs, plus
// two minutes for planning and start-up.
func deliveryTimeout(cfg config) time.Duration {
	return 3*time.Duration(float64(cfg.deliveryUsers)/cfg.deliveryRate*float64(time.Second)) +
		2*time.Minute
}

// runSync starts a worker, resets the stand-in to rate (0 for none), runs
// in and waits for it at most timeout, then stops the worker. A run still
// going at the timeout is terminated.
func runSync(ctx context.Context, cl *cluster, workerName string, in workflows.SyncInput,
	users int, rate float64, timeout time.Duration) (r syncResult) {
	r = syncResult{Users: users, Rate: in.RateLimit}
	var begin time.Time
	r.Load, begin = startLoad()
	defer func() { r.Load.finish(begin, "run of sync "+in.SyncID) }()

	cl.resetStandin(rate)
	w, stateDir, err := cl.startWorker(workerName)
	if err != nil {
		r.Err = err
		return r
	}
	// The run's changeset is as large as the snapshot's bodies.
	defer func() {
		w.stop()
		if err := os.RemoveAll(stateDir); err != nil {
			slog.Warn("Could not remove the worker's state directory", "path", stateDir,
				"error", err)
		}
	}()
	cpu0, err := w.cpu()
	if err != nil {
		r.Err = fmt.Errorf("read the worker's CPU time: %w", err)
		return r
	}

	slog.Info("Starting a run", "sync_id", in.SyncID, "users", users, "rate_limit", in.RateLimit,
		"timeout", timeout)
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	run, err := syncrun.Start(runCtx, cl.client, "", in)
	if err != nil {
		r.Err = err
		return r
	}
	r.Summary, err = syncrun.Wait(runCtx, run)
	r.Wall = time.Since(start)
	if runCtx.Err() != nil {
		terminate(cl, in.SyncID)
		err = fmt.Errorf("the run did not finish within %s; %d of %d users were accepted "+
			"by then", timeout, cl.rec.accepted.Load(), users)
	}

	cpu1, cpuErr := w.cpu()
	r.WorkerCPU = cpu1 - cpu0
	peak, rssErr := w.peakRSS()
	r.WorkerPeakRSS = peak
	r.collectStandin(cl)
	w.stop()
	switch {
	case err != nil:
		r.Err = fmt.Errorf("run of sync %q: %w", in.SyncID, err)
	case cpuErr != nil || rssErr != nil:
		r.Err = fmt.Errorf("read the worker's CPU time and memory: %w", errors.Join(cpuErr, rssErr))
	case r.Summary.Accepted != int64(users):
		r.Err = fmt.Errorf("run of sync %q accepted %d users, want %d (summary: %+v)",
			in.SyncID, r.Summary.Accepted, users, r.Summary)
	}
	return r
}

// terminate ends the current run of a workflow that outlived its timeout,
// so nothing keeps sending. The empty run id names the latest run of a
// continue-as-new chain.
func terminate(cl *cluster, workflowID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := cl.client.TerminateWorkflow(ctx, workflowID, "", "bench timeout")
	if err != nil {
		slog.Warn("Could not terminate the run", "workflow_id", workflowID, "error", err)
	}
}

// collectStandin copies the recorder's and the stand-in's counts into r.
func (r *syncResult) collectStandin(cl *cluster) {
	r.Accepted = cl.rec.accepted.Load()
	r.Span = cl.rec.span()
	if r.Accepted > 1 && r.Span > 0 {
		r.Achieved = float64(r.Accepted-1) / r.Span.Seconds()
	}
	st := cl.standin.Stats()
	for _, byStatus := range st.Requests[standin.EndpointUpsert] {
		r.Requests += byStatus
	}
	for _, byStatus := range st.Injected[standin.EndpointUpsert] {
		r.Requests += byStatus
	}
	for _, endpoint := range []string{standin.EndpointUpsert, standin.EndpointGetUser,
		standin.EndpointPurge, standin.EndpointOther} {
		r.TooMany += st.Count(endpoint, http.StatusTooManyRequests)
	}
}

// userIDs collects the user ids that a scan of the snapshot sends.
type userIDs map[string]bool

func (u userIDs) User(m *mapping.User) error {
	u[m.UserID] = true
	return nil
}

func (u userIDs) Invalid(mapping.InvalidRow) error { return nil }

// missingUsers returns how many users of the snapshot the stand-in does not
// have.
func missingUsers(ctx context.Context, s *standin.Server, snapshotPath string) (int, error) {
	want := userIDs{}
	if _, err := mapping.Scan(ctx, snapshotPath, mappingConfig, want); err != nil {
		return 0, err
	}
	have := s.Users(environment)
	missing := 0
	for id := range want {
		if _, ok := have[id]; !ok {
			missing++
		}
	}
	return missing, nil
}

// checks returns what is wrong with the delivery run.
func (r *deliveryResult) checks() []error {
	var errs []error
	if r.Err != nil {
		errs = append(errs, fmt.Errorf("delivery: %w", r.Err))
		return errs
	}
	if r.TooMany != 0 {
		errs = append(errs, fmt.Errorf("delivery: the stand-in sent %d responses 429, want 0",
			r.TooMany))
	}
	if r.Missing != 0 {
		errs = append(errs, fmt.Errorf("delivery: the stand-in lacks %d of the %d users",
			r.Missing, r.Users))
	}
	if math.IsNaN(r.Achieved) || r.Achieved == 0 {
		errs = append(errs, fmt.Errorf("delivery: no achieved rate (accepted %d upserts)",
			r.Accepted))
	}
	return errs
}
