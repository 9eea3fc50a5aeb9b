package usergen

import (
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeSnapshots writes the base table and its second snapshot into a
// temporary directory and returns both paths and the Summary.
func writeSnapshots(t *testing.T, base Options, ch Changes) (string, string, Summary) {
	t.Helper()
	dir := t.TempDir()
	first := filepath.Join(dir, "users-1.parquet")
	second := filepath.Join(dir, "users-2.parquet")
	if err := WriteFile(first, base); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	s, err := WriteNextFile(second, base, ch)
	if err != nil {
		t.Fatalf("WriteNextFile(%+v, %+v): %v", base, ch, err)
	}
	return first, second, s
}

// observedSummary derives a Summary from what mapping.Scan reads from the
// two snapshots: removed and added ids by set difference, changed ids by
// different bodies, the changed column by the one JSON key whose value
// differs.
func observedSummary(t *testing.T, before, after []scannedUser) Summary {
	t.Helper()
	old := make(map[string]string, len(before))
	for _, u := range before {
		old[u.ID] = u.Body
	}
	s := Summary{
		Rows:          len(after),
		Changed:       []int64{},
		Added:         []int64{},
		Removed:       []int64{},
		ChangedColumn: map[int64]string{},
	}
	seen := make(map[string]bool, len(after))
	for _, u := range after {
		seen[u.ID] = true
		id, err := strconv.ParseInt(u.ID, 10, 64)
		if err != nil {
			t.Fatalf("user id %q is not an integer: %v", u.ID, err)
		}
		body, existed := old[u.ID]
		switch {
		case !existed:
			s.Added = append(s.Added, id)
		case body != u.Body:
			s.Changed = append(s.Changed, id)
			s.ChangedColumn[id] = changedKey(t, body, u.Body)
		}
	}
	for _, u := range before {
		if !seen[u.ID] {
			id, _ := strconv.ParseInt(u.ID, 10, 64)
			s.Removed = append(s.Removed, id)
		}
	}
	slices.Sort(s.Changed)
	slices.Sort(s.Added)
	slices.Sort(s.Removed)
	return s
}

// changedKey returns the column of the one key whose value differs between
// two bodies, with "emailAddress" standing for the email column. When no
// key or several keys differ, it returns both bodies in brackets, a text
// that no Summary holds.
func changedKey(t *testing.T, before, after string) string {
	t.Helper()
	flat := func(body string) map[string]string {
		var b struct {
			UserID       string                     `json:"userId"`
			EmailAddress *string                    `json:"emailAddress"`
			Attributes   map[string]json.RawMessage `json:"attributes"`
		}
		if err := json.Unmarshal([]byte(body), &b); err != nil {
			t.Fatalf("body %s is not valid JSON: %v", body, err)
		}
		m := map[string]string{}
		if b.EmailAddress != nil {
			m[ColEmail] = *b.EmailAddress
		}
		for k, v := range b.Attributes {
			m[k] = string(v)
		}
		return m
	}
	a, b := flat(before), flat(after)
	var keys []string
	for k := range a {
		if b[k] != a[k] {
			keys = append(keys, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 1 {
		return keys[0]
	}
	slices.Sort(keys)
	return "[" + strconv.Quote(before) + " -> " + strconv.Quote(after) + "]"
}

// TestWriteNextDemo pins the second snapshot of the demo files (500 users,
// seed 1) and checks its Summary against what mapping.Scan reads.
func TestWriteNextDemo(t *testing.T) {
	base := Options{Rows: 500, Seed: 1}
	ch := Changes{ChangedShare: 0.02, AddedShare: 0.006, RemovedShare: 0.004, Seed: 1}
	first, second, got := writeSnapshots(t, base, ch)

	want := Summary{
		Rows: 501,
		Changed: []int64{1000017, 1000018, 1000054, 1000083, 1000212, 1000327, 1000379, 1000408,
			1000424, 1000439},
		Added:   []int64{1000500, 1000501, 1000502},
		Removed: []int64{1000010, 1000190},
		ChangedColumn: map[int64]string{
			1000017: ColSeats, 1000018: ColIsAdmin, 1000054: ColPlan, 1000083: ColLastSeenDate,
			1000212: ColIsAdmin, 1000327: ColUTMSource, 1000379: ColDisplayName, 1000408: ColPlan,
			1000424: ColMRR, 1000439: ColUTMSource,
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Summary (-want +got):\n%s", diff)
	}

	observed := observedSummary(t, scanUsers(t, first), scanUsers(t, second))
	if diff := cmp.Diff(got, observed); diff != "" {
		t.Errorf("Summary against what mapping.Scan reads (-summary +read):\n%s", diff)
	}
}

// TestWriteNext checks the Summary of several change sets against what
// mapping.Scan reads, and the order of the rows.
func TestWriteNext(t *testing.T) {
	rows := 100_000
	if testing.Short() {
		rows = 4_000
	}
	tests := []struct {
		name                    string
		base                    Options
		ch                      Changes
		changed, added, removed int
	}{
		{"typical", Options{Rows: rows, Seed: 11},
			Changes{ChangedShare: 0.01, AddedShare: 0.001, RemovedShare: 0.001, Seed: 5},
			rows / 100, rows / 1000, rows / 1000},
		{"row groups", Options{Rows: 3_000, Seed: 12, RowGroupRows: 700, Compression: "zstd"},
			Changes{ChangedShare: 0.05, AddedShare: 0.5, RemovedShare: 0.1, Seed: 6},
			150, 1_500, 300},
		{"no changes", Options{Rows: 1_000, Seed: 13}, Changes{Seed: 7}, 0, 0, 0},
		{"all changed", Options{Rows: 300, Seed: 14}, Changes{ChangedShare: 1, Seed: 8}, 300, 0, 0},
		{"all removed", Options{Rows: 300, Seed: 15},
			Changes{RemovedShare: 1, AddedShare: 0.1, Seed: 9}, 0, 30, 300},
		{"rounded", Options{Rows: 7, Seed: 16},
			Changes{ChangedShare: 0.5, RemovedShare: 0.5, AddedShare: 0.2, Seed: 10}, 4, 1, 3},
		{"empty base", Options{Rows: 0, Seed: 17},
			Changes{ChangedShare: 0.5, AddedShare: 0.5, RemovedShare: 0.5, Seed: 11}, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, second, got := writeSnapshots(t, tt.base, tt.ch)
			counts := [3]int{len(got.Changed), len(got.Added), len(got.Removed)}
			if want := [3]int{tt.changed, tt.added, tt.removed}; counts != want {
				t.Errorf("changed, added, removed = %v, want %v", counts, want)
			}
			if want := tt.base.Rows - tt.removed + tt.added; got.Rows != want {
				t.Errorf("Rows = %d, want %d", got.Rows, want)
			}

			before, after := scanUsers(t, first), scanUsers(t, second)
			if diff := cmp.Diff(got, observedSummary(t, before, after)); diff != "" {
				t.Errorf("Summary against what mapping.Scan reads (-summary +read):\n%s", diff)
			}

			// Kept rows keep their order and added rows come last, in id order.
			removed := make(map[int64]bool, len(got.Removed))
			for _, id := range got.Removed {
				removed[id] = true
			}
			var wantIDs []string
			for row := range int64(tt.base.Rows) {
				if !removed[FirstUserID+row] {
					wantIDs = append(wantIDs, strconv.FormatInt(FirstUserID+row, 10))
				}
			}
			for _, id := range got.Added {
				wantIDs = append(wantIDs, strconv.FormatInt(id, 10))
			}
			var gotIDs []string
			for _, u := range after {
				gotIDs = append(gotIDs, u.ID)
			}
			if !slices.Equal(wantIDs, gotIDs) {
				t.Errorf("the second snapshot's user ids are not the kept ids in base order" +
					" followed by the added ids")
			}
		})
	}
}

// TestWriteNextDeterministic checks that equal inputs give byte-identical
// second snapshots and equal Summaries, and that the change seed matters.
func TestWriteNextDeterministic(t *testing.T) {
	base := Options{Rows: 5_000, Seed: 21}
	ch := Changes{ChangedShare: 0.01, AddedShare: 0.001, RemovedShare: 0.001, Seed: 3}
	var first, second, other bytes.Buffer
	s1, err := WriteNext(&first, base, ch)
	if err != nil {
		t.Fatalf("WriteNext: %v", err)
	}
	s2, err := WriteNext(&second, base, ch)
	if err != nil {
		t.Fatalf("WriteNext: %v", err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Errorf("two WriteNext calls differ (%d and %d bytes)", first.Len(), second.Len())
	}
	if diff := cmp.Diff(s1, s2); diff != "" {
		t.Errorf("Summaries of two calls differ (-first +second):\n%s", diff)
	}

	ch.Seed++
	s3, err := WriteNext(&other, base, ch)
	if err != nil {
		t.Fatalf("WriteNext: %v", err)
	}
	if slices.Equal(s1.Changed, s3.Changed) {
		t.Errorf("change seeds 3 and 4 changed the same users %v", s1.Changed)
	}
}

// TestChangesErrors checks that invalid shares are rejected with an error
// that names the value.
func TestChangesErrors(t *testing.T) {
	tests := []struct {
		name string
		ch   Changes
		want string
	}{
		{"negative", Changes{ChangedShare: -0.1},
			"invalid ChangedShare -0.1: a share must be a finite number of 0 or more"},
		{"infinite", Changes{AddedShare: math.Inf(1)},
			"invalid AddedShare +Inf: a share must be a finite number of 0 or more"},
		{"too many added", Changes{AddedShare: 1e12},
			"invalid AddedShare 1e+12: it adds 10000000000000 users to 10, more than the" +
				" 1099511627776 this generator supports; use a smaller share"},
		{"over one", Changes{ChangedShare: 0.7, RemovedShare: 0.4},
			"invalid ChangedShare 0.7 with RemovedShare 0.4: changed and removed users are" +
				" distinct, so the two shares must add up to at most 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := WriteNext(&buf, Options{Rows: 10}, tt.ch)
			if err == nil || err.Error() != tt.want {
				t.Errorf("WriteNext(%+v) = %v, want error %q", tt.ch, err, tt.want)
			}
			if buf.Len() != 0 {
				t.Errorf("WriteNext wrote %d bytes before failing", buf.Len())
			}
		})
	}
}

// TestPermutation checks that permutation is a bijection of [0, n).
func TestPermutation(t *testing.T) {
	for _, n := range []uint64{1, 2, 3, 4, 5, 15, 16, 17, 255, 256, 1000, 4097} {
		p := newPermutation(n, n*7)
		seen := make([]bool, n)
		for x := range n {
			y := p.at(x)
			if y >= n {
				t.Fatalf("n=%d: at(%d) = %d, outside [0, n)", n, x, y)
			}
			if seen[y] {
				t.Fatalf("n=%d: at(%d) = %d, which another input also gave", n, x, y)
			}
			seen[y] = true
		}
	}
}
