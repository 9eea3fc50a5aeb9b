// Package syncrun starts runs of a sync on Temporal, waits for them and
// renders their summaries; the starter command is a thin layer over it.
package syncrun

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/sprigsync/sprigsync/syncworker"
	"github.com/sprigsync/sprigsync/workflows"
)

// ErrAlreadyRunning marks a start refused because the sync has a run in
// progress.
var ErrAlreadyRunning = errors.New("sync is already running")

// Start starts a run of the sync in.SyncID on taskQueue (default
// syncworker.DefaultTaskQueue). The workflow id is the sync id, so two runs
// of one sync never overlap: when one is running, Start returns an error
// wrapping ErrAlreadyRunning that names it, instead of attaching to it.
func Start(ctx context.Context, c client.Client, taskQueue string, in workflows.SyncInput) (client.WorkflowRun, error) {
	if err := in.Validate(); err != nil {
		return nil, fmt.Errorf("invalid input: %w", err)
	}
	if taskQueue == "" {
		taskQueue = syncworker.DefaultTaskQueue
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       in.SyncID,
		TaskQueue:                                taskQueue,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, workflows.SyncWorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil, fmt.Errorf("%w: sync %q has run %s in progress; wait for it to finish, or "+
			"follow it in the Temporal UI", ErrAlreadyRunning, in.SyncID, started.RunId)
	}
	if err != nil {
		return nil, fmt.Errorf("start a run of sync %q: %w", in.SyncID, err)
	}
	return run, nil
}

// Wait waits for a run to end and returns its summary. A failed run
// returns its summary too (as far as the run got), with the error. A run
// canceled or terminated in Temporal has no summary, so it returns only
// the ids, the status and what the next run does, with the error.
func Wait(ctx context.Context, run client.WorkflowRun) (workflows.Summary, error) {
	var sum workflows.Summary
	err := run.Get(ctx, &sum)
	if err == nil {
		return sum, nil
	}
	var canceled *temporal.CanceledError
	var terminated *temporal.TerminatedError
	switch {
	case errors.As(err, &canceled):
		sum.Status = workflows.StatusCanceled
	case errors.As(err, &terminated):
		sum.Status = workflows.StatusTerminated
	}
	if sum.Status != "" {
		sum.SyncID, sum.RunID = run.GetID(), run.GetRunID()
		sum.Error = fmt.Sprintf("the run was %s before it finished. The next run of the sync "+
			"adds the users Sprig accepted to the baseline and sends the rest", sum.Status)
		return sum, fmt.Errorf("run %s of sync %q was %s", sum.RunID, sum.SyncID, sum.Status)
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == "SyncFailed" && appErr.HasDetails() {
		if derr := appErr.Details(&sum); derr == nil {
			return sum, errors.New(sum.Error)
		}
	}
	if errors.As(err, &appErr) {
		sum.Status = workflows.StatusFailed
		sum.Error = appErr.Message()
		return sum, errors.New(appErr.Message())
	}
	return sum, err
}

// Pollers returns how many workers polled the task queue for workflow tasks
// recently (Temporal keeps pollers of about the last minute). A run started
// on a task queue that no worker polls waits until one does.
func Pollers(ctx context.Context, c client.Client, taskQueue string) (int, error) {
	if taskQueue == "" {
		taskQueue = syncworker.DefaultTaskQueue
	}
	resp, err := c.DescribeTaskQueue(ctx, taskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return 0, fmt.Errorf("describe task queue %q: %w", taskQueue, err)
	}
	return len(resp.GetPollers()), nil
}
