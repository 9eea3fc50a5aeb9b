package workflows

import (
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/sprigsync/sprigsync/activities"
	"github.com/sprigsync/sprigsync/delivery"
	"github.com/sprigsync/sprigsync/mapping"
	"github.com/sprigsync/sprigsync/plan"
)

// ProgressQuery is the name of the query that returns a running run's
// Progress.
const ProgressQuery = "progress"

// BatchesPerExecution bounds the batches one workflow execution runs before
// it continues as new, which keeps every execution's history far below
// Temporal's limits (about 10 events per batch).
const BatchesPerExecution = 500

// StepHeartbeatTimeout is the heartbeat timeout of the plan and finish
// activities, which heartbeat every activities.HeartbeatInterval: a dead
// worker's step moves to another worker within this time.
const StepHeartbeatTimeout = 10 * time.Second

// Run statuses of a Summary.
const (
	StatusCompleted               = "completed"
	StatusCompletedWithRejections = "completed_with_rejections"
	StatusFailed                  = "failed"
	// StatusCanceled and StatusTerminated are set by syncrun.Wait for a run
	// that was canceled or terminated in Temporal and so returned no
	// summary.
	StatusCanceled   = "canceled"
	StatusTerminated = "terminated"
)

// Summary is the result of a run. It has counts, ids and Sprig's error
// texts (with emails and attribute values redacted), never a user's data.
type Summary struct {
	SyncID      string `json:"syncId"`
	RunID       string `json:"runId"`
	Snapshot    string `json:"snapshot"`
	Environment string `json:"environment"`
	Status      string `json:"status"`
	// Error is the reason a failed run failed.
	Error string `json:"error,omitempty"`

	// Counts has the plan's counts of the snapshot's rows.
	plan.Counts

	// Changes is the number of users to send; Accepted + Rejected of them
	// were settled, the rest were not sent because the run failed.
	Changes  int64            `json:"changes"`
	Accepted int64            `json:"accepted"`
	Rejected int64            `json:"rejected"`
	Unsent   int64            `json:"unsent"`
	Requests int64            `json:"requests"`
	Retries  delivery.Retries `json:"retries"`
	Batches  int              `json:"batches"`
	// BatchAttempts counts batch activity attempts; above Batches means
	// some batches were retried.
	BatchAttempts int64 `json:"batchAttempts"`
	// BaselineUsers is the number of users in the baseline after the run.
	BaselineUsers int `json:"baselineUsers"`

	Duration delivery.Duration `json:"duration"`

	// RetriedBatches has the first batches that needed retries or more
	// than one attempt, without their rejections.
	RetriedBatches []delivery.Result `json:"retriedBatches,omitempty"`

	// Rejections has the first rejected users; the run's
	// "rejections.jsonl" in the state store has all of them.
	Rejections []delivery.Rejection `json:"rejections,omitempty"`
	// InvalidRows has the first rows that were not sent; the run's
	// "invalid.jsonl" has all of them.
	InvalidRows []mapping.InvalidRow `json:"invalidRows,omitempty"`
}

// Progress is a running run's state, returned by the progress query.
type Progress struct {
	Phase    string `json:"phase"`
	Batches  int    `json:"batches"`
	Settled  int    `json:"settled"`
	InFlight []int  `json:"inFlight"`
	Changes  int    `json:"changes"`
	Accepted int64  `json:"accepted"`
	Rejected int64  `json:"rejected"`
	// Recent has the last settled batches, newest last, without their
	// rejections. The Temporal UI shows each in-flight batch's checkpoint
	// as its pending activity's heartbeat details.
	Recent []delivery.Result `json:"recent,omitempty"`
}

// RecentBatches is how many settled batches Progress.Recent keeps.
const RecentBatches = 10

var acts *activities.Activities

// SyncWorkflow runs one sync: check the API key, plan, upsert the changeset
// in batches through a sliding window of in-flight batch activities, then
// advance the baseline. It returns the run's Summary. A failed run returns
// an application error of type "SyncFailed" whose details hold the Summary.
func SyncWorkflow(ctx workflow.Context, in SyncInput) (Summary, error) {
	info := workflow.GetInfo(ctx)
	in, err := in.withDefaults()
	if err != nil {
		return Summary{}, temporal.NewNonRetryableApplicationError(err.Error(),
			activities.ErrTypeInvalidInput, nil)
	}
	if in.SyncID != info.WorkflowExecution.ID {
		return runAsChild(ctx, in)
	}
	st := in.Resume
	if st == nil {
		// After a Reset the run id changes, but the run's objects in the
		// state store keep the id of the run that planned them.
		runID := info.OriginalRunID
		if runID == "" {
			runID = info.WorkflowExecution.RunID
		}
		st = &RunState{RunID: runID, StartedAt: workflow.Now(ctx)}
	}
	sum := Summary{SyncID: in.SyncID, RunID: st.RunID, Snapshot: in.Snapshot,
		Environment: in.Environment}
	progress := Progress{Phase: "planning"}
	err = workflow.SetQueryHandler(ctx, ProgressQuery, func() (Progress, error) {
		return progress, nil
	})
	if err != nil {
		return sum, err
	}

	if in.Resume == nil {
		workflow.SetCurrentDetails(ctx, "Checking the API key and planning the run")
		if err := checkAndPlan(ctx, in, st); err != nil {
			return sum, fail(ctx, in, st, sum, err)
		}
		st.Layout = NewLayout(st.Plan.Changes, in.BatchSize, in.Parallelism)
	}
	progress = Progress{Phase: "sending", Batches: st.Layout.Batches, Settled: st.NextBatch,
		Changes: st.Layout.Changes, Accepted: st.Totals.Accepted, Rejected: st.Totals.Rejected}

	// Send the batches through a sliding window of at most Parallelism in
	// flight. Each batch gets an equal share of the rate limit, so the total
	// stays under it however the batches are spread over workers.
	w := newWindow(ctx, in, st, &progress)
	sendErr := w.run()
	if sendErr == nil && st.NextBatch < st.Layout.Batches {
		next := in
		next.Resume = st
		return sum, workflow.NewContinueAsNewError(ctx, SyncWorkflow, next)
	}
	if sendErr != nil {
		return sum, fail(ctx, in, st, sum, sendErr)
	}

	progress.Phase = "finishing"
	workflow.SetCurrentDetails(ctx, "Advancing the baseline")
	fin, err := finish(ctx, in, st, true)
	if err != nil {
		return sum, fail(ctx, in, st, sum, err)
	}
	sum = summarize(ctx, sum, st, fin)
	if st.Totals.Rejected > 0 && st.Totals.Accepted == 0 {
		sum.Status = StatusFailed
		sum.Error = fmt.Sprintf("Sprig rejected every user it was sent (%d); most common "+
			"reason (%d users): %s", st.Totals.Rejected, fin.TopReasonCount, fin.TopReason)
		return sum, temporal.NewNonRetryableApplicationError(sum.Error, "SyncFailed", nil, sum)
	}
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("Done: %d accepted, %d rejected",
		sum.Accepted, sum.Rejected))
	return sum, nil
}

// StateKey names the state of a sync in one Sprig environment: the sync id
// and the environment, as "nightly/production". Each environment has its
// own baseline, because users accepted in development are not in
// production.
func StateKey(syncID, environment string) string {
	return syncID + "/" + environment
}

// runAsChild runs the sync as a child workflow whose id is the sync id. Runs
// of one sync so never overlap, even when a Temporal Schedule starts them
// under ids of its own: a run that finds the sync running fails with the
// type "SyncAlreadyRunning" and leaves the running one alone.
func runAsChild(ctx workflow.Context, in SyncInput) (Summary, error) {
	childCtx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            in.SyncID,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
	})
	var sum Summary
	err := workflow.ExecuteChildWorkflow(childCtx, SyncWorkflowName, in).Get(ctx, &sum)
	var running *temporal.ChildWorkflowExecutionAlreadyStartedError
	if errors.As(err, &running) {
		return sum, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("sync %q already has a run in progress, so this run did nothing", in.SyncID),
			"SyncAlreadyRunning", nil)
	}
	return sum, err
}

// checkTimeout is how long one attempt of the key check may take.
const checkTimeout = time.Minute

func checkAndPlan(ctx workflow.Context, in SyncInput, st *RunState) error {
	// The key check's request gives up after the Sprig client's timeout
	// (30 s by default) with an error that names the timeout. The activity's own
	// timeout is longer, so that it only ends an attempt whose worker
	// stopped.
	checkCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: checkTimeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second,
			MaximumAttempts: 5, NonRetryableErrorTypes: activities.NonRetryable},
	})
	err := workflow.ExecuteActivity(checkCtx, acts.CheckAccess,
		activities.CheckAccessInput{Environment: in.Environment}).Get(ctx, nil)
	if _, ok := errors.AsType[*temporal.TimeoutError](err); ok {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("checking the API key of Sprig"+
			" environment %q did not finish within %s in 5 attempts: the worker running it stopped"+
			" or is overloaded; check the worker's logs and start the run again",
			in.Environment, checkTimeout), "KeyCheckTimedOut", err)
	}
	if err != nil {
		return err
	}

	planCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:    StepHeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute,
			MaximumAttempts: 5, NonRetryableErrorTypes: activities.NonRetryable},
	})
	return workflow.ExecuteActivity(planCtx, acts.Plan, activities.PlanInput{
		SyncID: StateKey(in.SyncID, in.Environment), RunID: st.RunID, Snapshot: in.Snapshot,
		Mapping: in.Config,
		Guard:   in.Guard,
	}).Get(ctx, &st.Plan)
}

func finish(ctx workflow.Context, in SyncInput, st *RunState, complete bool) (activities.FinishResult, error) {
	finCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    StepHeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute,
			MaximumAttempts: 10, NonRetryableErrorTypes: activities.NonRetryable},
	})
	var fin activities.FinishResult
	err := workflow.ExecuteActivity(finCtx, acts.Finish, activities.FinishInput{
		SyncID: StateKey(in.SyncID, in.Environment), RunID: st.RunID, Complete: complete,
		Accepted: st.Totals.Accepted,
	}).Get(ctx, &fin)
	return fin, err
}

func summarize(ctx workflow.Context, sum Summary, st *RunState, fin activities.FinishResult) Summary {
	p := st.Plan
	sum.Counts = p.Counts
	sum.InvalidRows = p.InvalidSample
	t := st.Totals
	sum.Changes = int64(p.Changes)
	sum.Accepted, sum.Rejected, sum.Requests, sum.Retries = t.Accepted, t.Rejected, t.Requests, t.Retries
	if fin.Baseline.Accepted > 0 || fin.Rejected > 0 {
		// The outcome logs also count the batches that did not finish.
		sum.Accepted, sum.Rejected = int64(fin.Baseline.Accepted), fin.Rejected
	}
	sum.Unsent = sum.Changes - sum.Accepted - sum.Rejected
	sum.Batches, sum.BatchAttempts = st.Layout.Batches, t.Attempts
	sum.Rejections = t.Rejections
	sum.RetriedBatches = t.RetriedBatches
	sum.BaselineUsers = fin.Baseline.Users
	sum.Duration = delivery.Duration(workflow.Now(ctx).Sub(st.StartedAt))
	sum.Status = StatusCompleted
	if t.Rejected > 0 || p.Invalid > 0 || p.Duplicate > 0 {
		sum.Status = StatusCompletedWithRejections
	}
	return sum
}

// fail advances the baseline for what Sprig accepted before the failure
// (when the plan got that far), then returns the failure with the Summary
// as its details.
func fail(ctx workflow.Context, in SyncInput, st *RunState, sum Summary, cause error) error {
	var fin activities.FinishResult
	if st.Plan.Changes > 0 {
		var err error
		fin, err = finish(ctx, in, st, false)
		if err != nil {
			workflow.GetLogger(ctx).Error("Failed to advance the baseline of a failed run",
				"sync_id", in.SyncID, "run_id", st.RunID, "error", err)
		}
	}
	sum = summarize(ctx, sum, st, fin)
	sum.Status = StatusFailed
	sum.Error = rootMessage(cause)
	workflow.SetCurrentDetails(ctx, "Failed: "+sum.Error)
	return temporal.NewNonRetryableApplicationError(sum.Error, "SyncFailed", cause, sum)
}

// rootMessage returns the message of the innermost application error,
// which is the one that names what to fix.
func rootMessage(err error) string {
	var appErr *temporal.ApplicationError
	msg := err.Error()
	for errors.As(err, &appErr) {
		msg = appErr.Message()
		err = appErr.Unwrap()
		if err == nil {
			break
		}
	}
	return msg
}

// SyncWorkflowName is the workflow type name, as typed in the Temporal UI.
const SyncWorkflowName = "SyncWorkflow"
