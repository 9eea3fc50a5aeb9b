package syncrun

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/sprigsync/sprigsync/workflows"
)

// Resume starts a new run of a sync whose last run failed, was canceled,
// was terminated or timed out, with the same input. The failed run advanced
// the baseline for every user Sprig accepted, and a run that stopped
// without doing so is folded in by the new run's plan, so the new run sends
// only the users that are left: those not yet accepted, plus any that
// changed since.
func Resume(ctx context.Context, c client.Client, taskQueue, syncID string) (client.WorkflowRun, error) {
	desc, err := c.DescribeWorkflowExecution(ctx, syncID, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return nil, fmt.Errorf("sync %q has no runs to resume: start one with -snapshot", syncID)
	}
	if err != nil {
		return nil, fmt.Errorf("look up the last run of sync %q: %w", syncID, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	switch info.GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED,
		enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return nil, fmt.Errorf("%w: sync %q has run %s in progress; nothing to resume",
			ErrAlreadyRunning, syncID, info.GetExecution().GetRunId())
	default:
		return nil, fmt.Errorf("the last run of sync %q (%s) is %s, so there is nothing to resume; "+
			"start a new run instead", syncID, info.GetExecution().GetRunId(),
			info.GetStatus())
	}

	in, err := runInput(ctx, c, syncID, info.GetExecution().GetRunId())
	if err != nil {
		return nil, err
	}
	in.Resume = nil
	if taskQueue == "" {
		taskQueue = info.GetTaskQueue()
	}
	return Start(ctx, c, taskQueue, in)
}

// runInput returns the input of one run from its first history event.
func runInput(ctx context.Context, c client.Client, workflowID, runID string) (workflows.SyncInput, error) {
	var in workflows.SyncInput
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false,
		enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return in, fmt.Errorf("run %s of sync %q has no history", runID, workflowID)
	}
	event, err := it.Next()
	if err != nil {
		return in, fmt.Errorf("read the history of run %s of sync %q: %w", runID, workflowID, err)
	}
	attrs := event.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		return in, fmt.Errorf("run %s of sync %q does not start with its input", runID, workflowID)
	}
	if err := converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &in); err != nil {
		return in, fmt.Errorf("decode the input of run %s of sync %q: %w", runID, workflowID, err)
	}
	return in, nil
}
