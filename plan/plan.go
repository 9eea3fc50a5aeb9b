// Package plan compares a snapshot with a sync's baseline and writes the
// changeset: the users whose request body differs from the one Sprig last
// accepted, and the users Sprig has never seen.
//
// Planning streams through the snapshot. Memory contains the baseline (24
// bytes per user and a flag), the key of every user that is not in the
// baseline (16 bytes each) and one batch of rows. Request bodies go straight
// to the changeset in the state store.
package plan

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/sprigsync/sprigsync/mapping"
	"github.com/sprigsync/sprigsync/state"
)

// ScanFunc reads a snapshot; mapping.Scan is the real one.
type ScanFunc func(ctx context.Context, location string, cfg mapping.Config,
	h mapping.Handler) (mapping.Stats, error)

// Guard stops a run before anything is sent when the snapshot looks wrong.
// The zero value applies the defaults.
type Guard struct {
	// AllowEmpty lets a snapshot with zero rows through. Such a snapshot
	// sends nothing and removes every user from the baseline, which is
	// almost always an export that went wrong, so it stops the run unless
	// set.
	AllowEmpty bool `json:"allowEmptySnapshot,omitempty"`

	// MaxChangedShare is the largest share of the baseline's users (0 to
	// 1) that may be changed or removed in one run. Default 0.5; a value of
	// 1 or more turns the check off. The check applies only when the
	// baseline has at least 100 users.
	MaxChangedShare float64 `json:"maxChangedShare,omitempty"`
}

// ErrGuard marks a run stopped by a Guard.
var ErrGuard = errors.New("snapshot stopped by the mass-change guard")

// Input is the work of one plan.
type Input struct {
	Store    state.Store
	SyncID   string
	RunID    string
	Snapshot string
	Mapping  mapping.Config
	Guard    Guard
	Scan     ScanFunc // nil means mapping.Scan

	// BeforeCommit, when set, is called after the snapshot is read and
	// before anything is stored under the run's names. Tests use it to stop
	// a worker in the middle of planning.
	BeforeCommit func()
}

// SampleSize is how many invalid rows a Result carries; the run's
// "invalid.jsonl" object has all of them.
const SampleSize = 20

// Counts counts the rows of a snapshot by what the plan found. Every row is
// counted once: Rows = Added + Changed + Unchanged + Invalid + Duplicate.
// Removed counts baseline users that the snapshot no longer has.
type Counts struct {
	Files     int   `json:"files"`
	Rows      int64 `json:"rows"`
	Added     int64 `json:"added"`
	Changed   int64 `json:"changed"`
	Unchanged int64 `json:"unchanged"`
	Removed   int64 `json:"removed"`
	Invalid   int64 `json:"invalid"`
	Duplicate int64 `json:"duplicate"`
}

// Result is the outcome of a plan.
type Result struct {
	Counts
	// Baseline is the number of users in the baseline the plan compared with.
	Baseline int `json:"baseline"`
	// Changes is the length of the changeset (Added + Changed).
	Changes int `json:"changes"`
	// InvalidSample has the first SampleSize invalid or duplicate rows.
	InvalidSample []mapping.InvalidRow `json:"invalidSample,omitempty"`
}

// Object names within a run.
const (
	RemovedPart = "removed"
	InvalidPart = "invalid.jsonl"
	ResultPart  = "plan.json"
)

// Run plans one run and stores its changeset, the keys of removed users and
// every invalid row under the run's names. Nothing is stored under the
// changeset's name unless Run succeeds.
func Run(ctx context.Context, in Input) (Result, error) {
	scan := in.Scan
	if scan == nil {
		scan = mapping.Scan
	}
	base, err := state.LoadBaseline(in.Store, in.SyncID)
	if err != nil {
		return Result{}, err
	}
	cs, err := state.NewChangesetWriter(in.Store, state.ChangesetName(in.SyncID, in.RunID))
	if err != nil {
		return Result{}, err
	}
	defer cs.Abort()
	inv, err := newInvalidLog(in.Store, state.RunName(in.SyncID, in.RunID, InvalidPart))
	if err != nil {
		return Result{}, err
	}
	defer inv.abort()

	p := &planner{base: base, seen: make([]bool, base.Len()), cs: cs, inv: inv}
	p.res.Baseline = base.Len()
	stats, err := scan(ctx, in.Snapshot, in.Mapping, p)
	if err == nil {
		err = p.flush()
	}
	if err != nil {
		return Result{}, err
	}
	p.res.Files, p.res.Rows = stats.Files, stats.Rows

	// Every copy of a repeated user id is reported and none is sent, because
	// no rule can tell which copy the warehouse meant.
	dups := repeatedKeys(p.newKeys)
	p.newKeys = nil
	if len(p.repeated) > 0 {
		dups = append(dups, p.repeated...)
		slices.SortFunc(dups, state.Key.Compare)
		dups = slices.Compact(dups)
	}
	if len(dups) > 0 {
		if err := p.reportDuplicates(ctx, scan, in, dups); err != nil {
			return Result{}, err
		}
	}
	var removed []state.Key
	for i, seen := range p.seen {
		if !seen {
			removed = append(removed, base.Entries()[i].Key)
		}
	}
	p.res.Removed = int64(len(removed))
	if err := checkGuard(in.Guard, p.res); err != nil {
		return p.res, err
	}
	if in.BeforeCommit != nil {
		in.BeforeCommit()
	}

	// Write the changeset without the repeated users, then its companions.
	changes, err := p.finishChangeset(in, dups)
	if err != nil {
		return Result{}, err
	}
	p.res.Changes = changes
	if err := state.WriteKeys(in.Store, state.RunName(in.SyncID, in.RunID, RemovedPart), removed); err != nil {
		return Result{}, err
	}
	if err := inv.commit(); err != nil {
		return Result{}, err
	}
	p.res.InvalidSample = inv.sample
	if err := state.WriteJSON(in.Store, state.RunName(in.SyncID, in.RunID, ResultPart), p.res); err != nil {
		return Result{}, err
	}
	return p.res, nil
}

type planner struct {
	base     *state.Baseline
	seen     []bool
	pending  []pendingUser // users waiting for a batch of lookups
	arena    []byte        // ids and bodies of the pending users
	found    []int         // baseline index of each pending user, or -1
	newKeys  []state.Key   // keys of users not in the baseline
	repeated []state.Key   // keys of baseline users seen more than once
	cs       *state.ChangesetWriter
	inv      *invalidLog
	res      Result
	// dups is set during the second pass over the snapshot.
	dups map[state.Key]*duplicate
}

type duplicate struct {
	rows []mapping.InvalidRow
}

// lookupBatch is how many users the planner buffers before it looks their
// keys up in the baseline. A lookup misses the CPU caches, and lookups run
// back to back overlap their misses, while one lookup between two rows of
// decoding waits out its miss alone: on a 10,000,000-user baseline the
// batch makes lookups several times faster.
const lookupBatch = 1024

// pendingUser is a user buffered for a batch of lookups; id and body are
// offsets into the planner's arena.
type pendingUser struct {
	key      state.Key
	fp       state.Fingerprint
	id, body [2]int
}

func (p *planner) User(u *mapping.User) error {
	key := state.KeyOf(u.UserID)
	fp := state.FingerprintOf(u.Body)
	if p.dups != nil {
		return p.secondPass(key, fp, u.UserID, u.File, u.Row, true)
	}
	pu := pendingUser{key: key, fp: fp}
	pu.id = [2]int{len(p.arena), len(p.arena) + len(u.UserID)}
	p.arena = append(p.arena, u.UserID...)
	pu.body = [2]int{len(p.arena), len(p.arena) + len(u.Body)}
	p.arena = append(p.arena, u.Body...)
	p.pending = append(p.pending, pu)
	if len(p.pending) == lookupBatch {
		return p.flush()
	}
	return nil
}

// flush looks up the buffered users in the baseline, counts them, and adds
// the new and changed ones to the changeset, in snapshot order.
func (p *planner) flush() error {
	p.found = p.found[:0]
	for _, pu := range p.pending {
		i, found := p.note(pu.key)
		if !found {
			i = -1
		}
		p.found = append(p.found, i)
	}
	for n, pu := range p.pending {
		i := p.found[n]
		switch {
		case i < 0:
			p.res.Added++
		case p.base.Entries()[i].Fingerprint == pu.fp:
			p.res.Unchanged++
			continue
		default:
			p.res.Changed++
		}
		err := p.cs.Add(state.Change{Key: pu.key, Fingerprint: pu.fp,
			UserID: string(p.arena[pu.id[0]:pu.id[1]]), Body: p.arena[pu.body[0]:pu.body[1]]})
		if err != nil {
			return err
		}
	}
	p.pending, p.arena = p.pending[:0], p.arena[:0]
	return nil
}

func (p *planner) Invalid(r mapping.InvalidRow) error {
	if r.UserID == "" {
		if p.dups == nil {
			p.res.Invalid++
			return p.inv.add(r)
		}
		return nil
	}
	key := state.KeyOf(r.UserID)
	if p.dups != nil {
		return p.secondPass(key, 0, r.UserID, r.File, r.Row, false)
	}
	// The user is still in the snapshot: keep its baseline entry, so an
	// invalid row never reads as a removed user.
	p.note(key)
	p.res.Invalid++
	return p.inv.add(r)
}

// note marks a snapshot user id as seen and remembers it for the search
// for repeated ids. A user of the baseline repeats when it was seen already;
// the keys of new users are kept and sorted after the scan. An incremental
// run so holds and sorts only its few new users, not the whole snapshot.
func (p *planner) note(key state.Key) (int, bool) {
	i, found := p.base.Find(key)
	if !found {
		p.newKeys = append(p.newKeys, key)
		return i, false
	}
	if p.seen[i] {
		p.repeated = append(p.repeated, key)
	}
	p.seen[i] = true
	return i, true
}

// secondPass moves a row whose user id repeats from its first-pass count
// to the Duplicate count and reports it.
func (p *planner) secondPass(key state.Key, fp state.Fingerprint, userID, file string,
	row int64, valid bool) error {
	d, ok := p.dups[key]
	if !ok {
		return nil
	}
	if valid {
		i, found := p.base.Find(key)
		switch {
		case !found:
			p.res.Added--
		case p.base.Entries()[i].Fingerprint == fp:
			p.res.Unchanged--
		default:
			p.res.Changed--
		}
		p.res.Duplicate++
	}
	d.rows = append(d.rows, mapping.InvalidRow{File: file, Row: row, UserID: userID})
	return nil
}

func (p *planner) reportDuplicates(ctx context.Context, scan ScanFunc, in Input, keys []state.Key) error {
	p.dups = make(map[state.Key]*duplicate, len(keys))
	for _, k := range keys {
		p.dups[k] = &duplicate{}
	}
	if _, err := scan(ctx, in.Snapshot, in.Mapping, p); err != nil {
		return fmt.Errorf("read snapshot again to report repeated user ids: %w", err)
	}
	// Report in snapshot order: by the first row of each repeated id.
	var groups []*duplicate
	for _, k := range keys {
		groups = append(groups, p.dups[k])
	}
	slices.SortFunc(groups, func(a, b *duplicate) int {
		return compareRows(a.rows[0], b.rows[0])
	})
	for _, d := range groups {
		for _, r := range d.rows {
			r.Reason = fmt.Sprintf("user id appears %d times in the snapshot; "+
				"no copy is sent until the snapshot has one row per user", len(d.rows))
			if err := p.inv.add(r); err != nil {
				return err
			}
		}
	}
	return nil
}

func compareRows(a, b mapping.InvalidRow) int {
	if a.File != b.File {
		if a.File < b.File {
			return -1
		}
		return 1
	}
	return int(a.Row - b.Row)
}

// repeatedKeys sorts keys and returns those that occur more than once.
func repeatedKeys(keys []state.Key) []state.Key {
	slices.SortFunc(keys, state.Key.Compare)
	var out []state.Key
	for i := 1; i < len(keys); i++ {
		if keys[i] == keys[i-1] && (len(out) == 0 || out[len(out)-1] != keys[i]) {
			out = append(out, keys[i])
		}
	}
	return out
}

func checkGuard(g Guard, r Result) error {
	if r.Rows == 0 && r.Baseline > 0 && !g.AllowEmpty {
		return fmt.Errorf("%w: the snapshot has zero rows while the baseline has %d users; "+
			"check the export, or set allowEmptySnapshot to run it anyway", ErrGuard, r.Baseline)
	}
	share := g.MaxChangedShare
	if share == 0 {
		share = 0.5
	}
	if share >= 1 || r.Baseline < 100 {
		return nil
	}
	moved := r.Changed + r.Removed
	if float64(moved) > share*float64(r.Baseline) {
		return fmt.Errorf("%w: %d of the baseline's %d users would be changed or removed, "+
			"more than the limit of %.0f%%; check the snapshot, or set maxChangedShare "+
			"(1 turns the check off) to run it anyway", ErrGuard, moved, r.Baseline, share*100)
	}
	return nil
}

// finishChangeset commits the changeset and returns its length. When user
// ids repeat, it writes the changeset again without them. That costs a copy
// of the changeset, but only in runs that found repeated ids.
func (p *planner) finishChangeset(in Input, dups []state.Key) (int, error) {
	if err := p.cs.Commit(); err != nil {
		return 0, err
	}
	if len(dups) == 0 {
		return p.cs.Len(), nil
	}
	name := state.ChangesetName(in.SyncID, in.RunID)
	out, err := state.NewChangesetWriter(in.Store, name)
	if err != nil {
		return 0, err
	}
	defer out.Abort()
	err = state.ReadChanges(in.Store, name, 0, p.cs.Len(), func(_ int, c *state.Change) error {
		if _, repeated := slices.BinarySearchFunc(dups, c.Key, state.Key.Compare); repeated {
			return nil
		}
		return out.Add(*c)
	})
	if err != nil {
		return 0, err
	}
	n := out.Len()
	return n, out.Commit()
}
