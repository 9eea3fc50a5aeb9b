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
		name    string
		err     error
		want    workflows.Summary
		wantErr string
		output  string
	}{
		{"canceled", temporal.NewCanceledError(),
			workflows.Summary{SyncID: "nightly", RunID: "r-2", Status: workflows.StatusCanceled,
				Error: "the run was canceled before it finished. The next run of the sync adds " +
					"the users Sprig accepted to the baseline and sends the rest"},
			`run r-2 of sync "nightly" was canceled`,
			"Sync nightly, run r-2: canceled\n" +
				"  error:     the run was canceled before it finished. The next run of the sync adds " +
				"the users Sprig accepted to the baseline and sends the rest\n"},
		{"terminated", &temporal.TerminatedError{},
			workflows.Summary{SyncID: "nightly", RunID: "r-2", Status: workflows.StatusTerminated,
				Error: "the run was terminated before it finished. The next run of the sync adds " +
					"the users Sprig accepted to the baseline and sends the rest"},
			`run r-2 of sync "nightly" was terminated`,
			"Sync nightly, run r-2: terminated\n" +
				"  error:     the run was terminated before it finished. The next run of the sync adds " +
				"the users Sprig accepted to the baseline and sends the rest\n"},
	}
	for _, tt := range tests {
		sum, err := Wait(context.Background(), endedRun{tt.err})
		if diff := cmp.Diff(tt.want, sum); diff != "" {
			t.Errorf("%s: summary (-want +got):\n%s", tt.name, diff)
		}
		if err == nil || err.Error() != tt.wantErr {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
		}
		var b strings.Builder
		Format(&b, sum)
		if diff := cmp.Diff(tt.output, b.String()); diff != "" {
			t.Errorf("%s: output (-want +got):\n%s", tt.name, diff)
		}
	}
}
