package syncrun

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/sprigsync/sprigsync/workflows"
)

// endedRun is a run that ended with err and returned no summary.
type endedRun struct{ err error }

func (endedRun) GetID() string                  { return "nightly" }
func (endedRun) GetRunID() string               { return "r-2" }
func (endedRun) GetFirstExecutionRunID() string { return "r-1" }
func (r endedRun) Get(context.Context, any) error {
	return r.err
}
func (r endedRun) GetWithOptions(context.Context, any, client.WorkflowRunGetOptions) error {
	return r.err
}

func TestWaitCanceledOrTerminated(t *testing.T) {
	tests := []struct {
		status string
		err    error
	}{
		{workflows.StatusCanceled, temporal.NewCanceledError()},
		{workflows.StatusTerminated, &temporal.TerminatedError{}},
	}
	for _, tt := range tests {
		reason := "the run was " + tt.status + " before it finished. The next run of the sync " +
			"adds the users Sprig accepted to the baseline and sends the rest"
		want := workflows.Summary{SyncID: "nightly", RunID: "r-2", Status: tt.status, Error: reason}
		wantErr := `run r-2 of sync "nightly" was ` + tt.status
		wantOutput := "Sync nightly, run r-2: " + tt.status + "\n  error:     " + reason + "\n"

		sum, err := Wait(context.Background(), endedRun{tt.err})
		if diff := cmp.Diff(want, sum); diff != "" {
			t.Errorf("%s: summary (-want +got):\n%s", tt.status, diff)
		}
		if err == nil || err.Error() != wantErr {
			t.Errorf("%s: error %v, want %q", tt.status, err, wantErr)
		}
		var b strings.Builder
		Format(&b, sum)
		if diff := cmp.Diff(wantOutput, b.String()); diff != "" {
			t.Errorf("%s: output (-want +got):\n%s", tt.status, diff)
		}
	}
}
