package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/sprigsync/sprigsync/activities"
	"github.com/sprigsync/sprigsync/delivery"
)

// BatchHeartbeatTimeout is how long a batch may go without a heartbeat
// before Temporal gives it to another worker. Batches checkpoint every
// second, so a dead worker's batch moves on within this time.
const BatchHeartbeatTimeout = 10 * time.Second

// window runs the batches of one workflow execution, at most Parallelism
// at a time.
type window struct {
	ctx      workflow.Context
	in       SyncInput
	st       *RunState
	progress *Progress
	sel      workflow.Selector
	inFlight []int
	slots    []int // slots[i] is the pacing slot of batch inFlight[i]
	err      error
}

func newWindow(ctx workflow.Context, in SyncInput, st *RunState, p *Progress) *window {
	return &window{ctx: ctx, in: in, st: st, progress: p, sel: workflow.NewSelector(ctx)}
}

// run starts batches from st.NextBatch until every batch has settled, a
// batch failed, or this execution ran BatchesPerExecution batches. It waits
// for every batch it started, so st.NextBatch is exact when it returns.
func (w *window) run() error {
	next := w.st.NextBatch
	executed := 0
	for {
		for w.err == nil && len(w.inFlight) < w.in.Parallelism &&
			next < w.st.Layout.Batches && executed+len(w.inFlight) < BatchesPerExecution &&
			!workflow.GetInfo(w.ctx).GetContinueAsNewSuggested() {
			w.start(next)
			next++
		}
		if len(w.inFlight) == 0 {
			break
		}
		w.sel.Select(w.ctx)
		executed++
	}
	if w.err != nil {
		return w.err
	}
	w.st.NextBatch = next
	return nil
}

func (w *window) start(batch int) {
	layout := w.st.Layout
	start, end := layout.Range(batch)
	slots := min(w.in.Parallelism, layout.Batches)
	rate := w.in.RateLimit / float64(slots)
	slot := w.freeSlot()
	expected := time.Duration(float64(end-start) / rate * float64(time.Second))
	ctx := workflow.WithActivityOptions(w.ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 3*expected + 5*time.Minute,
		HeartbeatTimeout:    BatchHeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        10,
			NonRetryableErrorTypes: activities.NonRetryable,
		},
	})
	f := workflow.ExecuteActivity(ctx, acts.UpsertBatch, activities.BatchInput{
		SyncID: StateKey(w.in.SyncID, w.in.Environment), RunID: w.st.RunID,
		Environment: w.in.Environment,
		Batch:       batch, Start: start, End: end, Rate: rate, Slot: slot, Slots: slots,
	})
	w.inFlight = append(w.inFlight, batch)
	w.slots = append(w.slots, slot)
	w.progress.InFlight = slices.Clone(w.inFlight)
	w.sel.AddFuture(f, func(f workflow.Future) {
		var res delivery.Result
		err := f.Get(w.ctx, &res)
		i := slices.Index(w.inFlight, batch)
		w.inFlight = slices.Delete(w.inFlight, i, i+1)
		w.slots = slices.Delete(w.slots, i, i+1)
		w.progress.InFlight = slices.Clone(w.inFlight)
		if err != nil {
			if w.err == nil {
				w.err = err
			}
			workflow.GetLogger(w.ctx).Error("Batch failed", "sync_id", w.in.SyncID,
				"run_id", w.st.RunID, "batch", batch, "error", err)
			return
		}
		w.st.Totals.add(res)
		res.Rejections = nil
		w.progress.Recent = append(w.progress.Recent, res)
		if len(w.progress.Recent) > RecentBatches {
			w.progress.Recent = slices.Clone(w.progress.Recent[1:])
		}
		w.progress.Settled = w.st.Totals.Batches
		w.progress.Accepted, w.progress.Rejected = w.st.Totals.Accepted, w.st.Totals.Rejected
		workflow.SetCurrentDetails(w.ctx, fmt.Sprintf(
			"Sending: batch %d of %d settled, %d accepted, %d rejected, %d retries",
			w.st.Totals.Batches, layout.Batches, w.st.Totals.Accepted, w.st.Totals.Rejected,
			w.st.Totals.Retries.Total()))
	})
}

// freeSlot returns the lowest pacing slot that no batch in flight uses.
func (w *window) freeSlot() int {
	slot := 0
	for slices.Contains(w.slots, slot) {
		slot++
	}
	return slot
}
