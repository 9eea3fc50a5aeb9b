package state

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// AdvanceResult counts how a baseline changed.
type AdvanceResult struct {
	Accepted int `json:"accepted"` // users whose entry was set from an accepted upsert
	Removed  int `json:"removed"`  // users dropped because the snapshot no longer has them
	Users    int `json:"users"`    // users in the baseline afterwards
}

// Advance folds a run's settled outcomes into the sync's baseline: every
// user Sprig accepted gets the fingerprint of the body it accepted, and
// every other user keeps its entry. With removeMissing, the users that the
// run's plan found missing from the snapshot are dropped as well (the
// object named removed lists their keys).
//
// Advance reads every outcome log of the run, including those of batches
// that did not finish: an outcome is recorded only after Sprig answered, so
// each one is true. Applying the same run twice gives the same baseline.
func Advance(store Store, syncID, runID, removed string, removeMissing bool) (AdvanceResult, error) {
	base, err := LoadBaseline(store, syncID)
	if err != nil {
		return AdvanceResult{}, err
	}
	accepted, err := acceptedEntries(store, syncID, runID)
	if err != nil {
		return AdvanceResult{}, err
	}
	var drop []Key
	if removeMissing {
		drop, err = ReadKeys(store, removed)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return AdvanceResult{}, err
		}
		slices.SortFunc(drop, Key.Compare)
	}

	res := AdvanceResult{Accepted: len(accepted)}
	old := base.Entries()
	merged := make([]Entry, 0, len(old)+len(accepted))
	i, j := 0, 0
	for i < len(old) || j < len(accepted) {
		var e Entry
		switch {
		case j == len(accepted) || (i < len(old) && old[i].Key.Compare(accepted[j].Key) < 0):
			e = old[i]
			i++
		case i == len(old) || old[i].Key.Compare(accepted[j].Key) > 0:
			e = accepted[j]
			j++
		default:
			e = accepted[j]
			i++
			j++
		}
		if _, found := slices.BinarySearchFunc(drop, e.Key, Key.Compare); found {
			res.Removed++
			continue
		}
		merged = append(merged, e)
	}
	next, err := NewBaseline(merged)
	if err != nil {
		return AdvanceResult{}, err
	}
	if err := SaveBaseline(store, syncID, next); err != nil {
		return AdvanceResult{}, err
	}
	res.Users = next.Len()
	return res, nil
}

// acceptedEntries returns the last accepted outcome of every user in the
// run's outcome logs, sorted by key.
func acceptedEntries(store Store, syncID, runID string) ([]Entry, error) {
	prefix := BatchesName(syncID, runID)
	names, err := store.List(prefix)
	if err != nil {
		return nil, err
	}
	var entries []Entry
	for _, name := range names {
		if !strings.HasSuffix(name, ".outcomes") {
			continue
		}
		_, err := ReadOutcomes(store, name, -1, func(o *Outcome) error {
			if o.Result == Accepted {
				entries = append(entries, Entry{Key: o.Key, Fingerprint: o.Fingerprint})
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read outcomes of run %q: %w", runID, err)
		}
	}
	// A user sent twice (after a resume) has the same key and fingerprint
	// in both outcomes, because one run sends one body per user.
	slices.SortStableFunc(entries, func(a, b Entry) int { return a.Key.Compare(b.Key) })
	entries = slices.CompactFunc(entries, func(a, b Entry) bool { return a.Key == b.Key })
	return entries, nil
}
