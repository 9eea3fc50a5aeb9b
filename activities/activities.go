// Package activities holds the activities of SyncWorkflow. Each one does I/O
// (the snapshot, the state store, Sprig) and passes only names, ranges and
// counts to the workflow, never users' emails or attribute values.
package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/sprigsync/sprigsync/delivery"
	"github.com/sprigsync/sprigsync/mapping"
	"github.com/sprigsync/sprigsync/plan"
	"github.com/sprigsync/sprigsync/sprig"
	"github.com/sprigsync/sprigsync/state"
)

// Application error types of failures that no retry can fix. The workflow's
// retry policies list them as non-retryable.
const (
	ErrTypeInvalidInput    = "InvalidInput"
	ErrTypeInvalidConfig   = "InvalidConfig"
	ErrTypeInvalidSnapshot = "InvalidSnapshot"
	ErrTypeGuard           = "MassChangeGuard"
	ErrTypeAuth            = "AuthFailed"
	ErrTypeMissingKey      = "MissingAPIKey"
)

// HeartbeatInterval is how often the plan and finish activities record a
// heartbeat; their heartbeat timeout must be a few times longer.
const HeartbeatInterval = 2 * time.Second

// NonRetryable lists the error types above, for retry policies.
var NonRetryable = []string{ErrTypeInvalidInput, ErrTypeInvalidConfig, ErrTypeInvalidSnapshot,
	ErrTypeGuard, ErrTypeAuth, ErrTypeMissingKey}

// Client is the part of Sprig's API that the activities use.
// *sprig.Client implements it.
type Client interface {
	delivery.Sender
	CheckKey(ctx context.Context) error
}

// Activities holds what the activities share: the state store and one Sprig
// client per environment. Register a *Activities with the worker.
type Activities struct {
	Store state.Store
	// Clients has one client per Sprig environment name.
	Clients map[string]Client
	// Scan reads snapshots; nil means mapping.Scan.
	Scan plan.ScanFunc

	// Pause, when set, is called at named points of the activities. At
	// "plan" the snapshot is read but nothing is stored, and at "finish" the
	// baseline is advanced but the run is not closed. It is a fault
	// injection hook: tests make it block, then kill the worker there.
	Pause func(ctx context.Context, point string)

	// accounts has one *delivery.Account per environment name, shared by
	// the batches this worker sends to it.
	accounts sync.Map
}

// account returns the delivery state shared by the batches sent to env.
func (a *Activities) account(env string) *delivery.Account {
	acct, _ := a.accounts.LoadOrStore(env, &delivery.Account{})
	return acct.(*delivery.Account)
}

func (a *Activities) pause(ctx context.Context, point string) {
	if a.Pause != nil {
		a.Pause(ctx, point)
	}
}

// heartbeatEvery records a heartbeat every interval until the returned stop
// is called, so that a long step without natural progress points still shows
// that the worker is alive. A worker that dies stops heartbeating, and
// Temporal retries the activity elsewhere after its heartbeat timeout.
func heartbeatEvery(ctx context.Context, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-ticker.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}

func (a *Activities) client(env string) (Client, error) {
	c, ok := a.Clients[env]
	if !ok {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("the worker has no API key for the Sprig environment %q: set %s in the "+
				"worker's environment and restart it", env, KeyVariable(env)),
			ErrTypeMissingKey, nil)
	}
	return c, nil
}

// KeyVariable is the environment variable that holds the API key of a
// Sprig environment, such as SPRIG_API_KEY_PRODUCTION.
func KeyVariable(env string) string {
	return "SPRIG_API_KEY_" + strings.ToUpper(env)
}

// CheckAccessInput is the input of CheckAccess.
type CheckAccessInput struct {
	Environment string `json:"environment"`
}

// CheckAccess checks that the worker's API key for the environment works,
// so a bad key stops a run before the snapshot is read.
func (a *Activities) CheckAccess(ctx context.Context, in CheckAccessInput) error {
	c, err := a.client(in.Environment)
	if err != nil {
		return err
	}
	if err := c.CheckKey(ctx); err != nil {
		if sprig.Classify(err) == sprig.AuthFailed {
			return temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("Sprig environment %q: %v", in.Environment, err), ErrTypeAuth, nil)
		}
		return fmt.Errorf("check the API key of Sprig environment %q: %w", in.Environment, err)
	}
	return nil
}

// PlanInput is the input of Plan. SyncID in the activity inputs is the
// sync's state key, the sync id and the environment (workflows.StateKey).
type PlanInput struct {
	SyncID   string         `json:"syncId"`
	RunID    string         `json:"runId"`
	Snapshot string         `json:"snapshot"`
	Mapping  mapping.Config `json:"mapping"`
	Guard    plan.Guard     `json:"guard"`
}

// pending records the run of a sync whose outcomes are not yet folded into
// the baseline.
type pending struct {
	RunID string `json:"runId"`
}

// Plan reads the snapshot, diffs it with the baseline and stores the
// changeset. A run of the same sync that stopped before its Finish is
// folded into the baseline first, so the users it got accepted are not
// sent again. The same happens to this run's own earlier progress when the
// run was reset to before its plan.
func (a *Activities) Plan(ctx context.Context, in PlanInput) (plan.Result, error) {
	logger := activity.GetLogger(ctx)
	var p pending
	err := state.ReadJSON(a.Store, state.PendingName(in.SyncID), &p)
	switch {
	case errors.Is(err, state.ErrNotFound):
	case err != nil:
		return plan.Result{}, err
	case p.RunID != in.RunID:
		if err := a.fold(ctx, in.SyncID, p.RunID); err != nil {
			return plan.Result{}, err
		}
	}
	// A run reset to before its plan plans again under the same id. Its
	// outcome logs index the old changeset, so they are folded into the
	// baseline and removed.
	logs, err := a.Store.List(state.BatchesName(in.SyncID, in.RunID))
	if err != nil {
		return plan.Result{}, err
	}
	if len(logs) > 0 {
		if err := a.fold(ctx, in.SyncID, in.RunID); err != nil {
			return plan.Result{}, err
		}
		if err := a.Store.Remove(state.BatchesName(in.SyncID, in.RunID)); err != nil {
			return plan.Result{}, err
		}
	}
	if err := state.WriteJSON(a.Store, state.PendingName(in.SyncID), pending{RunID: in.RunID}); err != nil {
		return plan.Result{}, err
	}

	stop := heartbeatEvery(ctx, HeartbeatInterval)
	defer stop()
	res, err := plan.Run(ctx, plan.Input{
		Store: a.Store, SyncID: in.SyncID, RunID: in.RunID, Snapshot: in.Snapshot,
		Mapping: in.Mapping, Guard: in.Guard, Scan: a.Scan,
		BeforeCommit: func() { a.pause(ctx, "plan") },
	})
	switch {
	case errors.Is(err, mapping.ErrInvalidConfig):
		return res, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalidConfig, nil)
	case errors.Is(err, mapping.ErrInvalidSnapshot):
		return res, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalidSnapshot, nil)
	case errors.Is(err, plan.ErrGuard):
		return res, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeGuard, nil, res)
	case err != nil:
		return res, err
	}
	logger.Info("Planned run", "sync_id", in.SyncID, "run_id", in.RunID, "rows", res.Rows,
		"added", res.Added, "changed", res.Changed, "unchanged", res.Unchanged,
		"removed", res.Removed, "invalid", res.Invalid, "duplicate", res.Duplicate)
	return res, nil
}

// fold advances the baseline with the accepted outcomes of an unfinished
// run, without dropping removed users.
func (a *Activities) fold(ctx context.Context, syncID, runID string) error {
	res, err := state.Advance(a.Store, syncID, runID, "", false)
	if err != nil {
		return fmt.Errorf("fold the unfinished run %q into the baseline: %w", runID, err)
	}
	activity.GetLogger(ctx).Info("Folded an unfinished run into the baseline", "sync_id", syncID,
		"unfinished_run_id", runID, "accepted", res.Accepted)
	return nil
}

// BatchInput is the input of UpsertBatch.
type BatchInput struct {
	SyncID      string `json:"syncId"`
	RunID       string `json:"runId"`
	Environment string `json:"environment"`
	Batch       int    `json:"batch"`
	Start       int    `json:"start"`
	End         int    `json:"end"`
	// Rate is this batch's share of the run's rate limit, in requests per
	// second.
	Rate float64 `json:"rate"`
	// Slot and Slots place the batch among the batches in flight, so that
	// their requests together stay evenly spread (delivery.Options).
	Slot  int `json:"slot,omitempty"`
	Slots int `json:"slots,omitempty"`
}

// UpsertBatch sends one batch of the changeset. It records its checkpoint
// as heartbeat details, so a retry after a crash continues where the last
// attempt stopped.
func (a *Activities) UpsertBatch(ctx context.Context, in BatchInput) (delivery.Result, error) {
	c, err := a.client(in.Environment)
	if err != nil {
		return delivery.Result{}, err
	}
	var resume delivery.Checkpoint
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &resume); err != nil {
			return delivery.Result{}, fmt.Errorf("read the checkpoint of batch %d: %w", in.Batch, err)
		}
	}
	res, err := delivery.Send(ctx, c, delivery.Options{
		Store: a.Store, SyncID: in.SyncID, RunID: in.RunID, Batch: in.Batch,
		Start: in.Start, End: in.End, Rate: in.Rate, Slot: in.Slot, Slots: in.Slots,
		Account: a.account(in.Environment), Resume: resume,
		OnCheckpoint: func(cp delivery.Checkpoint) { activity.RecordHeartbeat(ctx, cp) },
	})
	if errors.Is(err, delivery.ErrAuth) {
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("batch %d stopped: %v", in.Batch, err), ErrTypeAuth, nil)
	}
	if errors.Is(err, state.ErrNotFound) {
		return res, fmt.Errorf("batch %d: %w; every worker on the task queue must use the same "+
			"state directory (a shared volume), or batches find no changeset", in.Batch, err)
	}
	if err != nil {
		return res, fmt.Errorf("batch %d: %w", in.Batch, err)
	}
	return res, nil
}

// FinishInput is the input of Finish.
type FinishInput struct {
	SyncID string `json:"syncId"`
	RunID  string `json:"runId"`
	// Complete is true when every batch settled; only then are the users
	// missing from the snapshot dropped from the baseline.
	Complete bool `json:"complete"`
	// Accepted is how many users the finished batches reported accepted.
	// Finish fails when the state store holds fewer, which means this
	// worker does not see the state the batches wrote.
	Accepted int64 `json:"accepted"`
}

// FinishResult is the result of Finish.
type FinishResult struct {
	// Baseline counts the users accepted in the whole run, including the
	// batches that did not finish, and the baseline's size afterwards.
	Baseline state.AdvanceResult `json:"baseline"`
	// Rejected counts the users whose last outcome in the run is a
	// rejection.
	Rejected int64 `json:"rejected"`
	// TopReason is the most common rejection reason of the run, and
	// TopReasonCount how many users it rejected.
	TopReason      string `json:"topReason,omitempty"`
	TopReasonCount int64  `json:"topReasonCount,omitempty"`
}

// Finish advances the baseline for the users Sprig accepted and writes the
// full list of rejections to the run's "rejections.jsonl".
func (a *Activities) Finish(ctx context.Context, in FinishInput) (FinishResult, error) {
	stop := heartbeatEvery(ctx, HeartbeatInterval)
	defer stop()
	adv, err := state.Advance(a.Store, in.SyncID, in.RunID,
		state.RunName(in.SyncID, in.RunID, plan.RemovedPart), in.Complete)
	if err != nil {
		return FinishResult{}, err
	}
	if int64(adv.Accepted) < in.Accepted {
		return FinishResult{}, fmt.Errorf("the state store contains %d accepted users of run %q, "+
			"but its batches reported %d: every worker on the task queue must use the same "+
			"state directory (a shared volume)", adv.Accepted, in.RunID, in.Accepted)
	}
	a.pause(ctx, "finish")
	rc, err := writeRejections(a.Store, in.SyncID, in.RunID)
	if err != nil {
		return FinishResult{}, err
	}
	res := FinishResult{Baseline: adv, Rejected: rc.total, TopReason: rc.topReason,
		TopReasonCount: rc.topCount}
	if err := a.Store.Remove(state.PendingName(in.SyncID)); err != nil {
		return res, err
	}
	activity.GetLogger(ctx).Info("Advanced baseline", "sync_id", in.SyncID, "run_id", in.RunID,
		"accepted", adv.Accepted, "removed", adv.Removed, "users", adv.Users)
	return res, nil
}
