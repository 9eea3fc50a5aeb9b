package delivery

import (
	"context"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"golang.org/x/time/rate"
)

// gate decides when the senders of one batch may send their next request.
// It paces requests to the batch's rate and pauses every sender after a 429.
// While Sprig is unreachable it lets one probe request through at a time,
// with exponential backoff between probes, so an outage costs one attempt
// per backoff step instead of one per sender.
type gate struct {
	full    rate.Limit
	limiter *rate.Limiter

	mu      sync.Mutex
	until   time.Time     // no request starts before this time
	down    bool          // the last request found Sprig unreachable
	probing bool          // a probe request is in flight while down
	changed chan struct{} // closed when down or probing changes
	outage  *backoff.ExponentialBackOff
}

func newGate(perSecond float64, initial, max time.Duration) *gate {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval, bo.MaxElapsedTime = initial, max, 0
	bo.Reset()
	// A burst of 1 means a full bucket never sends a burst above the rate,
	// at the start of a batch or after a pause.
	return &gate{full: rate.Limit(perSecond), limiter: rate.NewLimiter(rate.Limit(perSecond), 1),
		changed: make(chan struct{}), outage: bo}
}

// wait blocks until the caller may send a request: after any pause, after
// the probe in flight while Sprig is unreachable, and at the pacer's rate.
func (g *gate) wait(ctx context.Context) error {
	for {
		g.mu.Lock()
		pause := time.Until(g.until)
		changed := g.changed
		blocked := g.down && g.probing
		if pause <= 0 && !blocked && g.down {
			g.probing = true
		}
		g.mu.Unlock()

		switch {
		case pause > 0:
			if err := sleep(ctx, pause); err != nil {
				return err
			}
			continue
		case blocked:
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-changed:
			}
			continue
		}
		if err := g.limiter.Wait(ctx); err != nil {
			if cause := context.Cause(ctx); cause != nil {
				return cause
			}
			return err
		}
		return nil
	}
}

// reachable records that Sprig returned a response, so the outage, if any,
// is over.
func (g *gate) reachable() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.down || g.probing {
		g.down, g.probing = false, false
		g.outage.Reset()
		g.notify()
	}
}

// unreachable records a network error and pauses every sender for the next
// step of the outage backoff.
func (g *gate) unreachable() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.down || g.probing {
		g.pauseLocked(g.outage.NextBackOff())
	}
	g.down, g.probing = true, false
	g.notify()
}

// rateLimited pauses every sender for d and halves the pace, down to one
// request per second.
func (g *gate) rateLimited(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pauseLocked(d)
	g.limiter.SetLimit(max(g.limiter.Limit()/2, 1))
}

// accepted gives back a hundredth of the full rate after a 429 slowed the
// pace, so the pace settles just under a limit that Sprig enforces below
// the configured rate.
func (g *gate) accepted() {
	if g.limiter.Limit() >= g.full {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.limiter.SetLimit(min(g.full, g.limiter.Limit()+g.full/100))
}

func (g *gate) pauseLocked(d time.Duration) {
	if until := time.Now().Add(d); until.After(g.until) {
		g.until = until
	}
}

func (g *gate) notify() {
	close(g.changed)
	g.changed = make(chan struct{})
}

func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-timer.C:
		return nil
	}
}
