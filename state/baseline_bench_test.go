package state

import (
	"fmt"
	"testing"
)

// BenchmarkFind looks up every key of a 10,000,000-user baseline in a
// shuffled order, as the planner does for a snapshot in arbitrary order.
func BenchmarkFind(b *testing.B) {
	const n = 10_000_000
	entries := make([]Entry, n)
	keys := make([]Key, n)
	for i := range entries {
		k := KeyOf(fmt.Sprint(i))
		entries[i] = Entry{Key: k, Fingerprint: Fingerprint(i)}
		keys[i] = k
	}
	base, err := NewBaseline(entries)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	found := 0
	for i := 0; i < b.N; i++ {
		if _, ok := base.Find(keys[i%n]); ok {
			found++
		}
	}
	if found != b.N {
		b.Fatalf("found %d of %d keys", found, b.N)
	}
}
