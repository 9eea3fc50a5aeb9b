package usergen_test

import (
	"fmt"
	"io"
	"log"

	"github.com/sprigsync/sprigsync/usergen"
)

// A second snapshot of a 1,000-user table, with 1% of the users changed
// and 0.2% added and removed.
func ExampleWriteNext() {
	base := usergen.Options{Rows: 1_000, Seed: 1}
	changes := usergen.Changes{ChangedShare: 0.01, AddedShare: 0.002, RemovedShare: 0.002, Seed: 1}
	s, err := usergen.WriteNext(io.Discard, base, changes)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("rows:", s.Rows)
	fmt.Println("changed:", len(s.Changed), "added:", s.Added, "removed:", s.Removed)
	fmt.Println("first change:", s.Changed[0], s.ChangedColumn[s.Changed[0]])
	// Output:
	// rows: 1000
	// changed: 10 added: [1001000 1001001] removed: [1000927 1000985]
	// first change: 1000017 seats
}
