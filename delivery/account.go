package delivery

import (
	"sync"
	"time"
)

const (
	// spacedFor is how long requests stay evenly spaced after a 429.
	spacedFor = 10 * time.Minute
	// minShare is the lowest share of its rate that a batch keeps after
	// 429s: six halvings.
	minShare = 1.0 / 64
	// shareStep is how much of its rate a batch gets back per second
	// above nine tenths of the share where the last 429 came. Below that
	// it gets back ten steps per second.
	shareStep = 0.01
)

// Account is the state that the batches sending with one API key in one
// process share, because Sprig's rate limit is per account. A 429 to one
// batch pauses every batch and halves the share of its rate that each
// sends. From the end of the pause the share comes back, quickly up to
// nine tenths of where the 429 came and slowly above, so that it settles
// just under a limit that Sprig enforces below the configured rate. After a 429, and for spacedFor
// after the last one, each batch also sends its requests one at a time,
// evenly spaced, instead of several per tick, in case Sprig's limiter
// takes no bursts.
//
// The zero value is ready to use, and an Account must not be copied after
// first use.
type Account struct {
	mu          sync.Mutex
	until       time.Time // no request starts before this time
	lastLimited time.Time // when the last 429 came
	reduced     bool      // share is below 1
	share       float64   // the share of its rate each batch sends, when reduced
	ceiling     float64   // the share at which the last halving came
	slowed      time.Time // when the share was last halved
	raised      time.Time // when the share was last raised
}

// pause stops every batch of the account for d.
func (a *Account) pause(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pauseLocked(d)
}

func (a *Account) pauseLocked(d time.Duration) {
	if until := time.Now().Add(d); until.After(a.until) {
		a.until = until
	}
}

// rateLimited records a 429 to a request sent at sent. It pauses every
// batch for d and halves the share, unless the request was sent before
// the last halving: the requests in flight when the limit was hit carry no
// news about the halved rate.
func (a *Account) rateLimited(d time.Duration, sent time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pauseLocked(d)
	now := time.Now()
	a.lastLimited = now
	if !sent.After(a.slowed) {
		return
	}
	share := a.shareLocked()
	a.reduced, a.ceiling = true, share
	a.share = max(share/2, minShare)
	// The pause does not count as time to recover in.
	a.slowed, a.raised = now, a.until
}

// accepted records an accepted request and gives back part of the share
// after a 429 reduced it, in proportion to the time since the last one.
func (a *Account) accepted() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.reduced {
		return
	}
	now := time.Now()
	elapsed := now.Sub(a.raised).Seconds()
	if elapsed <= 0 {
		return // a request in flight during the pause
	}
	if knee := 0.9 * a.ceiling; a.share < knee {
		a.share = min(knee, a.share+10*shareStep*elapsed)
	} else {
		a.share += shareStep * elapsed
	}
	a.raised = now
	if a.share >= 1 {
		a.reduced = false
	}
}

// rateShare returns the share of its rate that each batch sends now.
func (a *Account) rateShare() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.shareLocked()
}

func (a *Account) shareLocked() float64 {
	if !a.reduced {
		return 1
	}
	return a.share
}

// pausedUntil returns the end of the pause, in the past when there is none.
func (a *Account) pausedUntil() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.until
}

// spaced reports whether requests must be spaced evenly: a 429 came less
// than spacedFor ago.
func (a *Account) spaced() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.lastLimited.IsZero() && time.Since(a.lastLimited) < spacedFor
}
