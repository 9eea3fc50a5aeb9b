package workflows

import (
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayHistories replays histories of real runs, recorded from a
// Temporal dev server by the integration tests, under the current code. A
// change that makes the workflow non-deterministic fails here.
func TestReplayHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata/histories")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// The recorded run's workflow id is its sync id, which the
			// workflow compares with its own id.
			var in SyncInput
			started := hist.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
			if err := converter.GetDefaultDataConverter().FromPayloads(started.GetInput(), &in); err != nil {
				t.Fatal(err)
			}
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(SyncWorkflow, workflow.RegisterOptions{Name: SyncWorkflowName})
			err = r.ReplayWorkflowHistoryWithOptions(nil, hist, worker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: in.SyncID, RunID: started.GetOriginalExecutionRunId()},
			})
			if err != nil {
				t.Fatalf("replay %s: %v", file, err)
			}
		})
	}
}
