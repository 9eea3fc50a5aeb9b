package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/sprigsync/sprigsync/usergen"
)

// changes is the difference between the two snapshots of every size: 1% of
// the users changed, 0.1% added and 0.1% removed.
var changes = usergen.Changes{ChangedShare: 0.01, AddedShare: 0.001, RemovedShare: 0.001, Seed: 2}

// baseOptions selects the first snapshot of n users.
func baseOptions(n int) usergen.Options {
	return usergen.Options{Rows: n, Seed: 1, Compression: "zstd"}
}

// sizeInput is the pair of snapshots of one plan size and the counts the
// incremental plan must find.
type sizeInput struct {
	users   int
	first   string // path of the first snapshot
	next    string // path of the second snapshot
	changed int64
	added   int64
	removed int64
}

// inputs are the snapshots of every measurement.
type inputs struct {
	sizes         []sizeInput
	delivery      string
	orchestration string
}

// prepareInputs writes the snapshots that cfg needs into cfg.dir, keeping
// the files that exist.
func prepareInputs(ctx context.Context, cfg config) (*inputs, error) {
	in := &inputs{}
	for _, n := range cfg.sizes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s, err := prepareSize(cfg.dir, n)
		if err != nil {
			return nil, err
		}
		in.sizes = append(in.sizes, s)
	}
	var err error
	if !cfg.skipDelivery {
		if in.delivery, err = cachedFile(cfg.dir, cfg.deliveryUsers); err != nil {
			return nil, err
		}
	}
	if !cfg.skipOrchestration {
		if in.orchestration, err = cachedFile(cfg.dir, cfg.orchestrationUsers); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// cachedFile returns the path of the first snapshot of n users in dir,
// writing it when it is missing.
func cachedFile(dir string, n int) (string, error) {
	start := time.Now()
	path, err := usergen.CachedFile(dir, baseOptions(n))
	if err != nil {
		return "", fmt.Errorf("generate the snapshot of %d users in %q: %w", n, dir, err)
	}
	if d := time.Since(start); d > time.Second {
		slog.Info("Generated a snapshot", "path", path, "users", n, "seconds", d.Seconds())
	}
	return path, nil
}

// prepareSize returns both snapshots of n users, writing those missing.
func prepareSize(dir string, n int) (sizeInput, error) {
	first, err := cachedFile(dir, n)
	if err != nil {
		return sizeInput{}, err
	}
	s := sizeInput{users: n, first: first}
	s.changed, s.added, s.removed = expectedChanges(n, changes)

	s.next = filepath.Join(dir, fmt.Sprintf("users-%d-seed1-zstd-next-c%g-a%g-r%g-seed%d.parquet",
		n, changes.ChangedShare, changes.AddedShare, changes.RemovedShare, changes.Seed))
	_, err = os.Stat(s.next)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		sum, err := usergen.WriteNextFile(s.next, baseOptions(n), changes)
		if err != nil {
			return s, fmt.Errorf("generate the second snapshot %q: %w", s.next, err)
		}
		// The expected counts come from the documented rounding rule, so
		// they hold for a second snapshot written by an earlier run too.
		// Check the rule against the summary whenever one is at hand.
		got := [3]int64{int64(len(sum.Changed)), int64(len(sum.Added)), int64(len(sum.Removed))}
		if want := [3]int64{s.changed, s.added, s.removed}; got != want {
			return s, fmt.Errorf("the second snapshot of %d users has changed, added, removed "+
				"= %v users but the bench expects %v: update expectedChanges to usergen's rule",
				n, got, want)
		}
		slog.Info("Generated a second snapshot", "path", s.next, "users", sum.Rows)
	default:
		return s, fmt.Errorf("check the second snapshot %q: %w", s.next, err)
	}
	return s, nil
}

// expectedChanges returns the number of users that the second snapshot of a
// table of rows users changes, adds and removes. usergen documents the rule:
// each share of rows is rounded to the nearest integer, and fewer users are
// removed when changed plus removed would exceed rows.
func expectedChanges(rows int, ch usergen.Changes) (changed, added, removed int64) {
	n := float64(rows)
	changed = int64(math.Round(n * ch.ChangedShare))
	added = int64(math.Round(n * ch.AddedShare))
	removed = int64(math.Round(n * ch.RemovedShare))
	if changed+removed > int64(rows) {
		removed = int64(rows) - changed
	}
	return changed, added, removed
}
