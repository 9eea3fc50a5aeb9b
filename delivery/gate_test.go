package delivery

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// paced is what a pacer that always wakes on time hands out.
type paced struct {
	Turns   int // turns handed out
	Wakes   int // boundaries at which the pacer woke
	Largest int // the maximum of turns handed out at one boundary
}

// pacePromptly runs the pacer's arithmetic from boundary origin+start to
// boundary origin+end, as if every sleep ended exactly at the boundary it
// aimed at. It returns the turns handed out at each boundary, indexed from
// origin.
func pacePromptly(perSecond, phase float64, origin, start, end int64) []int {
	perTick := perSecond * tick.Seconds()
	turns := make([]int, end)
	c := newCredit(origin+start, perTick, phase)
	for now := origin + start; ; {
		due := c.due(now, perTick)
		if due >= origin+end {
			return turns
		}
		turns[due-origin] += c.earn(due, perTick)
		now = due
	}
}

func summarize(turns []int) paced {
	var p paced
	for _, n := range turns {
		if n > 0 {
			p.Turns += n
			p.Wakes++
			p.Largest = max(p.Largest, n)
		}
	}
	return p
}

func TestPacerKeepsTheRate(t *testing.T) {
	second := int64(200) // ticks of 5 ms
	tests := []struct {
		perSecond float64
		ticks     int64
		want      paced
	}{
		// Five turns per tick, handed out together.
		{1000, second, paced{Turns: 1000, Wakes: 200, Largest: 5}},
		// One of four batches at 1,000 requests per second: the carried
		// parts of a turn add up to a second turn every fourth tick, so
		// nothing is lost.
		{250, second, paced{Turns: 250, Wakes: 200, Largest: 2}},
		{333, second, paced{Turns: 333, Wakes: 200, Largest: 2}},
		{100_000, second, paced{Turns: 100_000, Wakes: 200, Largest: 500}},
		// Below one turn per tick the pacer sleeps until a turn is due
		// instead of waking at every boundary.
		{10, second, paced{Turns: 10, Wakes: 10, Largest: 1}},
		{1, 10 * second, paced{Turns: 10, Wakes: 10, Largest: 1}},
		{0.5, 10 * second, paced{Turns: 5, Wakes: 5, Largest: 1}},
	}
	for _, tt := range tests {
		got := summarize(pacePromptly(tt.perSecond, 0, 0, 0, tt.ticks+1))
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%v per second over %d ticks (-want +got):\n%s", tt.perSecond, tt.ticks, diff)
		}
	}
}

// TestPacerSlotsSpreadTurns runs four batches at a quarter of a rate each,
// in slots 0 to 3, started at different boundaries. Together they must hand
// out the same turns at every boundary as one batch at the whole rate.
func TestPacerSlotsSpreadTurns(t *testing.T) {
	tests := []struct {
		perSecond float64 // the whole rate
		ticks     int64
		want      []int // turns at each boundary, repeating from boundary 0
	}{
		{1000, 1000, []int{5}},
		{100, 1000, []int{1, 0}},
		// One request per second over four batches: one turn every 200
		// boundaries, not four at once every 800.
		{1, 4000, append([]int{1}, make([]int, 199)...)},
	}
	starts := []int64{0, 3, 1, 7} // where each slot's batch starts
	// Small boundary numbers, and those of spaced ticks after a year of
	// uptime, where rounding could put turns a tick late.
	origins := []int64{0, int64(365*24*time.Hour/spacedTick) + 13}
	for _, tt := range tests {
		for _, origin := range origins {
			total := make([]int, tt.ticks)
			for slot, start := range starts {
				for b, n := range pacePromptly(tt.perSecond/4, float64(slot)/4, origin, start, tt.ticks) {
					total[b] += n
				}
			}
			checkTurns(t, tt.perSecond, origin, total, tt.want)
		}
	}
}

// checkTurns compares total, the turns at each boundary from origin, with
// the repeating pattern want, from boundary 800 on, when every slot has
// started and had time for its first turn.
func checkTurns(t *testing.T, perSecond float64, origin int64, total []int, want []int) {
	t.Helper()
	if len(total) <= 800 {
		t.Fatalf("%v per second: %d ticks leave nothing to compare", perSecond, len(total))
	}
	for b := 800; b < len(total); b++ {
		// The pattern repeats from boundary 0 of the Unix epoch.
		if w := want[(origin+int64(b))%int64(len(want))]; total[b] != w {
			t.Errorf("%v per second from boundary %d: boundary %d has %d turns, want %d",
				perSecond, origin, b, total[b], w)
			return
		}
	}
}

func TestPacerSavesNoBurst(t *testing.T) {
	tests := []struct {
		name      string
		perSecond float64
		carried   float64 // part of a turn carried over
		ticks     int64   // ticks since the last boundary counted
		want      int
		wantLeft  float64 // part of a turn carried on
	}{
		{"on time", 1000, 0, 1, 5, 0},
		{"100 ticks late", 1000, 0, 100, 6, 0},
		{"late, with a part carried", 250, 0.75, 40, 2, 0.75},
		{"one tick, with a part carried", 250, 0.75, 1, 2, 0},
		{"slow rate, long sleep", 1, 0, 1000, 1, 0},
	}
	for _, tt := range tests {
		c := credit{turns: tt.carried, last: 7}
		if got := c.earn(7+tt.ticks, tt.perSecond*tick.Seconds()); got != tt.want {
			t.Errorf("%s: earned %d turns, want %d", tt.name, got, tt.want)
		}
		if c.turns != tt.wantLeft {
			t.Errorf("%s: %v of a turn left, want %v", tt.name, c.turns, tt.wantLeft)
		}
	}
}

// TestAccountHalvesOncePer429 checks that the 429s of requests sent before
// the share was halved do not halve it again, and the share's floor.
func TestAccountHalvesOncePer429(t *testing.T) {
	tests := []struct {
		name      string
		sentLater []bool // for each 429: was its request sent after the last halving?
		want      float64
	}{
		{"one 429", []bool{true}, 0.5},
		{"five 429s in flight together", []bool{true, false, false, false, false}, 0.5},
		{"a second 429 after the halving", []bool{true, false, true}, 0.25},
		{"floor of a 64th", []bool{true, true, true, true, true, true, true, true}, 1.0 / 64},
	}
	for _, tt := range tests {
		var a Account
		before := time.Now()
		for _, later := range tt.sentLater {
			sent := before
			if later {
				time.Sleep(time.Millisecond) // after the last halving's time
				sent = time.Now()
			}
			a.rateLimited(0, sent)
		}
		if got := a.rateShare(); got != tt.want {
			t.Errorf("%s: share %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestAccountRecoversShare checks that the share comes back with time from
// the end of the pause, ten steps a second up to nine tenths of where the
// 429 came and one step a second above, however many requests are
// accepted.
func TestAccountRecoversShare(t *testing.T) {
	var a Account
	a.rateLimited(3*time.Second, time.Now())
	a.accepted() // a request in flight when the 429 came
	if got := a.rateShare(); got != 0.5 {
		t.Fatalf("share during the pause %v, want 0.5", got)
	}

	steps := []struct {
		name     string
		elapsed  time.Duration // since the last raise
		accepted int           // requests accepted at once
		want     float64
	}{
		{"40 requests at once", time.Millisecond, 40, 0.501},
		{"2 s later", 2 * time.Second, 1, 0.701},
		{"5 s later, capped at nine tenths", 5 * time.Second, 1, 0.9},
		{"5 s later, one step a second", 5 * time.Second, 1, 0.95},
		{"10 s later", 10 * time.Second, 1, 1},
	}
	for _, st := range steps {
		a.raised = time.Now().Add(-st.elapsed)
		for range st.accepted {
			a.accepted()
		}
		if got := a.rateShare(); math.Abs(got-st.want) > 1e-3 {
			t.Fatalf("%s: share %v, want %v", st.name, got, st.want)
		}
	}
}

// TestGateWaitsOutPause checks that no sender gets a turn during a pause,
// including the senders already waiting for one when the 429 came.
func TestGateWaitsOutPause(t *testing.T) {
	g := newGate(1000, 0, 1, &Account{}, time.Millisecond, time.Millisecond)
	defer g.close()
	ctx := context.Background()
	const senders = 8
	turns := make(chan time.Time, senders)
	paused := make(chan time.Time)
	for range senders {
		go func() {
			<-paused
			if err := g.wait(ctx); err != nil {
				t.Error(err)
			}
			turns <- time.Now()
		}()
	}
	start := time.Now()
	g.account.rateLimited(300*time.Millisecond, start)
	close(paused)
	for range senders {
		if got := (<-turns).Sub(start); got < 300*time.Millisecond {
			t.Errorf("a sender got its turn %s after a pause of 300ms began", got)
		}
	}
}

func TestGatePhaseOfSlot(t *testing.T) {
	tests := []struct {
		slot, slots int
		want        float64
	}{
		{0, 0, 0},
		{0, 1, 0},
		{2, 4, 0.5},
		{3, 4, 0.75},
		{5, 4, 0.25},
	}
	for _, tt := range tests {
		g := newGate(250, tt.slot, tt.slots, &Account{}, time.Millisecond, time.Millisecond)
		g.close()
		if g.phase != tt.want {
			t.Errorf("slot %d of %d: phase %v, want %v", tt.slot, tt.slots, g.phase, tt.want)
		}
	}
}

// TestAccountPausesEveryBatch checks that a 429 to one batch pauses the
// other batches of the account too.
func TestAccountPausesEveryBatch(t *testing.T) {
	account := &Account{}
	limited := newGate(1000, 0, 2, account, time.Millisecond, time.Millisecond)
	other := newGate(1000, 1, 2, account, time.Millisecond, time.Millisecond)
	defer limited.close()
	defer other.close()
	start := time.Now()
	account.rateLimited(200*time.Millisecond, start)
	if err := other.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := time.Since(start); got < 200*time.Millisecond {
		t.Errorf("the other batch got a turn %s into a pause of 200ms", got)
	}
}

func TestAccountSpacesAfter429(t *testing.T) {
	var a Account
	if a.spaced() {
		t.Error("spaced before any 429")
	}
	a.rateLimited(0, time.Now())
	if !a.spaced() {
		t.Error("not spaced right after a 429")
	}
	a.lastLimited = time.Now().Add(-spacedFor - time.Second)
	if a.spaced() {
		t.Errorf("still spaced %s after the last 429", spacedFor+time.Second)
	}
}
