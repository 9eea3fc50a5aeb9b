package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/sprigsync/sprigsync/mapping"
	"github.com/sprigsync/sprigsync/standin"
	"github.com/sprigsync/sprigsync/workflows"
)

// history returns every event of a workflow run.
func (h *harness) history(workflowID, runID string) *historypb.History {
	h.t.Helper()
	it := h.client.GetWorkflowHistory(context.Background(), workflowID, runID, false,
		enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	hist := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			h.t.Fatal(err)
		}
		hist.Events = append(hist.Events, e)
	}
	return hist
}

// historyText returns the events as JSON plus the decoded data of every
// payload in them, so a search covers inputs, results, heartbeat details
// and failures alike.
func historyText(t *testing.T, hist *historypb.History) string {
	t.Helper()
	var b strings.Builder
	for _, e := range hist.Events {
		js, err := protojson.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(js)
		b.WriteByte('\n')
		walkPayloads(e.ProtoReflect(), func(p *commonpb.Payload) {
			b.Write(p.GetData())
			b.WriteByte('\n')
		})
	}
	return b.String()
}

func walkPayloads(m protoreflect.Message, fn func(*commonpb.Payload)) {
	if p, ok := m.Interface().(*commonpb.Payload); ok {
		fn(p)
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				walkPayloads(v.List().Get(i).Message(), fn)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				walkPayloads(mv.Message(), fn)
				return true
			})
		case fd.Message() != nil && !fd.IsList() && !fd.IsMap():
			walkPayloads(v.Message(), fn)
		}
		return true
	})
}

// TestHistoryHoldsNoSecretsOrUserData reads every event of a run that
// sent users, had rejections and invalid rows, and searches it for the API
// key and for every email address and free-text attribute value sent.
func TestHistoryHoldsNoSecretsOrUserData(t *testing.T) {
	h := newHarness(t, standin.Options{RejectUserIDs: map[string]string{
		"1000030": "emailAddress user1000030@example.com is blocked",
	}})
	snap := testdata("parquet", "users", "users.duckdb.snappy.parquet")
	sum, err := h.run(workflows.SyncInput{SyncID: "secrets", Snapshot: snap,
		Config: mapping.Config{EmailColumn: "email"}, RateLimit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rejected != 1 || sum.Invalid == 0 {
		t.Fatalf("summary = %+v, want 1 rejection and some invalid rows", sum)
	}
	text := historyText(t, h.history("secrets", sum.RunID))
	// The search must see decoded payloads: the summary's reason is there.
	if !strings.Contains(text, "emailAddress [redacted] is blocked") {
		t.Fatal("the history text lacks the run's summary; the search would prove nothing")
	}
	if strings.Contains(text, h.key) {
		t.Fatal("the history contains the API key")
	}
	want := expectedUsers(t, snap)
	checked := 0
	for id, u := range want.users {
		values := []string{u.Email}
		for _, name := range []string{"display name", "utm.source"} {
			if s, ok := u.Attributes[name].(string); ok && len(s) >= 4 {
				values = append(values, s)
			}
		}
		for _, v := range values {
			if v == "" {
				continue
			}
			checked++
			if strings.Contains(text, v) {
				t.Fatalf("the history contains user %s's value %q", id, v)
			}
		}
	}
	if checked < 1000 {
		t.Fatalf("checked only %d values", checked)
	}
}

// TestReplayRecordedRun replays the history of a real run under the
// current workflow code. With SPRIGSYNC_RECORD_HISTORIES=1 it also stores
// the history under workflows/testdata/histories for the unit tests.
func TestReplayRecordedRun(t *testing.T) {
	h := newHarness(t, standin.Options{RejectUserIDs: map[string]string{"1000030": "locked"}})
	sum, err := h.run(workflows.SyncInput{SyncID: "replay",
		Snapshot: testdata("parquet", "users", "users.duckdb.snappy.parquet"),
		Config:   mapping.Config{EmailColumn: "email"}, BatchSize: 300, Parallelism: 3,
		RateLimit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	hist := h.history("replay", sum.RunID)
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(workflows.SyncWorkflow,
		workflow.RegisterOptions{Name: workflows.SyncWorkflowName})
	err = r.ReplayWorkflowHistoryWithOptions(nil, hist, worker.ReplayWorkflowHistoryOptions{
		OriginalExecution: workflow.Execution{ID: "replay", RunID: sum.RunID},
	})
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if os.Getenv("SPRIGSYNC_RECORD_HISTORIES") != "" {
		js, err := protojson.MarshalOptions{Indent: "  "}.Marshal(hist)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "workflows", "testdata", "histories", "completed-with-rejections.json")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, js, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
