package delivery

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// paced is what a pacer that always wakes on time hands out.
type paced struct {
	Turns   int // turns handed out
	Wakes   int // boundaries at which the pacer woke
	Largest int // the maximum of turns handed out at one boundary
}

// pacePromptly runs the pacer's arithmetic for the ticks after boundary 0,
// as if every sleep ended exactly at the boundary it aimed at.
func pacePromptly(perSecond float64, ticks int64) paced {
	perTick := perSecond * tick.Seconds()
	var p paced
	c := credit{}
	for now := int64(0); ; {
		due := c.due(now, perTick)
		if due > ticks {
			return p
		}
		n := c.earn(due, perTick)
		now = due
		p.Turns += n
		p.Wakes++
		p.Largest = max(p.Largest, n)
	}
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
		// The four batches of a run at 1,000 requests per second: the
		// carried parts of a turn add up to a second turn every fourth
		// tick, so nothing is lost.
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
		got := pacePromptly(tt.perSecond, tt.ticks)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%v per second over %d ticks (-want +got):\n%s", tt.perSecond, tt.ticks, diff)
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
	}{
		{"on time", 1000, 0, 1, 5},
		{"100 ticks late", 1000, 0, 100, 6},
		{"late, with a part carried", 250, 0.75, 40, 2},
		{"one tick, with a part carried", 250, 0.75, 1, 2},
		{"slow rate, long sleep", 1, 0, 1000, 1},
	}
	for _, tt := range tests {
		c := credit{turns: tt.carried, last: 7}
		if got := c.earn(7+tt.ticks, tt.perSecond*tick.Seconds()); got != tt.want {
			t.Errorf("%s: earned %d turns, want %d", tt.name, got, tt.want)
		}
	}
}
