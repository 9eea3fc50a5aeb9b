package state

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func newStore(t *testing.T) *Local {
	t.Helper()
	s, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func entriesFor(ids ...string) []Entry {
	var out []Entry
	for i, id := range ids {
		out = append(out, Entry{Key: KeyOf(id), Fingerprint: Fingerprint(i + 1)})
	}
	return out
}

func TestBaselineRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 7, 1000, 70_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			store := newStore(t)
			var entries []Entry
			for i := range n {
				entries = append(entries, Entry{Key: KeyOf(fmt.Sprint(i)), Fingerprint: Fingerprint(i)})
			}
			b, err := NewBaseline(append([]Entry(nil), entries...))
			if err != nil {
				t.Fatal(err)
			}
			if err := SaveBaseline(store, "s", b); err != nil {
				t.Fatal(err)
			}
			got, err := LoadBaseline(store, "s")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(b.Entries(), got.Entries(), cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("entries differ (-saved +loaded):\n%s", diff)
			}
			for _, e := range entries {
				i, ok := got.Find(e.Key)
				if !ok || got.Entries()[i] != e {
					t.Fatalf("Find(%v) = %d, %v; want entry %v", e.Key, i, ok, e)
				}
			}
			if _, ok := got.Find(KeyOf("absent")); ok {
				t.Fatal("Find of an absent key found it")
			}
		})
	}
}

func TestBaselineRejectsDamage(t *testing.T) {
	store := newStore(t)
	b, _ := NewBaseline(entriesFor("a", "b", "c"))
	if err := SaveBaseline(store, "s", b); err != nil {
		t.Fatal(err)
	}
	r, _ := store.Open(BaselineName("s"))
	data := make([]byte, r.Size())
	r.ReadAt(data, 0)
	r.Close()

	tests := []struct {
		name   string
		mutate func([]byte) []byte
		want   string
	}{
		{"flipped bit", func(d []byte) []byte { d[20] ^= 1; return d }, "baseline checksum does not match: the file is damaged"},
		{"truncated", func(d []byte) []byte { return d[:len(d)-5] }, "baseline header lists 3 entries but is 91 bytes"},
		{"short", func(d []byte) []byte { return d[:10] }, "baseline is 10 bytes, shorter than its header"},
		{"bad magic", func(d []byte) []byte { d[0] = 'X'; return d }, "baseline has an unknown format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := store.Create("damaged")
			w.Write(tc.mutate(append([]byte(nil), data...)))
			w.Commit()
			r, _ := store.Open("damaged")
			defer r.Close()
			_, err := ReadBaseline(r)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("ReadBaseline error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestBaselineDuplicateKey(t *testing.T) {
	_, err := NewBaseline(append(entriesFor("a", "b"), entriesFor("a")...))
	if err == nil {
		t.Fatal("NewBaseline accepted a repeated key")
	}
}

func TestMissingBaselineIsEmpty(t *testing.T) {
	b, err := LoadBaseline(newStore(t), "never")
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 0 {
		t.Fatalf("Len = %d, want 0", b.Len())
	}
}

func TestChangesetRanges(t *testing.T) {
	store := newStore(t)
	w, err := NewChangesetWriter(store, "cs")
	if err != nil {
		t.Fatal(err)
	}
	var want []Change
	for i := range 25 {
		c := Change{Key: KeyOf(fmt.Sprint(i)), Fingerprint: Fingerprint(i * 7),
			UserID: fmt.Sprint(i), Body: []byte(fmt.Sprintf(`{"userId":"%d"}`, i))}
		want = append(want, c)
		if err := w.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]int{{0, 25}, {0, 1}, {24, 25}, {5, 13}, {10, 10}} {
		var got []Change
		var idx []int
		err := ReadChanges(store, "cs", r[0], r[1], func(i int, c *Change) error {
			cp := *c
			cp.Body = append([]byte(nil), c.Body...)
			got = append(got, cp)
			idx = append(idx, i)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want[r[0]:r[1]], got, cmp.Comparer(func(a, b []byte) bool {
			return string(a) == string(b)
		}), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("range %v (-want +got):\n%s", r, diff)
		}
		for j, i := range idx {
			if i != r[0]+j {
				t.Errorf("range %v: index %d at position %d", r, i, j)
			}
		}
	}
	err = ReadChanges(store, "cs", 20, 26, func(int, *Change) error { return nil })
	if err == nil {
		t.Fatal("ReadChanges beyond the end did not fail")
	}
}

func TestOutcomeLogResume(t *testing.T) {
	store := newStore(t)
	log, err := NewOutcomeLog(store, "o", 0)
	if err != nil {
		t.Fatal(err)
	}
	a := Outcome{Index: 3, Result: Accepted, Key: KeyOf("3"), Fingerprint: 33}
	r := Outcome{Index: 4, Result: Rejected, Key: KeyOf("4"), Fingerprint: 44,
		Status: 400, UserID: "4", Reason: "Invalid email"}
	log.Add(a)
	size, err := log.Sync()
	if err != nil {
		t.Fatal(err)
	}
	log.Add(r) // written after the checkpoint: dropped by the reopen below
	log.Close()

	log, err = NewOutcomeLog(store, "o", size)
	if err != nil {
		t.Fatal(err)
	}
	log.Add(r)
	// A torn record at the end is ignored.
	log.Add(Outcome{Index: 5, Result: Accepted})
	log.Close()
	full, _ := store.Open("o")
	cut := full.Size() - 3
	full.Close()

	var got []Outcome
	_, err = ReadOutcomes(store, "o", cut, func(o *Outcome) error {
		got = append(got, *o)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Outcome{a, r}, got); diff != "" {
		t.Fatalf("outcomes (-want +got):\n%s", diff)
	}
}

func TestAdvance(t *testing.T) {
	store := newStore(t)
	// Baseline: a, b, c, d with fingerprints 1..4.
	base, _ := NewBaseline(entriesFor("a", "b", "c", "d"))
	if err := SaveBaseline(store, "s", base); err != nil {
		t.Fatal(err)
	}
	// Run r: b accepted with 20, c rejected, e accepted with 50 (twice, as
	// after a resume), d removed from the snapshot.
	log, _ := NewOutcomeLog(store, BatchOutcomesName("s", "r", 0), 0)
	log.Add(Outcome{Index: 0, Result: Accepted, Key: KeyOf("b"), Fingerprint: 20})
	log.Add(Outcome{Index: 1, Result: Rejected, Key: KeyOf("c"), Fingerprint: 30, Status: 400,
		UserID: "c", Reason: "bad"})
	log.Close()
	log, _ = NewOutcomeLog(store, BatchOutcomesName("s", "r", 1), 0)
	log.Add(Outcome{Index: 2, Result: Accepted, Key: KeyOf("e"), Fingerprint: 50})
	log.Add(Outcome{Index: 2, Result: Accepted, Key: KeyOf("e"), Fingerprint: 50})
	log.Close()
	removed := RunName("s", "r", "removed")
	if err := WriteKeys(store, removed, []Key{KeyOf("d")}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name          string
		removeMissing bool
		want          map[string]Fingerprint
		wantResult    AdvanceResult
	}{
		{"failed run keeps removed users", false,
			map[string]Fingerprint{"a": 1, "b": 20, "c": 3, "d": 4, "e": 50},
			AdvanceResult{Accepted: 2, Removed: 0, Users: 5}},
		{"complete run drops removed users", true,
			map[string]Fingerprint{"a": 1, "b": 20, "c": 3, "e": 50},
			AdvanceResult{Accepted: 2, Removed: 1, Users: 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := SaveBaseline(store, "s", base); err != nil {
				t.Fatal(err)
			}
			// Advancing twice gives the same baseline.
			for range 2 {
				res, err := Advance(store, "s", "r", removed, tc.removeMissing)
				if err != nil {
					t.Fatal(err)
				}
				if res.Users != tc.wantResult.Users || res.Removed > tc.wantResult.Removed {
					t.Fatalf("result = %+v, want %+v", res, tc.wantResult)
				}
			}
			got, _ := LoadBaseline(store, "s")
			var want []Entry
			for id, fp := range tc.want {
				want = append(want, Entry{Key: KeyOf(id), Fingerprint: fp})
			}
			wb, _ := NewBaseline(want)
			if diff := cmp.Diff(wb.Entries(), got.Entries()); diff != "" {
				t.Fatalf("baseline (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStoreNames(t *testing.T) {
	store := newStore(t)
	for _, name := range []string{"", "../x", "/abs", "a//b", "a/./b"} {
		if _, err := store.Create(name); err == nil {
			t.Errorf("Create(%q) succeeded, want an invalid name error", name)
		}
	}
	if _, err := store.Open("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open(missing) = %v, want ErrNotFound", err)
	}
	w, _ := store.Create("x/uncommitted")
	if names, _ := store.List("x"); len(names) != 0 {
		t.Errorf("List shows uncommitted objects: %v", names)
	}
	w.Abort()
}

func TestCheckID(t *testing.T) {
	for id, ok := range map[string]bool{"nightly": true, "a.b_c-1": true, "": false,
		"../x": false, "a/b": false, "-x": false, "x y": false} {
		if err := CheckID("syncId", id); (err == nil) != ok {
			t.Errorf("CheckID(%q) = %v, want ok=%v", id, err, ok)
		}
	}
}
