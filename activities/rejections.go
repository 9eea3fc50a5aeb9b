package activities

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sprigsync/sprigsync/state"
)

// RejectionsPart is the object of a run that lists every rejected user.
const RejectionsPart = "rejections.jsonl"

type rejectionLine struct {
	UserID string `json:"userId"`
	Status int    `json:"status"`
	Reason string `json:"reason"`
}

// rejectionCounts sums up the rejections of a run.
type rejectionCounts struct {
	total     int64
	topReason string
	topCount  int64
}

// writeRejections writes every user whose last outcome in the run is a
// rejection, one JSON object a line, and returns their count and the most
// common reason with its count (the first in order of appearance on a tie).
func writeRejections(store state.Store, syncID, runID string) (rejectionCounts, error) {
	var rc rejectionCounts
	names, err := store.List(state.BatchesName(syncID, runID))
	if err != nil {
		return rc, err
	}
	w, err := store.Create(state.RunName(syncID, runID, RejectionsPart))
	if err != nil {
		return rc, err
	}
	defer w.Abort()
	buf := bufio.NewWriter(w)
	enc := json.NewEncoder(buf)
	counts := map[string]int64{}
	var order []string
	for _, name := range names {
		if !strings.HasSuffix(name, ".outcomes") {
			continue
		}
		last := map[int]state.Outcome{}
		var indexes []int
		_, err := state.ReadOutcomes(store, name, -1, func(o *state.Outcome) error {
			if _, seen := last[o.Index]; !seen {
				indexes = append(indexes, o.Index)
			}
			last[o.Index] = *o
			return nil
		})
		if err != nil {
			return rc, err
		}
		for _, i := range indexes {
			o := last[i]
			if o.Result != state.Rejected {
				continue
			}
			if err := enc.Encode(rejectionLine{UserID: o.UserID, Status: o.Status,
				Reason: o.Reason}); err != nil {
				return rc, fmt.Errorf("write rejections: %w", err)
			}
			rc.total++
			if counts[o.Reason] == 0 {
				order = append(order, o.Reason)
			}
			counts[o.Reason]++
		}
	}
	if err := buf.Flush(); err != nil {
		return rc, fmt.Errorf("write rejections: %w", err)
	}
	if err := w.Commit(); err != nil {
		return rc, err
	}
	for _, reason := range order {
		if counts[reason] > rc.topCount {
			rc.topReason, rc.topCount = reason, counts[reason]
		}
	}
	return rc, nil
}
