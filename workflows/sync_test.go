package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	enumspb "go.temporal.io/api/enums/v1"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/sprigsync/sprigsync/activities"
	"github.com/sprigsync/sprigsync/delivery"
	"github.com/sprigsync/sprigsync/plan"
	"github.com/sprigsync/sprigsync/state"
)

func TestNewLayout(t *testing.T) {
	tests := []struct {
		n, batchSize, parallelism int
		want                      Layout
	}{
		{0, 1000, 4, Layout{}},
		{1, 1000, 4, Layout{Changes: 1, Batches: 1, Size: 1}},
		{3, 1000, 4, Layout{Changes: 3, Batches: 3, Size: 1}},
		{2000, 1000, 4, Layout{Changes: 2000, Batches: 4, Size: 500}},
		{10, 3, 2, Layout{Changes: 10, Batches: 4, Size: 3}},
		{10_000, 1000, 4, Layout{Changes: 10_000, Batches: 12, Size: 834}},
		{1_000_000, 1000, 4, Layout{Changes: 1_000_000, Batches: 1000, Size: 1000}},
	}
	for _, tc := range tests {
		got := NewLayout(tc.n, tc.batchSize, tc.parallelism)
		if got != tc.want {
			t.Errorf("NewLayout(%d, %d, %d) = %+v, want %+v", tc.n, tc.batchSize, tc.parallelism, got, tc.want)
		}
		// Every change is in exactly one batch, no batch is empty or too big.
		next := 0
		for b := range got.Batches {
			start, end := got.Range(b)
			if start != next || end <= start || end-start > tc.batchSize {
				t.Errorf("NewLayout(%d, ...) batch %d = [%d, %d)", tc.n, b, start, end)
			}
			next = end
		}
		if next != tc.n {
			t.Errorf("NewLayout(%d, ...) covers %d changes", tc.n, next)
		}
	}
}

func TestInputValidation(t *testing.T) {
	tests := []struct {
		name string
		in   SyncInput
		want string
	}{
		{"no sync id", SyncInput{Snapshot: "x"}, "syncId is empty: name the sync; its runs share one baseline and run one at a time under this name"},
		{"no snapshot", SyncInput{SyncID: "s"}, "snapshot is empty: set it to a Parquet file, a directory of part files or a glob on the worker"},
		{"bad environment", SyncInput{SyncID: "s", Snapshot: "x", Environment: "prod"}, `environment "prod" is not known: use "production" or "development"`},
		{"bad rate", SyncInput{SyncID: "s", Snapshot: "x", RateLimit: -1}, "rateLimit -1 is out of range: use 0 < rateLimit <= 100000 requests per second"},
		{"bad batch size", SyncInput{SyncID: "s", Snapshot: "x", BatchSize: -5}, "batchSize -5 is out of range: use 1 to 1000000"},
		{"bad parallelism", SyncInput{SyncID: "s", Snapshot: "x", Parallelism: 65}, "parallelism 65 is out of range: use 1 to 64"},
		{"bad sync id", SyncInput{SyncID: "a/b", Snapshot: "x"}, `invalid syncId "a/b": use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.in.withDefaults()
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
	got, err := SyncInput{SyncID: "wf", Snapshot: "x"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := SyncInput{SyncID: "wf", Snapshot: "x", Environment: "production", RateLimit: 100,
		BatchSize: 10_000, Parallelism: 4}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(SyncInput{})); diff != "" {
		t.Fatalf("defaults (-want +got):\n%s", diff)
	}
}

func TestInputRejectsUnknownFields(t *testing.T) {
	var in SyncInput
	err := json.Unmarshal([]byte(`{"syncId":"s","snapshot":"x","atributes":{"plan":"plan"},
		"rate_limit":5,"emailColumn":"email","maxChangedShare":0.2}`), &in)
	if err != nil {
		t.Fatal(err)
	}
	if in.EmailColumn != "email" || in.MaxChangedShare != 0.2 {
		t.Fatalf("decoded %+v, want the known fields kept", in)
	}
	want := `unknown input field "atributes": check its spelling; the fields are syncId, ` +
		`snapshot, userIdColumn, emailColumn, attributes, environment, rateLimit, batchSize, ` +
		`parallelism, allowEmptySnapshot, maxChangedShare, resume`
	if err := in.Validate(); err == nil || err.Error() != want {
		t.Fatalf("Validate() = %v\nwant %s", err, want)
	}
	var ok SyncInput
	if err := json.Unmarshal([]byte(`{"syncId":"s","snapshot":"x","attributes":{"a":"b"}}`), &ok); err != nil {
		t.Fatal(err)
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate() of a correct input = %v", err)
	}
}

// fakeRun mocks the activities of one run.
type fakeRun struct {
	mu      sync.Mutex
	batches []activities.BatchInput
	finish  []activities.FinishInput
}

func (f *fakeRun) register(env *testsuite.TestWorkflowEnvironment, planRes plan.Result,
	batch func(in activities.BatchInput) (delivery.Result, error), fin activities.FinishResult) {
	a := &activities.Activities{}
	env.RegisterActivity(a)
	env.OnActivity(a.CheckAccess, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(a.Plan, mock.Anything, mock.Anything).Return(planRes, nil)
	env.OnActivity(a.UpsertBatch, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.BatchInput) (delivery.Result, error) {
			f.mu.Lock()
			f.batches = append(f.batches, in)
			f.mu.Unlock()
			return batch(in)
		})
	env.OnActivity(a.Finish, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FinishInput) (activities.FinishResult, error) {
			f.mu.Lock()
			f.finish = append(f.finish, in)
			f.mu.Unlock()
			return fin, nil
		})
}

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(SyncWorkflow, workflow.RegisterOptions{Name: SyncWorkflowName})
	return env
}

func acceptAllBatch(in activities.BatchInput) (delivery.Result, error) {
	return delivery.Result{Batch: in.Batch, Users: in.End - in.Start, Accepted: in.End - in.Start,
		Requests: int64(in.End - in.Start), Attempts: 1}, nil
}

func TestSyncWorkflowCompletes(t *testing.T) {
	env := newEnv(t)
	var f fakeRun
	f.register(env, plan.Result{Counts: plan.Counts{Files: 1, Rows: 12, Added: 8, Changed: 2, Unchanged: 2}, Changes: 10},
		func(in activities.BatchInput) (delivery.Result, error) {
			res, _ := acceptAllBatch(in)
			if in.Batch == 1 {
				res.Accepted--
				res.Rejected++
				res.Retries.RateLimited = 2
				res.Rejections = []delivery.Rejection{{UserID: "u4", Status: 400, Reason: "Invalid email"}}
			}
			return res, nil
		},
		activities.FinishResult{Baseline: state.AdvanceResult{Accepted: 9, Users: 9}, Rejected: 1})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "s1"})
	env.ExecuteWorkflow(SyncWorkflowName, SyncInput{SyncID: "s1", Snapshot: "snap",
		RateLimit: 50, BatchSize: 3, Parallelism: 2})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var sum Summary
	if err := env.GetWorkflowResult(&sum); err != nil {
		t.Fatal(err)
	}
	sum.RunID, sum.Duration = "", 0
	want := Summary{SyncID: "s1", Snapshot: "snap", Environment: "production",
		Status: StatusCompletedWithRejections,
		Counts: plan.Counts{Files: 1, Rows: 12, Added: 8, Changed: 2, Unchanged: 2}, Changes: 10, Accepted: 9, Rejected: 1, Requests: 10,
		Retries: delivery.Retries{RateLimited: 2}, Batches: 4, BatchAttempts: 4, BaselineUsers: 9,
		Rejections: []delivery.Rejection{{UserID: "u4", Status: 400, Reason: "Invalid email"}},
		RetriedBatches: []delivery.Result{{Batch: 1, Users: 3, Accepted: 2, Rejected: 1,
			Requests: 3, Retries: delivery.Retries{RateLimited: 2}, Attempts: 1}}}
	if diff := cmp.Diff(want, sum); diff != "" {
		t.Fatalf("summary (-want +got):\n%s", diff)
	}

	slices.SortFunc(f.batches, func(a, b activities.BatchInput) int { return a.Batch - b.Batch })
	var ranges []string
	for _, b := range f.batches {
		ranges = append(ranges, fmt.Sprintf("%s %d:[%d,%d)@%g/%d", b.SyncID, b.Batch, b.Start, b.End, b.Rate, b.Slots))
		if b.Slot < 0 || b.Slot >= b.Slots {
			t.Errorf("batch %d has slot %d of %d", b.Batch, b.Slot, b.Slots)
		}
	}
	// The first two batches start together, in the two slots.
	if f.batches[0].Slot == f.batches[1].Slot {
		t.Errorf("batches 0 and 1 share slot %d", f.batches[0].Slot)
	}
	wantRanges := []string{"s1/production 0:[0,3)@25/2", "s1/production 1:[3,6)@25/2",
		"s1/production 2:[6,9)@25/2", "s1/production 3:[9,10)@25/2"}
	if diff := cmp.Diff(wantRanges, ranges); diff != "" {
		t.Fatalf("batches (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]activities.FinishInput{{SyncID: "s1/production", RunID: f.finish[0].RunID,
		Complete: true, Accepted: 9}}, f.finish); diff != "" {
		t.Fatalf("finish (-want +got):\n%s", diff)
	}
}

func TestSyncWorkflowAuthFailure(t *testing.T) {
	env := newEnv(t)
	var f fakeRun
	f.register(env, plan.Result{Counts: plan.Counts{Rows: 10, Added: 10}, Changes: 10},
		func(in activities.BatchInput) (delivery.Result, error) {
			if in.Batch == 0 {
				return acceptAllBatch(in)
			}
			return delivery.Result{}, temporal.NewNonRetryableApplicationError(
				"batch stopped: API key invalid", activities.ErrTypeAuth, nil)
		},
		activities.FinishResult{Baseline: state.AdvanceResult{Accepted: 5, Users: 5}})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "s1"})
	env.ExecuteWorkflow(SyncWorkflowName, SyncInput{SyncID: "s1", Snapshot: "snap",
		BatchSize: 5, Parallelism: 1})
	sum := failedSummary(t, env)
	if sum.Status != StatusFailed || sum.Error != "batch stopped: API key invalid" ||
		sum.Accepted != 5 || sum.Unsent != 5 {
		t.Fatalf("summary = %+v", sum)
	}
	if len(f.finish) != 1 || f.finish[0].Complete {
		t.Fatalf("finish calls = %+v, want one with Complete false", f.finish)
	}
	if len(f.batches) != 2 {
		t.Fatalf("batches run = %d, want 2 (the window stops after the failure)", len(f.batches))
	}
}

// failedSummary returns the summary that a run which failed carries in its
// SyncFailed error.
func failedSummary(t *testing.T, env *testsuite.TestWorkflowEnvironment) Summary {
	t.Helper()
	err := env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != "SyncFailed" {
		t.Fatalf("error = %v, want a SyncFailed application error", err)
	}
	var sum Summary
	if err := appErr.Details(&sum); err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestSyncWorkflowKeyCheckTimeout times out every attempt of the key check
// and checks that the run fails, without planning, with a message that
// names the environment and what to check.
func TestSyncWorkflowKeyCheckTimeout(t *testing.T) {
	env := newEnv(t)
	a := &activities.Activities{}
	env.RegisterActivity(a)
	attempts := 0
	env.OnActivity(a.CheckAccess, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.CheckAccessInput) error {
			attempts++
			return temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_START_TO_CLOSE, nil)
		})
	planned := false
	env.OnActivity(a.Plan, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.PlanInput) (plan.Result, error) {
			planned = true
			return plan.Result{}, nil
		})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "s1"})
	env.ExecuteWorkflow(SyncWorkflowName, SyncInput{SyncID: "s1", Snapshot: "snap",
		Environment: "production"})

	sum := failedSummary(t, env)
	want := `checking the API key of Sprig environment "production" did not finish within 1m0s` +
		` in 5 attempts: the worker running it stopped or is overloaded; check the worker's logs` +
		` and start the run again`
	if sum.Error != want {
		t.Errorf("summary error = %q\nwant %q", sum.Error, want)
	}
	if attempts != 5 {
		t.Errorf("key check attempts = %d, want 5", attempts)
	}
	if planned {
		t.Errorf("the run planned after the key check failed")
	}
}

func TestSyncWorkflowAllRejected(t *testing.T) {
	env := newEnv(t)
	var f fakeRun
	f.register(env, plan.Result{Counts: plan.Counts{Rows: 4, Added: 4}, Changes: 4},
		func(in activities.BatchInput) (delivery.Result, error) {
			return delivery.Result{Batch: in.Batch, Users: in.End - in.Start,
				Rejected: in.End - in.Start, Attempts: 1}, nil
		},
		activities.FinishResult{TopReason: "Invalid email", TopReasonCount: 3})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "s1"})
	env.ExecuteWorkflow(SyncWorkflowName, SyncInput{SyncID: "s1", Snapshot: "snap"})
	var appErr *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &appErr) {
		t.Fatalf("error = %v, want an application error", err)
	}
	want := "Sprig rejected every user it was sent (4); most common reason (3 users): Invalid email"
	if appErr.Message() != want {
		t.Fatalf("message = %q, want %q", appErr.Message(), want)
	}
}

func TestSyncWorkflowContinuesAsNew(t *testing.T) {
	env := newEnv(t)
	var f fakeRun
	const changes = 1_000_000
	f.register(env, plan.Result{Counts: plan.Counts{Rows: changes, Added: changes}, Changes: changes}, acceptAllBatch,
		activities.FinishResult{})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "big"})
	env.ExecuteWorkflow(SyncWorkflowName, SyncInput{SyncID: "big", Snapshot: "snap",
		RateLimit: 100_000, BatchSize: 1000, Parallelism: 8})
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("error = %v, want continue-as-new", err)
	}
	if len(f.batches) != BatchesPerExecution {
		t.Fatalf("batches run = %d, want %d", len(f.batches), BatchesPerExecution)
	}
	var next SyncInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Resume == nil || next.Resume.NextBatch != BatchesPerExecution ||
		next.Resume.Totals.Accepted != BatchesPerExecution*1000 || next.Resume.Layout.Batches != 1000 {
		t.Fatalf("carried state = %+v", next.Resume)
	}
	if len(f.finish) != 0 {
		t.Fatalf("finish ran before the last execution: %+v", f.finish)
	}
}

// TestSyncWorkflowRunsAsChild starts a run under another workflow id, as a
// Temporal Schedule does: the run happens in a child workflow whose id is
// the sync id.
func TestSyncWorkflowRunsAsChild(t *testing.T) {
	env := newEnv(t)
	var f fakeRun
	f.register(env, plan.Result{Counts: plan.Counts{Rows: 4, Added: 4}, Changes: 4},
		acceptAllBatch, activities.FinishResult{Baseline: state.AdvanceResult{Accepted: 4, Users: 4}})
	var childID string
	env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, _ converter.EncodedValues) {
		childID = info.WorkflowExecution.ID
	})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "nightly-2026-12-04T00:00:00Z"})
	env.ExecuteWorkflow(SyncWorkflowName, SyncInput{SyncID: "nightly", Snapshot: "snap"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var sum Summary
	if err := env.GetWorkflowResult(&sum); err != nil {
		t.Fatal(err)
	}
	if childID != "nightly" || sum.SyncID != "nightly" || sum.Accepted != 4 {
		t.Fatalf("child id %q, summary %+v; want the run under id nightly with 4 accepted",
			childID, sum)
	}
}

func TestWindowFreeSlot(t *testing.T) {
	tests := []struct {
		used []int
		want int
	}{
		{nil, 0},
		{[]int{0}, 1},
		{[]int{1, 0}, 2},
		{[]int{0, 2}, 1},
		{[]int{3, 1, 2}, 0},
	}
	for _, tt := range tests {
		w := &window{slots: tt.used}
		if got := w.freeSlot(); got != tt.want {
			t.Errorf("slots in use %v: free slot %d, want %d", tt.used, got, tt.want)
		}
	}
}
