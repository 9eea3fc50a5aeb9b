package delivery

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// gate decides when the senders of one batch may send their next request.
// It paces requests to the batch's rate and pauses every sender after a 429.
// While Sprig is unreachable it lets one probe request through at a time,
// with exponential backoff between probes, so an outage costs one attempt
// per backoff step instead of one per sender.
//
// A pacer goroutine hands out turns at tick boundaries. Every gate in the
// process uses the same boundaries, so the batches that one worker sends
// side by side start their requests at the same moments. Each batch takes
// its turns at its own phase, so together they send the same number of
// requests at every boundary.
type gate struct {
	full  float64       // the batch's rate, requests per second
	phase float64       // the part of a turn, 0 to 1, the batch is ahead
	turns chan struct{} // the pacer sends one value per request
	stop  context.CancelFunc

	mu      sync.Mutex
	limit   float64       // the current rate: full, or less after a 429
	slowed  time.Time     // when a 429 last lowered the rate
	until   time.Time     // no request starts before this time
	down    bool          // the last request found Sprig unreachable
	probing bool          // a probe request is in flight while down
	changed chan struct{} // closed when down or probing changes
	outage  *backoff.ExponentialBackOff
}

// newGate starts the gate of a batch that sends perSecond requests per
// second, in place slot of slots batches that send side by side.
func newGate(perSecond float64, slot, slots int, initial, max time.Duration) *gate {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval, bo.MaxElapsedTime = initial, max, 0
	bo.Reset()
	ctx, stop := context.WithCancel(context.Background())
	g := &gate{full: perSecond, limit: perSecond, turns: make(chan struct{}), stop: stop,
		changed: make(chan struct{}), outage: bo}
	if slots > 1 {
		g.phase = float64(slot%slots) / float64(slots)
	}
	go g.pace(ctx)
	return g
}

// tick is the spacing of the boundaries at which the pacer hands out
// turns. Waking the worker from idle costs more CPU time than the request
// it sends, so requests that start together share one wake-up. At 1,000
// requests per second, five requests every 5 ms instead of one every
// millisecond cut the worker's CPU time from about 190 to 110 ms per
// 1,000 requests (docs/benchmarks.md).
//
// NOTE: Sprig states its limit per second and not how many requests it
// takes at once. A limiter that took fewer than five would reject some
// with 429, and the gate would then slow down: slower, but no user lost.
const tick = 5 * time.Millisecond

// pace hands out turns until ctx ends. A turn goes to a waiting sender.
// While every sender is busy the pacer waits, and the credit's cap keeps it
// from saving up a burst. During a pause it hands out nothing and earns
// nothing.
func (g *gate) pace(ctx context.Context) {
	g.mu.Lock()
	c := newCredit(boundary(time.Now()), g.limit*tick.Seconds(), g.phase)
	g.mu.Unlock()
	for {
		g.mu.Lock()
		perTick := g.limit * tick.Seconds()
		until := g.until
		g.mu.Unlock()
		now := time.Now()
		if now.Before(until) {
			if err := sleep(ctx, until.Sub(now)); err != nil {
				return
			}
			c.restart(boundary(time.Now()))
			continue
		}
		due := c.due(boundary(now), perTick)
		if err := sleep(ctx, time.Duration(due*int64(tick)-now.UnixNano())); err != nil {
			return
		}
		for range c.earn(max(boundary(time.Now()), due), perTick) {
			if g.paused() {
				break
			}
			select {
			case g.turns <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// paused reports whether a pause is in force.
func (g *gate) paused() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return time.Now().Before(g.until)
}

// boundary is the number of the last tick boundary at or before t, counted
// from the Unix epoch.
func boundary(t time.Time) int64 { return t.UnixNano() / int64(tick) }

// credit counts the turns a pacer has earned and not yet handed out, whole
// and in part, at perTick turns per tick.
type credit struct {
	turns float64
	last  int64 // the boundary up to which turns are counted
}

// newCredit starts the count at boundary b. It starts with the part of a
// turn that a pacer at phase, counting from the Unix epoch, would have
// carried at b. Pacers at phases 0, 1/4, 2/4 and 3/4 so earn their turns
// at evenly spread boundaries wherever they start.
func newCredit(b int64, perTick, phase float64) credit {
	t := perTick*float64(b) + phase
	return credit{turns: t - math.Floor(t), last: b}
}

// restart drops the whole turns and counts from boundary b, keeping the
// part of a turn and so the pacer's phase.
func (c *credit) restart(b int64) {
	c.turns -= math.Floor(c.turns)
	c.last = b
}

// due returns the first boundary after now at which a whole turn is earned.
func (c *credit) due(now int64, perTick float64) int64 {
	return max(now+1, c.last+max(1, int64(math.Ceil((1-c.turns)/perTick))))
}

// earn counts the turns earned up to boundary b and returns the whole ones,
// to hand out now. It returns at most one tick's worth plus one turn and
// keeps the part of a turn. A pacer that waited for busy senders, or woke
// late, so hands out no burst, and one that kept up loses nothing.
func (c *credit) earn(b int64, perTick float64) int {
	t := c.turns + perTick*float64(b-c.last)
	whole := math.Floor(t)
	c.turns = t - whole
	c.last = b
	return int(min(whole, math.Floor(perTick)+1))
}

// close stops the pacer.
func (g *gate) close() { g.stop() }

// wait blocks until the caller may send a request: after any pause, after
// the probe in flight while Sprig is unreachable, and at the pacer's rate.
func (g *gate) wait(ctx context.Context) error {
	for {
		g.mu.Lock()
		pause := time.Until(g.until)
		changed := g.changed
		blocked := g.down && g.probing
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
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-g.turns:
		}

		// While this sender waited for its turn, a 429 may have paused
		// every sender, or another sender may have become the probe.
		g.mu.Lock()
		pause = time.Until(g.until)
		blocked = g.down && g.probing
		if pause <= 0 && !blocked && g.down {
			g.probing = true
		}
		g.mu.Unlock()
		if pause <= 0 && !blocked {
			return nil
		}
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
// request per second or the full rate if that is lower. A 429 to a request
// sent before the last halving does not halve it again: the requests in
// flight when the limit was hit carry no news about the halved rate.
func (g *gate) rateLimited(d time.Duration, sent time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pauseLocked(d)
	if sent.After(g.slowed) {
		g.limit = max(g.limit/2, min(1, g.full))
		g.slowed = time.Now()
	}
}

// accepted gives back a hundredth of the full rate after a 429 slowed the
// pace, so the pace settles just under a limit that Sprig enforces below
// the configured rate.
func (g *gate) accepted() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.limit = min(g.full, g.limit+g.full/100)
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
