// Package delivery sends one batch of a changeset to Sprig: one request per
// user, paced to a rate limit, with retries for rate limiting, server errors
// and network errors, and a durable record of every settled user.
//
// A batch can stop at any moment (a crash, a cancelled activity) and resume:
// its outcome log lists every user that settled, and the next attempt sends
// only the others. Outcomes reach the log's file once per checkpoint
// interval, so a crash repeats at most the requests in flight plus one
// checkpoint interval's worth at the batch's rate. Upserts are idempotent,
// so a repeated request costs only its share of the rate limit.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/sprigsync/sprigsync/sprig"
	"github.com/sprigsync/sprigsync/state"
)

// Sender sends one upsert request; *sprig.Client is the real one.
type Sender interface {
	UpsertUser(ctx context.Context, body []byte) error
}

// Retries counts retried requests by cause.
type Retries struct {
	RateLimited int64 `json:"rateLimited"`
	ServerError int64 `json:"serverError"`
	Network     int64 `json:"network"`
}

// Add returns the sum of r and o.
func (r Retries) Add(o Retries) Retries {
	return Retries{
		RateLimited: r.RateLimited + o.RateLimited,
		ServerError: r.ServerError + o.ServerError,
		Network:     r.Network + o.Network,
	}
}

// Total returns the number of retries of every cause.
func (r Retries) Total() int64 { return r.RateLimited + r.ServerError + r.Network }

// Checkpoint is a batch's progress and counters across attempts. It is
// small and JSON-friendly, so an activity can store it as heartbeat details.
type Checkpoint struct {
	// Next is the changeset index below which every user of the batch is
	// settled (accepted or rejected) and recorded in the outcome log. It
	// shows progress; a resumed batch reads what settled from the log.
	Next int `json:"next"`
	// Requests counts every request sent, across attempts of the batch.
	Requests int64 `json:"requests"`
	// Retries counts retried requests across attempts of the batch.
	Retries Retries `json:"retries"`
	// Attempts counts how many times the batch was started.
	Attempts int `json:"attempts"`
}

// Options configures one batch. Zero values mean the documented defaults.
type Options struct {
	Store  state.Store
	SyncID string
	RunID  string
	Batch  int
	// Start and End are the batch's range of changeset indexes, [Start, End).
	Start, End int

	// Rate is the most requests per second this batch sends. Default 10.
	Rate float64
	// Slot and Slots place the batch among the batches that send side by
	// side, Slot from 0 to Slots-1. Batches in different slots take their
	// turns at different moments, so that their requests together stay
	// evenly spread. Default: one slot.
	Slot, Slots int
	// Account is the state shared by the batches that send with the same
	// API key in this process, so that a 429 to one pauses and slows them
	// all. Default: a new Account for this batch alone.
	Account *Account
	// Concurrency is the most requests in flight. Default: enough to keep
	// the rate with 250 ms responses, between 1 and 256.
	Concurrency int
	// MaxAttempts bounds the requests for one user in one run of Send;
	// past it, Send returns a retryable error. Default 10, which outlasts
	// a minute of outage at the default backoff.
	MaxAttempts int
	// InitialBackoff and MaxBackoff bound the delay between retries of one
	// user (exponential, with jitter). Sprig's Retry-After overrides them.
	// Defaults 500 ms and 30 s.
	InitialBackoff, MaxBackoff time.Duration
	// CheckpointEvery is how often progress is made durable and reported
	// to OnCheckpoint. Default 1 s.
	CheckpointEvery time.Duration

	// Resume is the last checkpoint of an earlier attempt, whose counters
	// the batch continues; the zero value starts them at zero. Requests
	// starts at least at the number of outcomes in the log.
	Resume Checkpoint
	// OnCheckpoint receives each durable checkpoint, for example to
	// record it as an activity heartbeat.
	OnCheckpoint func(Checkpoint)
}

func (o *Options) defaults() {
	if o.Rate <= 0 {
		o.Rate = 10
	}
	if o.Concurrency <= 0 {
		o.Concurrency = min(256, max(1, int(o.Rate/4)+1))
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.InitialBackoff <= 0 {
		o.InitialBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = time.Second
	}
	if o.Account == nil {
		o.Account = &Account{}
	}
}

// Result counts what happened to the users of a batch. Users are counted
// once each, however many requests they took.
type Result struct {
	Batch      int         `json:"batch"`
	Users      int         `json:"users"`
	Accepted   int         `json:"accepted"`
	Rejected   int         `json:"rejected"`
	Requests   int64       `json:"requests"`
	Retries    Retries     `json:"retries"`
	Attempts   int         `json:"attempts"`
	Duration   Duration    `json:"duration"`
	Rejections []Rejection `json:"rejections,omitempty"`
}

// Rejection is one user that Sprig rejected, with its reason. The reason has
// the user's email address and attribute values replaced by "[redacted]",
// so it may enter workflow history.
type Rejection struct {
	UserID string `json:"userId"`
	Status int    `json:"status"`
	Reason string `json:"reason"`
}

// Duration is a time.Duration that reads as text in JSON ("1.5s").
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// RejectionSample is how many rejections a Result carries.
const RejectionSample = 20

// ErrAuth marks a batch stopped because Sprig refused the API key.
var ErrAuth = errors.New("Sprig rejected the API key")

// ErrGaveUp marks a batch stopped because one user's requests kept failing
// with retryable errors; a later attempt may succeed.
var ErrGaveUp = errors.New("gave up after repeated retryable errors")

// Send sends the batch's unsettled users and records every outcome. It
// returns the batch's result once every user is settled. A returned error
// wraps ErrAuth (stop the run), ErrGaveUp (retry later), a context error,
// or a state store error.
//
// The batch's outcome log is the record of what has settled. Send reads it
// first and sends only the users it does not list, whether an earlier
// attempt crashed, a worker stopped, or the run was reset to before the
// batch.
func Send(ctx context.Context, s Sender, opts Options) (Result, error) {
	opts.defaults()
	start := time.Now()
	cp := opts.Resume
	cp.Attempts++
	cp.Next = opts.Start
	name := state.BatchOutcomesName(opts.SyncID, opts.RunID, opts.Batch)
	settled := make([]bool, opts.End-opts.Start)
	var logged int64
	size, err := state.ReadOutcomes(opts.Store, name, -1, func(o *state.Outcome) error {
		if o.Index < opts.Start || o.Index >= opts.End {
			return fmt.Errorf("outcome log %q has index %d outside the batch [%d, %d)",
				name, o.Index, opts.Start, opts.End)
		}
		settled[o.Index-opts.Start] = true
		logged++
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	// Each logged outcome took a request. The checkpoint can be older than
	// the log, since Temporal sends heartbeat details only every few
	// seconds, so its count is raised to at least that.
	cp.Requests = max(cp.Requests, logged)
	log, err := state.NewOutcomeLog(opts.Store, name, size)
	if err != nil {
		return Result{}, err
	}

	r := &run{opts: opts, sender: s, log: log, cp: cp, settled: settled,
		pending: slices.Clone(settled),
		gate: newGate(opts.Rate, opts.Slot, opts.Slots, opts.Account,
			opts.InitialBackoff, opts.MaxBackoff)}
	defer r.gate.close()
	r.advance()
	runErr := r.send(ctx)
	closeErr := log.Close()
	if runErr != nil {
		return Result{}, runErr
	}
	if closeErr != nil {
		return Result{}, closeErr
	}

	res, err := Summarize(opts.Store, opts.SyncID, opts.RunID, opts.Batch, opts.Start, opts.End)
	if err != nil {
		return Result{}, err
	}
	res.Requests, res.Retries, res.Attempts = r.cp.Requests, r.cp.Retries, r.cp.Attempts
	res.Duration = Duration(time.Since(start))
	return res, nil
}

// Summarize counts the outcomes recorded for a batch: each user once, by
// its last outcome.
func Summarize(store state.Store, syncID, runID string, batch, start, end int) (Result, error) {
	res := Result{Batch: batch, Users: end - start}
	last := make(map[int]state.Outcome)
	name := state.BatchOutcomesName(syncID, runID, batch)
	_, err := state.ReadOutcomes(store, name, -1, func(o *state.Outcome) error {
		if o.Index >= start && o.Index < end {
			last[o.Index] = *o
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	for i := start; i < end; i++ {
		o, ok := last[i]
		switch {
		case !ok:
		case o.Result == state.Accepted:
			res.Accepted++
		default:
			res.Rejected++
			if len(res.Rejections) < RejectionSample {
				res.Rejections = append(res.Rejections,
					Rejection{UserID: o.UserID, Status: o.Status, Reason: o.Reason})
			}
		}
	}
	return res, nil
}

type job struct {
	index  int
	change state.Change
}

type settledJob struct {
	job      job
	outcome  state.Outcome
	requests int64
	retries  Retries
}

type run struct {
	opts   Options
	sender Sender
	log    *state.OutcomeLog
	gate   *gate

	// Owned by the collector goroutine: settled[i] is true once change
	// opts.Start+i is recorded in the outcome log.
	cp      Checkpoint
	settled []bool
	// pending[i] is false for the changes to send; it is read-only.
	pending []bool
}

// advance moves the checkpoint past every settled change at its front.
func (r *run) advance() {
	for r.cp.Next < r.opts.End && r.settled[r.cp.Next-r.opts.Start] {
		r.cp.Next++
	}
}

// send runs the senders. A sender that must stop the batch (a 401, a user
// that keeps failing) stops the others from starting requests. The requests
// already in flight finish and are recorded, because Sprig may have
// accepted them and an accepted user must reach the baseline.
func (r *run) send(ctx context.Context) error {
	stopCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	first := r.cp.Next
	jobs := make(chan job, r.opts.Concurrency)
	done := make(chan settledJob, r.opts.Concurrency)

	// Read the unsettled changes and hand them to the senders.
	var readErr error
	go func() {
		defer close(jobs)
		readErr = state.ReadChanges(r.opts.Store, state.ChangesetName(r.opts.SyncID, r.opts.RunID),
			first, r.opts.End, func(i int, c *state.Change) error {
				if r.pending[i-r.opts.Start] {
					return nil
				}
				j := job{index: i, change: *c}
				j.change.Body = append([]byte(nil), c.Body...)
				select {
				case jobs <- j:
					return nil
				case <-stopCtx.Done():
					return context.Cause(stopCtx)
				}
			})
	}()

	var wg sync.WaitGroup
	for range r.opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				s, err := r.sendOne(ctx, stopCtx, j)
				if err != nil {
					stop(err)
					return
				}
				done <- s
			}
		}()
	}
	go func() {
		wg.Wait()
		close(done)
	}()

	err := r.collect(stopCtx, done)
	if err != nil {
		stop(err)
		for range done {
		}
		return err
	}
	if cause := context.Cause(stopCtx); cause != nil {
		return cause
	}
	if readErr != nil {
		return readErr
	}
	return nil
}

// collect records settled users in the outcome log, advances the
// checkpoint past every settled prefix and reports it now and then.
func (r *run) collect(ctx context.Context, done <-chan settledJob) error {
	ticker := time.NewTicker(r.opts.CheckpointEvery)
	defer ticker.Stop()
	report := func() error {
		if _, err := r.log.Sync(); err != nil {
			return err
		}
		r.advance()
		if r.opts.OnCheckpoint != nil {
			r.opts.OnCheckpoint(r.cp)
		}
		return nil
	}
	for {
		select {
		case s, ok := <-done:
			if !ok {
				return report()
			}
			if err := r.log.Add(s.outcome); err != nil {
				return err
			}
			r.settled[s.job.index-r.opts.Start] = true
			r.cp.Requests += s.requests
			r.cp.Retries = r.cp.Retries.Add(s.retries)
		case <-ticker.C:
			if err := report(); err != nil {
				return err
			}
		case <-ctx.Done():
			// Record what has settled so a resume repeats as little as
			// possible; the senders stop on the same cancellation.
			for s := range done {
				if err := r.log.Add(s.outcome); err != nil {
					return err
				}
				r.settled[s.job.index-r.opts.Start] = true
				r.cp.Requests += s.requests
				r.cp.Retries = r.cp.Retries.Add(s.retries)
			}
			if err := report(); err != nil {
				return err
			}
			return context.Cause(ctx)
		}
	}
}

// sendOne sends one user until Sprig accepts or rejects it. It returns an
// error only when the batch must stop. Requests run under ctx; waiting for
// a turn or a retry ends when stopCtx is done.
func (r *run) sendOne(ctx, stopCtx context.Context, j job) (settledJob, error) {
	s := settledJob{job: j}
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = r.opts.InitialBackoff
	bo.MaxInterval = r.opts.MaxBackoff
	bo.MaxElapsedTime = 0
	bo.Reset()
	for attempt := 1; ; attempt++ {
		if err := r.gate.wait(stopCtx); err != nil {
			return s, err
		}
		sent := time.Now()
		err := r.sender.UpsertUser(ctx, j.change.Body)
		s.requests++
		class := sprig.Classify(err)
		if class != sprig.NetworkError && class != sprig.Canceled {
			r.gate.reachable()
		}
		switch class {
		case sprig.Accepted:
			r.opts.Account.accepted()
			s.outcome = state.Outcome{Index: j.index, Result: state.Accepted,
				Key: j.change.Key, Fingerprint: j.change.Fingerprint}
			return s, nil
		case sprig.Rejected:
			var apiErr *sprig.APIError
			errors.As(err, &apiErr)
			s.outcome = state.Outcome{Index: j.index, Result: state.Rejected,
				Key: j.change.Key, Fingerprint: j.change.Fingerprint,
				Status: apiErr.StatusCode, UserID: j.change.UserID,
				Reason: Redact(apiErr.Message, j.change.Body)}
			return s, nil
		case sprig.AuthFailed:
			return s, fmt.Errorf("%w: %w", ErrAuth, err)
		case sprig.Canceled:
			return s, context.Cause(ctx)
		}

		// Retry a rate limit, a server error or a network error.
		switch class {
		case sprig.RateLimited:
			s.retries.RateLimited++
		case sprig.ServerError:
			s.retries.ServerError++
		default:
			s.retries.Network++
		}
		if attempt >= r.opts.MaxAttempts {
			return s, fmt.Errorf("%w: user %q failed %d times, last: %w",
				ErrGaveUp, j.change.UserID, attempt, err)
		}
		delay := bo.NextBackOff()
		var apiErr *sprig.APIError
		if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
			delay = apiErr.RetryAfter
		}
		switch class {
		case sprig.RateLimited:
			// Sprig's limit is per account: every sender of the batch waits,
			// and the batch slows down until requests succeed again.
			r.opts.Account.rateLimited(delay, sent)
		case sprig.NetworkError:
			// Every sender waits while Sprig is unreachable; the gate lets
			// one probe through per backoff step.
			r.gate.unreachable()
		default:
			if err := sleep(stopCtx, delay); err != nil {
				return s, err
			}
		}
	}
}

// String formats the duration as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }
