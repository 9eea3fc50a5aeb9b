package integration

import (
	"context"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/sprigsync/sprigsync/mapping"
	"github.com/sprigsync/sprigsync/standin"
	"github.com/sprigsync/sprigsync/workflows"
)

// TestScheduledRun triggers a Temporal Schedule of SyncWorkflow, as an
// operator would set one up in the Web UI: the scheduled run executes the
// sync under the sync id and syncs every user.
func TestScheduledRun(t *testing.T) {
	h := newHarness(t, standin.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	in := workflows.SyncInput{SyncID: "scheduled", RateLimit: 5000,
		Snapshot: testdata("parquet", "users", "users.duckdb.snappy.parquet"),
		Config:   mapping.Config{EmailColumn: "email"}}
	handle, err := h.client.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:   "schedule-" + h.taskQueue,
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 24 * time.Hour}}},
		Action: &client.ScheduleWorkflowAction{
			ID: "scheduled-run", Workflow: workflows.SyncWorkflowName, Args: []any{in},
			TaskQueue: h.taskQueue,
		},
		Paused: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer handle.Delete(context.Background())
	if err := handle.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}

	// Wait for the run under the sync id to complete.
	for {
		desc, err := h.client.DescribeWorkflowExecution(ctx, "scheduled", "")
		if err == nil && desc.GetWorkflowExecutionInfo().GetStatus() ==
			enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the scheduled run did not complete under the sync id: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	var sum workflows.Summary
	if err := h.client.GetWorkflow(ctx, "scheduled", "").Get(ctx, &sum); err != nil {
		t.Fatal(err)
	}
	want := expectedUsers(t, in.Snapshot)
	if sum.Accepted != int64(len(want.users)) || len(h.standin.Users("production")) != len(want.users) {
		t.Fatalf("scheduled run accepted %d, stand-in has %d users; want %d", sum.Accepted,
			len(h.standin.Users("production")), len(want.users))
	}
}
