package delivery

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// gate decides when the senders of one batch may send their next request.
// It paces requests to the batch's rate, and it pauses them while its
// Account is paused after a 429. While Sprig is unreachable it lets one
// probe request through at a time, with exponential backoff between
// probes, so an outage costs one attempt per backoff step instead of one
// per sender.
//
// A pacer goroutine hands out turns at tick boundaries. Every gate in the
// process counts boundaries from the same origin, so the batches that one
// worker sends side by side start their requests at the same moments.
// Each batch takes its turns at its own phase, so together they send the
// same number of requests at every boundary. After a 429 the account's
// batches space their requests evenly instead (Account).
type gate struct {
	full    float64       // the batch's rate, requests per second
	phase   float64       // the part of a turn, 0 to 1, the batch is ahead
	account *Account      // pauses, shared with the account's other batches
	turns   chan struct{} // the pacer sends one value per request
	stop    context.CancelFunc

	mu      sync.Mutex
	down    bool          // the last request found Sprig unreachable
	probing bool          // a probe request is in flight while down
	changed chan struct{} // closed when down or probing changes
	outage  *backoff.ExponentialBackOff
}

// newGate starts the gate of a batch that sends perSecond requests per
// second, in place slot of slots batches that send side by side with
// account's API key.
func newGate(perSecond float64, slot, slots int, account *Account, initial, max time.Duration) *gate {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval, bo.MaxElapsedTime = initial, max, 0
	bo.Reset()
	ctx, stop := context.WithCancel(context.Background())
	g := &gate{full: perSecond, account: account, turns: make(chan struct{}),
		stop: stop, changed: make(chan struct{}), outage: bo}
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
// takes at once. After a 429 the batches space their requests evenly for a
// while (Account), in case its limiter takes no bursts.
const tick = 5 * time.Millisecond

// spacedTick is the tick after a 429, when the account's batches space
// their requests evenly: one turn per boundary at up to 4,000 requests per
// second per batch.
const spacedTick = 250 * time.Microsecond

// pace hands out turns until ctx ends. A turn goes to a waiting sender.
// While every sender is busy the pacer waits, and the credit's cap keeps it
// from saving up a burst. During a pause it hands out nothing and earns
// nothing.
func (g *gate) pace(ctx context.Context) {
	spaced := g.account.spaced()
	tk := tickOf(spaced)
	c := newCredit(boundary(time.Now(), tk), g.rate()*tk.Seconds(), g.phase)
	for {
		now := time.Now()
		if until := g.account.pausedUntil(); now.Before(until) {
			if err := sleep(ctx, until.Sub(now)); err != nil {
				return
			}
			c.restart(boundary(time.Now(), tk))
			if spaced {
				// The batches' rates changed at different moments
				// of their credit, so their phases are set again: a
				// batch in slot k of 4 starts k/4 of a turn short.
				c.turns = 1 - g.phase
			}
			continue
		}
		if s := g.account.spaced(); s != spaced {
			spaced, tk = s, tickOf(s)
			c = newCredit(boundary(now, tk), g.rate()*tk.Seconds(), g.phase)
		}
		perTick := g.rate() * tk.Seconds()
		due := c.due(boundary(now, tk), perTick)
		if err := sleep(ctx, origin.Add(time.Duration(due)*tk).Sub(now)); err != nil {
			return
		}
		if !g.hand(ctx, c.earn(max(boundary(time.Now(), tk), due), perTick)) {
			return
		}
	}
}

// tickOf returns the tick of the pacer, which is shorter while requests
// are spaced evenly.
func tickOf(spaced bool) time.Duration {
	if spaced {
		return spacedTick
	}
	return tick
}

// hand hands out n turns, fewer if a pause begins. It returns false when
// ctx ends.
func (g *gate) hand(ctx context.Context, n int) bool {
	for range n {
		if time.Now().Before(g.account.pausedUntil()) {
			return true
		}
		select {
		case g.turns <- struct{}{}:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// rate returns the batch's current rate: its full rate times the account's
// share.
func (g *gate) rate() float64 {
	return g.full * g.account.rateShare()
}

// origin is the start of the boundaries that the pacers of this process count,
// so that they all wake at the same moments.
var origin = time.Now()

// boundary is the number of the last boundary of ticks of tk at or before t,
// counted from origin.
func boundary(t time.Time, tk time.Duration) int64 { return int64(t.Sub(origin) / tk) }

// credit counts the turns a pacer has earned and not yet handed out, whole
// and in part, at perTick turns per tick.
type credit struct {
	turns float64
	last  int64 // the boundary up to which turns are counted
}

// newCredit starts the count at boundary b. It starts with the part of a
// turn that a pacer at phase, counting from origin, would have carried at
// b. Pacers at phases 0, 1/4, 2/4 and 3/4 so earn their turns
// at evenly spread boundaries wherever they start.
func newCredit(b int64, perTick, phase float64) credit {
	t := perTick*float64(b) + phase
	return credit{turns: max(0, t-math.Floor(t+slack)), last: b}
}

// restart drops the whole turns and counts from boundary b, keeping the
// part of a turn and so the pacer's phase.
func (c *credit) restart(b int64) {
	c.turns -= math.Floor(c.turns)
	c.last = b
}

// slack is the rounding error, in turns, that the credit's arithmetic
// ignores. After a year of uptime the boundary numbers of spaced ticks take
// 37 bits, so the part of a turn that newCredit computes from them is off
// by up to about 1e-7. Without the slack a turn due exactly at a boundary,
// as at one request per second, could come one tick late and the next one
// tick early.
const slack = 1e-6

// due returns the first boundary after now at which a whole turn is earned.
func (c *credit) due(now int64, perTick float64) int64 {
	return max(now+1, c.last+max(1, int64(math.Ceil((1-c.turns-slack)/perTick))))
}

// earn counts the turns earned up to boundary b and returns the whole ones,
// to hand out now. It returns at most one tick's worth plus one turn and
// keeps the part of a turn. A pacer that waited for busy senders, or woke
// late, so hands out no burst, and one that kept up loses nothing.
func (c *credit) earn(b int64, perTick float64) int {
	t := c.turns + perTick*float64(b-c.last)
	whole := math.Floor(t + slack)
	c.turns = max(0, t-whole)
	c.last = b
	return int(min(whole, math.Floor(perTick)+1))
}

// close stops the pacer.
func (g *gate) close() { g.stop() }

// wait blocks until the caller may send a request: after any pause, after
// the probe in flight while Sprig is unreachable, and at the pacer's rate.
func (g *gate) wait(ctx context.Context) error {
	for {
		pause := time.Until(g.account.pausedUntil())
		g.mu.Lock()
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
		pause = time.Until(g.account.pausedUntil())
		g.mu.Lock()
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
		g.account.pause(g.outage.NextBackOff())
	}
	g.down, g.probing = true, false
	g.notify()
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
