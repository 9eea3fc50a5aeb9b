package delivery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sprigsync/sprigsync/sprig"
	"github.com/sprigsync/sprigsync/standin"
	"github.com/sprigsync/sprigsync/state"
)

const testKey = "test-key-production"

// setup writes a changeset of n users and serves a stand-in with opts.
func setup(t *testing.T, n int, opts standin.Options) (state.Store, *standin.Server, *sprig.Client) {
	t.Helper()
	store, err := state.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w, err := state.NewChangesetWriter(store, state.RunName("s", "r", "changeset"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		id := fmt.Sprintf("u%d", i)
		body := fmt.Sprintf(`{"userId":%q,"emailAddress":"%s@example.com","attributes":{"n":%d}}`, id, id, i)
		w.Add(state.Change{Key: state.KeyOf(id), Fingerprint: state.FingerprintOf([]byte(body)),
			UserID: id, Body: []byte(body)})
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	opts.Keys = map[string]string{testKey: "production"}
	srv := standin.New(opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	c, err := sprig.NewClient(sprig.Options{BaseURL: ts.URL, APIKey: testKey, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return store, srv, c
}

func fastOptions(store state.Store, start, end int) Options {
	return Options{Store: store, SyncID: "s", RunID: "r", Batch: 0, Start: start, End: end,
		Rate: 5000, Concurrency: 8, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		MaxAttempts: 50, CheckpointEvery: 5 * time.Millisecond}
}

func TestSendAcceptsAndRejects(t *testing.T) {
	store, srv, c := setup(t, 50, standin.Options{RejectUserIDs: map[string]string{
		"u3":  "userId u3 is blocked",
		"u40": "email u40@example.com is not allowed",
	}})
	res, err := Send(context.Background(), c, fastOptions(store, 0, 50))
	if err != nil {
		t.Fatal(err)
	}
	res.Duration = 0
	want := Result{Batch: 0, Users: 50, Accepted: 48, Rejected: 2, Requests: 50, Attempts: 1,
		Rejections: []Rejection{
			{UserID: "u3", Status: 422, Reason: "userId u3 is blocked"},
			{UserID: "u40", Status: 422, Reason: "email [redacted] is not allowed"},
		}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Fatalf("result (-want +got):\n%s", diff)
	}
	if got := len(srv.Users("production")); got != 48 {
		t.Fatalf("stand-in has %d users, want 48", got)
	}
}

func TestSendRetriesMatchServedFaults(t *testing.T) {
	store, srv, c := setup(t, 400, standin.Options{ServerErrorShare: 0.2, Seed: 7})
	res, err := Send(context.Background(), c, fastOptions(store, 0, 400))
	if err != nil {
		t.Fatal(err)
	}
	st := srv.Stats()
	injected := st.Injected[standin.EndpointUpsert][500]
	if injected == 0 {
		t.Fatal("the stand-in injected no 500s; the test checks nothing")
	}
	if res.Retries.ServerError != injected {
		t.Fatalf("server-error retries = %d, stand-in injected %d", res.Retries.ServerError, injected)
	}
	if res.Accepted != 400 || res.Requests != 400+injected {
		t.Fatalf("accepted %d with %d requests, want 400 with %d", res.Accepted, res.Requests, 400+injected)
	}
}

func TestSendHonoursRateLimit429(t *testing.T) {
	// The stand-in allows 50 requests per second with a burst of 5 and asks
	// for no wait; the batch sends faster, so it meets 429s and retries.
	store, srv, c := setup(t, 60, standin.Options{RateLimit: 50, Burst: 5, RetryAfter: -1})
	opts := fastOptions(store, 0, 60)
	opts.InitialBackoff, opts.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
	res, err := Send(context.Background(), c, opts)
	if err != nil {
		t.Fatal(err)
	}
	got429 := srv.Stats().Injected[standin.EndpointUpsert][429]
	if res.Retries.RateLimited != got429 || got429 == 0 {
		t.Fatalf("rate-limited retries = %d, stand-in served %d 429s (want equal, above 0)",
			res.Retries.RateLimited, got429)
	}
	if res.Accepted != 60 {
		t.Fatalf("accepted = %d, want 60", res.Accepted)
	}
}

func TestSendStopsOnAuthFailure(t *testing.T) {
	store, srv, c := setup(t, 20, standin.Options{})
	srv.SetOptions(standin.Options{Keys: map[string]string{"other": "production"}})
	_, err := Send(context.Background(), c, fastOptions(store, 0, 20))
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("error = %v, want ErrAuth", err)
	}
	if got := srv.Stats().Count(standin.EndpointUpsert, 401); got > 8 {
		t.Fatalf("%d requests after the first 401, want at most the 8 in flight", got)
	}
}

// TestSendResumesFromCheckpoint stops a batch mid-way and resumes it,
// from its last checkpoint or from one that lost its counters, as a
// checkpoint does when Temporal had not yet sent the last heartbeat.
func TestSendResumesFromCheckpoint(t *testing.T) {
	const n = 300
	for _, stale := range []bool{false, true} {
		store, srv, c := setup(t, n, standin.Options{})
		opts := fastOptions(store, 0, n)
		opts.Rate = 1000
		ctx, cancel := context.WithCancel(context.Background())
		var last Checkpoint
		opts.OnCheckpoint = func(cp Checkpoint) {
			last = cp
			if cp.Next >= 100 {
				cancel() // the worker dies mid-batch
			}
		}
		if _, err := Send(ctx, c, opts); !errors.Is(err, context.Canceled) {
			t.Fatalf("first attempt error = %v, want context.Canceled", err)
		}
		if last.Next < 100 || last.Next >= n {
			t.Fatalf("checkpoint = %+v, want Next in [100, %d)", last, n)
		}
		sentBefore := srv.Stats().UpsertsAccepted

		opts = fastOptions(store, 0, n)
		opts.Resume = last
		if stale {
			opts.Resume = Checkpoint{Attempts: 1}
		}
		res, err := Send(context.Background(), c, opts)
		if err != nil {
			t.Fatal(err)
		}
		// Every user was sent once and recorded, so the logged outcomes
		// make up for a checkpoint that lost its count of requests.
		if res.Accepted != n || res.Attempts != 2 || res.Requests != n {
			t.Fatalf("stale %v: result = %+v, want %d accepted in %d requests and 2 attempts",
				stale, res, n, n)
		}
		st := srv.Stats()
		if st.DistinctUpsertsAccepted != n {
			t.Fatalf("stand-in accepted %d distinct users, want %d", st.DistinctUpsertsAccepted, n)
		}
		// Users sent twice are those after the checkpoint that the first
		// attempt had already sent.
		repeats := st.UpsertsAccepted - st.DistinctUpsertsAccepted
		if bound := sentBefore - int64(last.Next); repeats > bound {
			t.Fatalf("%d users sent twice, more than the %d sent after the checkpoint", repeats, bound)
		}
		if len(srv.Users("production")) != n {
			t.Fatalf("stand-in has %d users, want %d", len(srv.Users("production")), n)
		}
	}
}

func TestRedact(t *testing.T) {
	body := []byte(`{"userId":"42","emailAddress":"jo@example.com","attributes":{"plan":"enterprise","seats":12345,"x":"ab"}}`)
	tests := []struct{ in, want string }{
		{"Invalid email jo@example.com", "Invalid email [redacted]"},
		{"Invalid email JO@EXAMPLE.COM", "Invalid email [redacted]"},
		{"Invalid email jo%40example.com", "Invalid email [redacted]"},
		{"plan ENTERPRISE unknown", "plan [redacted] unknown"},
		{"plan enterprise not allowed for 12345", "plan [redacted] not allowed for [redacted]"},
		{"short values like ab stay", "short values like ab stay"},
		{"nothing to hide", "nothing to hide"},
	}
	for _, tc := range tests {
		if got := Redact(tc.in, body); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// flakySender fails every request with a connection error while down is
// set, and counts the requests it fails.
type flakySender struct {
	mu     sync.Mutex
	down   bool
	failed int
	next   Sender
}

func (f *flakySender) UpsertUser(ctx context.Context, body []byte) error {
	f.mu.Lock()
	down := f.down
	if down {
		f.failed++
	}
	f.mu.Unlock()
	if down {
		return &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	return f.next.UpsertUser(ctx, body)
}

func TestSendProbesDuringOutage(t *testing.T) {
	store, srv, c := setup(t, 200, standin.Options{})
	f := &flakySender{down: true, next: c}
	opts := fastOptions(store, 0, 200)
	opts.Concurrency = 16
	opts.InitialBackoff, opts.MaxBackoff = 2*time.Millisecond, 50*time.Millisecond
	time.AfterFunc(400*time.Millisecond, func() {
		f.mu.Lock()
		f.down = false
		f.mu.Unlock()
	})
	res, err := Send(context.Background(), f, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 200 || len(srv.Users("production")) != 200 {
		t.Fatalf("accepted %d, stand-in has %d users, want 200", res.Accepted, len(srv.Users("production")))
	}
	// The requests in flight when the outage starts fail (at most the 16
	// senders), then one probe per backoff step: 2, 4, 8, 16, 32 and then
	// every 50 ms make about 12 in 400 ms. Without the probe, each of the
	// 16 senders would retry on its own, about 190 failures.
	t.Logf("%d requests failed during the outage", f.failed)
	if f.failed > 40 {
		t.Fatalf("%d requests failed during the outage, want one probe per backoff step", f.failed)
	}
	if res.Retries.Network != int64(f.failed) {
		t.Fatalf("network retries = %d, want the %d failed requests", res.Retries.Network, f.failed)
	}
}

func TestSendBatchInTheMiddle(t *testing.T) {
	store, srv, c := setup(t, 100, standin.Options{})
	opts := fastOptions(store, 40, 70)
	opts.Batch = 3
	var last Checkpoint
	opts.OnCheckpoint = func(cp Checkpoint) { last = cp }
	res, err := Send(context.Background(), c, opts)
	if err != nil {
		t.Fatal(err)
	}
	res.Duration = 0
	want := Result{Batch: 3, Users: 30, Accepted: 30, Requests: 30, Attempts: 1}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Fatalf("result (-want +got):\n%s", diff)
	}
	if last.Next != 70 {
		t.Fatalf("last checkpoint = %+v, want Next 70", last)
	}
	for i := range 100 {
		_, ok := srv.User("production", fmt.Sprintf("u%d", i))
		if want := i >= 40 && i < 70; ok != want {
			t.Fatalf("user u%d in the stand-in = %v, want %v", i, ok, want)
		}
	}

	// A second run of the same batch finds every user settled and sends
	// nothing. Its count of requests is the 30 of the outcome log.
	sentBefore := srv.Stats().UpsertsAccepted
	res, err = Send(context.Background(), c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 30 || res.Requests != 30 {
		t.Fatalf("second run = %+v, want 30 accepted and 30 requests", res)
	}
	if sent := srv.Stats().UpsertsAccepted - sentBefore; sent != 0 {
		t.Fatalf("second run sent %d requests, want none", sent)
	}
}
