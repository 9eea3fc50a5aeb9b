package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/sprigsync/sprigsync/workflows"
)

// orchestrationSyncID is the sync id, and so the workflow id, of the
// history-cost run.
const orchestrationSyncID = "bench-orchestration"

// maxPayloadBytes is the payload size the history must stay under: 256 KiB.
const maxPayloadBytes = 256 << 10

// maxChainRuns bounds the walk back through continue-as-new.
const maxChainRuns = 10_000

// historyStats sums the history of every run in a continue-as-new chain.
type historyStats struct {
	Runs           int
	Events         int
	LargestPayload int    // bytes of the largest Payload.Data in any event
	LargestEvent   string // type of the event that carries it
}

// orchestrationResult is the history-cost run with its history.
type orchestrationResult struct {
	syncResult
	Parallelism int
	History     historyStats
	HistoryErr  error
}

// eventsPerThousand returns history events per 1,000 users sent.
func (r *orchestrationResult) eventsPerThousand() float64 {
	if r.Summary.Accepted == 0 {
		return 0
	}
	return float64(r.History.Events) * 1000 / float64(r.Summary.Accepted)
}

// benchOrchestration runs a first sync of the snapshot with a high rate
// limit against a stand-in without one, then reads the run's whole history.
func benchOrchestration(ctx context.Context, cl *cluster, cfg config,
	snapshotPath string) *orchestrationResult {
	r := &orchestrationResult{Parallelism: cfg.orchestrationParallelism}
	r.syncResult = runSync(ctx, cl, "worker-orchestration", workflows.SyncInput{
		SyncID: orchestrationSyncID, Snapshot: snapshotPath, Config: mappingConfig,
		RateLimit: cfg.orchestrationRate, Parallelism: cfg.orchestrationParallelism,
	}, cfg.orchestrationUsers, 0, cfg.orchestrationTimeout)

	// A run that timed out still has a history worth reading.
	slog.Info("Reading the history", "workflow_id", orchestrationSyncID)
	hctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	r.History, r.HistoryErr = walkHistory(hctx, cl.client, orchestrationSyncID)
	return r
}

// walkHistory reads every event of every run of the workflow's
// continue-as-new chain, from the latest run back to the first.
func walkHistory(ctx context.Context, c client.Client, workflowID string) (historyStats, error) {
	var st historyStats
	runID := "" // the latest run
	for st.Runs < maxChainRuns {
		previous := ""
		it := c.GetWorkflowHistory(ctx, workflowID, runID, false,
			enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return st, fmt.Errorf("read the history of workflow %q run %q: %w", workflowID,
					runID, err)
			}
			if a := e.GetWorkflowExecutionStartedEventAttributes(); a != nil {
				previous = a.GetContinuedExecutionRunId()
			}
			st.Events++
			walkPayloads(e.ProtoReflect(), func(p *commonpb.Payload) {
				if n := len(p.GetData()); n > st.LargestPayload {
					st.LargestPayload = n
					st.LargestEvent = e.GetEventType().String()
				}
			})
		}
		st.Runs++
		if previous == "" {
			return st, nil
		}
		runID = previous
	}
	return st, fmt.Errorf("workflow %q has more than %d runs in its continue-as-new chain",
		workflowID, maxChainRuns)
}

// walkPayloads calls fn for every commonpb.Payload in m and the messages it
// contains, in lists and map values too.
func walkPayloads(m protoreflect.Message, fn func(*commonpb.Payload)) {
	if p, ok := m.Interface().(*commonpb.Payload); ok {
		fn(p)
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			if fd.Message() == nil {
				return true
			}
			list := v.List()
			for i := range list.Len() {
				walkPayloads(list.Get(i).Message(), fn)
			}
		case fd.IsMap():
			if fd.MapValue().Message() == nil {
				return true
			}
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				walkPayloads(mv.Message(), fn)
				return true
			})
		case fd.Message() != nil:
			walkPayloads(v.Message(), fn)
		}
		return true
	})
}

// checks returns what is wrong with the orchestration run.
func (r *orchestrationResult) checks() []error {
	var errs []error
	if r.Err != nil {
		errs = append(errs, fmt.Errorf("orchestration: %w", r.Err))
	}
	if r.HistoryErr != nil {
		errs = append(errs, fmt.Errorf("orchestration history: %w", r.HistoryErr))
	}
	if r.HistoryErr == nil && r.History.Events == 0 {
		errs = append(errs, errors.New("orchestration history: no events"))
	}
	return errs
}
