package integration

import (
	"context"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/sprigsync/sprigsync/standin"
	"github.com/sprigsync/sprigsync/syncrun"
	"github.com/sprigsync/sprigsync/syncworker"
	"github.com/sprigsync/sprigsync/workflows"
)

// TestFaultsLoseNothing runs a sync against a stand-in that fails 10% of
// upserts with a 500, returns 429 with Retry-After above a rate below the
// run's, and adds latency. Every user must arrive, and the retries the run
// counts must equal the faults the stand-in served.
func TestFaultsLoseNothing(t *testing.T) {
	h := newHarness(t, standin.Options{ServerErrorShare: 0.1, Seed: 5, RateLimit: 1500,
		Burst: 50, RetryAfter: time.Second, Latency: 2 * time.Millisecond})
	in := durableInput(t, "faults")
	sum, err := h.run(in)
	if err != nil {
		t.Fatal(err)
	}
	h.checkComplete(in, sum)
	st := h.standin.Stats()
	served500 := st.Injected[standin.EndpointUpsert][500]
	served429 := st.Injected[standin.EndpointUpsert][429]
	t.Logf("served %d injected 500s and %d 429s; retries %+v", served500, served429, sum.Retries)
	if served500 == 0 || served429 == 0 {
		t.Fatalf("the stand-in served %d 500s and %d 429s, want both above 0", served500, served429)
	}
	if sum.Retries.ServerError != served500 || sum.Retries.RateLimited != served429 ||
		sum.Retries.Network != 0 {
		t.Fatalf("retries = %+v, want %d server errors and %d rate limited, as served",
			sum.Retries, served500, served429)
	}
	if sum.Requests != h.upserts.Load() {
		t.Fatalf("the run counts %d requests, the stand-in received %d", sum.Requests, h.upserts.Load())
	}
	var perBatch int64
	for _, b := range sum.RetriedBatches {
		perBatch += b.Retries.Total()
	}
	if len(sum.RetriedBatches) == 0 || perBatch > sum.Retries.Total() {
		t.Fatalf("retried batches = %+v", sum.RetriedBatches)
	}
}

// TestRevokedKeyThenResume revokes the API key in the middle of a run, then
// restores it and resumes the failed run with `starter resume` or with a
// Reset as in the Temporal UI. The resumed run sends exactly the users that
// Sprig had not accepted.
func TestRevokedKeyThenResume(t *testing.T) {
	for _, how := range []string{"resume", "reset after plan", "reset to start"} {
		t.Run(how, func(t *testing.T) {
			h := newHarness(t, standin.Options{})
			in := durableInput(t, "revoked")
			h.killAfterUpserts(durableUsers/4, func() {
				h.standin.SetOptions(standin.Options{Keys: map[string]string{"rotated": "production"}})
			})
			sum, err := h.run(in)
			if err == nil || !strings.Contains(err.Error(), "invalid or revoked") {
				t.Fatalf("error = %v, want the revoked key to stop the run", err)
			}
			accepted := h.standin.Stats().DistinctUpsertsAccepted
			if sum.Status != workflows.StatusFailed || sum.Accepted != accepted {
				t.Fatalf("summary = %+v, want failed with %d accepted", sum, accepted)
			}
			if got := h.baselineLen("revoked"); got != int(accepted) {
				t.Fatalf("baseline has %d users, want the %d Sprig accepted", got, accepted)
			}
			// The failed run's history has failures and heartbeat details
			// too: none may hold the key or a user's email address.
			text := historyText(t, h.history("revoked", sum.RunID))
			if !strings.Contains(text, "invalid or revoked") {
				t.Fatal("the history text lacks the failure; the search would prove nothing")
			}
			if strings.Contains(text, h.key) {
				t.Fatal("the failed run's history contains the API key")
			}
			for id, u := range h.standin.Users("production") {
				if strings.Contains(text, u.EmailAddress) {
					t.Fatalf("the failed run's history contains user %s's email address", id)
				}
			}

			h.hook.Store(nil)
			h.standin.SetOptions(standin.Options{Keys: map[string]string{h.key: "production"}})
			before := h.upserts.Load()
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			var run client.WorkflowRun
			switch how {
			case "resume":
				run, err = syncrun.Resume(ctx, h.client, h.taskQueue, "revoked")
			case "reset after plan":
				run, err = h.reset("revoked", sum.RunID, 2)
			default:
				run, err = h.reset("revoked", sum.RunID, 0)
			}
			if err != nil {
				t.Fatal(err)
			}
			sum, err = syncrun.Wait(ctx, run)
			if err != nil {
				t.Fatal(err)
			}
			if sent := h.upserts.Load() - before; sent != durableUsers-accepted {
				t.Fatalf("the resumed run sent %d requests, want the %d users not yet accepted",
					sent, durableUsers-accepted)
			}
			h.checkComplete(in, sum)
		})
	}
}

// reset resets a run, as an operator would in the Temporal UI, to the
// workflow task that completed after its first n activities (CheckAccess,
// then Plan), and returns the new run.
func (h *harness) reset(workflowID, runID string, n int) (client.WorkflowRun, error) {
	h.t.Helper()
	var completed int
	var resetTo int64
	for _, e := range h.history(workflowID, runID).Events {
		if e.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED {
			completed++
		}
		if completed == n && resetTo == 0 &&
			e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			resetTo = e.GetEventId()
		}
	}
	if resetTo == 0 {
		h.t.Fatal("no workflow task after the plan to reset to")
	}
	ctx := context.Background()
	resp, err := h.client.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace:                 "default",
		WorkflowExecution:         &commonpb.WorkflowExecution{WorkflowId: workflowID, RunId: runID},
		Reason:                    "key fixed",
		WorkflowTaskFinishEventId: resetTo,
		RequestId:                 randomKey(h.t),
	})
	if err != nil {
		return nil, err
	}
	return h.client.GetWorkflow(ctx, workflowID, resp.GetRunId()), nil
}

// TestStandinOutage makes the stand-in refuse connections for 30 seconds in
// the middle of a run. The run waits with capped backoff, probing once per
// step per batch, and completes.
func TestStandinOutage(t *testing.T) {
	h := newHarness(t, standin.Options{})
	in := durableInput(t, "outage")
	h.killAfterUpserts(durableUsers/4, func() { go h.outage(30 * time.Second) })
	sum, err := h.run(in)
	if err != nil {
		t.Fatal(err)
	}
	h.checkComplete(in, sum)
	// The requests in flight when the outage starts fail, then each batch
	// sends one probe per backoff step: 0.5 s doubling to 30 s makes about
	// 7 steps in 30 s.
	bound := int64(durableParallelism * (batchConcurrency + 15))
	t.Logf("%d network errors during the outage (bound %d)", sum.Retries.Network, bound)
	if sum.Retries.Network == 0 || sum.Retries.Network > bound {
		t.Fatalf("network retries = %d, want between 1 and %d", sum.Retries.Network, bound)
	}
}

// TestDevServerRestart stops the Temporal dev server (with an on-disk
// database) in the middle of a run and starts it again: the run completes.
func TestDevServerRestart(t *testing.T) {
	h := newBareHarness(t, standin.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hostPort := ln.Addr().String()
	ln.Close()
	path := devServerPath()
	opts := testsuite.DevServerOptions{ExistingPath: path, LogLevel: "error",
		DBFilename:    filepath.Join(t.TempDir(), "temporal.db"),
		ClientOptions: &client.Options{HostPort: hostPort, Logger: quietLogger()}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	server, err := testsuite.StartDevServer(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { server.Stop() }()

	c, err := client.Dial(client.Options{HostPort: hostPort, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h.client = c
	w, err := syncworker.New(c, syncworker.Config{TaskQueue: h.taskQueue, StateDir: h.stateDir,
		SprigURL: h.url, APIKeys: map[string]string{"production": h.key}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	in := durableInput(t, "restart")
	restarted := make(chan struct{})
	h.killAfterUpserts(durableUsers/4, func() {
		go func() {
			defer close(restarted)
			server.Stop()
			var err error
			if server, err = testsuite.StartDevServer(ctx, opts); err != nil {
				t.Errorf("start the dev server again: %v", err)
			}
		}()
	})
	run, err := syncrun.Start(ctx, c, h.taskQueue, in)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, restarted, 2*time.Minute, "the dev server to restart")
	sum, err := syncrun.Wait(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	h.checkComplete(in, sum)
}
