// Package workflows holds SyncWorkflow, one run of a sync: read the newest
// snapshot, diff it with the baseline, upsert the changed users to Sprig in
// rate-limited batches, and advance the baseline for the users Sprig
// accepted.
package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/sprigsync/sprigsync/delivery"
	"github.com/sprigsync/sprigsync/mapping"
	"github.com/sprigsync/sprigsync/plan"
	"github.com/sprigsync/sprigsync/state"
)

// Defaults for SyncInput's zero values.
const (
	DefaultEnvironment = "production"
	DefaultRateLimit   = 100.0
	DefaultBatchSize   = 10_000
	DefaultParallelism = 4
	// MaxParallelism bounds the batches in flight, and so the pending
	// activities of a run, far below Temporal's limit of 2,000.
	MaxParallelism = 64
)

// SyncInput is the input of SyncWorkflow: what a person fills in on the
// Temporal UI's Start Workflow form. It never holds an API key: the worker
// reads one key per environment from its own environment. Zero values mean
// the defaults named on each field.
type SyncInput struct {
	// SyncID names the sync; required. Its runs share the baseline stored
	// under this id, and each runs with the sync id as its workflow id.
	SyncID string `json:"syncId,omitempty"`

	// Snapshot is the location of the snapshot on the worker: a Parquet
	// file, a directory of part files, or a glob.
	Snapshot string `json:"snapshot"`

	// Config maps columns to the userId, the email address and the
	// attributes.
	mapping.Config

	// Environment is the Sprig environment written to, "production" or
	// "development"; the worker holds one API key for each. Default
	// "production".
	Environment string `json:"environment,omitempty"`

	// RateLimit is the most requests per second sent to Sprig, over all
	// batches of the run together. Default 100; Sprig allows 1,000 on
	// Enterprise plans.
	RateLimit float64 `json:"rateLimit,omitempty"`

	// BatchSize is the most users in one batch. Default 10,000: a batch
	// costs about six history events, so large batches keep a run's history
	// under one event per 1,000 users, and a batch's outcome log keeps its
	// progress however large it is. Smaller changesets are cut into
	// Parallelism equal batches.
	BatchSize int `json:"batchSize,omitempty"`

	// Parallelism is the most batches in flight at once. Default 4, at
	// most 64.
	Parallelism int `json:"parallelism,omitempty"`

	// Guard stops a run whose snapshot looks wrong before anything is sent.
	plan.Guard

	// Resume carries a run's progress across continue-as-new. Leave it
	// empty when starting a run.
	Resume *RunState `json:"resume,omitempty"`

	// unknown has the input's JSON fields that SyncInput does not have.
	unknown []string
}

// withDefaults returns the input with its zero values replaced by the
// defaults, or an error naming the first invalid field.
func (in SyncInput) withDefaults() (SyncInput, error) {
	if len(in.unknown) > 0 {
		return in, fmt.Errorf("unknown input field %q: check its spelling; the fields are %s",
			in.unknown[0], strings.Join(jsonFieldNames(reflect.TypeFor[SyncInput]()), ", "))
	}
	if in.SyncID == "" {
		return in, errors.New("syncId is empty: name the sync; its runs share one baseline " +
			"and run one at a time under this name")
	}
	if err := state.CheckID("syncId", in.SyncID); err != nil {
		return in, err
	}
	if in.Snapshot == "" {
		return in, errors.New("snapshot is empty: set it to a Parquet file, a directory of " +
			"part files or a glob on the worker")
	}
	if in.Environment == "" {
		in.Environment = DefaultEnvironment
	}
	if in.Environment != "production" && in.Environment != "development" {
		return in, fmt.Errorf("environment %q is not known: use \"production\" or \"development\"",
			in.Environment)
	}
	switch {
	case in.RateLimit == 0:
		in.RateLimit = DefaultRateLimit
	case in.RateLimit < 0 || in.RateLimit > 100_000:
		return in, fmt.Errorf("rateLimit %g is out of range: use 0 < rateLimit <= 100000 "+
			"requests per second", in.RateLimit)
	}
	switch {
	case in.BatchSize == 0:
		in.BatchSize = DefaultBatchSize
	case in.BatchSize < 0 || in.BatchSize > 1_000_000:
		return in, fmt.Errorf("batchSize %d is out of range: use 1 to 1000000", in.BatchSize)
	}
	switch {
	case in.Parallelism == 0:
		in.Parallelism = DefaultParallelism
	case in.Parallelism < 0 || in.Parallelism > MaxParallelism:
		return in, fmt.Errorf("parallelism %d is out of range: use 1 to %d",
			in.Parallelism, MaxParallelism)
	}
	if in.MaxChangedShare < 0 {
		return in, fmt.Errorf("maxChangedShare %g is negative: use a share from 0 to 1",
			in.MaxChangedShare)
	}
	return in, nil
}

// RunState is a run's progress, carried across continue-as-new.
type RunState struct {
	RunID     string      `json:"runId"`
	StartedAt time.Time   `json:"startedAt"`
	Plan      plan.Result `json:"plan"`
	Layout    Layout      `json:"layout"`
	// NextBatch is the first batch not yet started; every batch below it
	// has settled.
	NextBatch int         `json:"nextBatch"`
	Totals    BatchTotals `json:"totals"`
}

// Layout is the division of a changeset into batches: Batches batches of
// Size users, the last one shorter.
type Layout struct {
	Changes int `json:"changes"`
	Batches int `json:"batches"`
	Size    int `json:"size"`
}

// Range returns the changeset indexes [start, end) of batch b.
func (l Layout) Range(b int) (int, int) {
	start := b * l.Size
	return start, min(start+l.Size, l.Changes)
}

// NewLayout cuts a changeset of n users into batches of at most batchSize
// users. Where it can, it makes a multiple of parallelism batches of equal
// size, so every round of the sliding window keeps all its slots busy until
// the end of the run.
func NewLayout(n, batchSize, parallelism int) Layout {
	if n == 0 {
		return Layout{}
	}
	batches := (n + batchSize - 1) / batchSize
	if rem := batches % parallelism; rem != 0 {
		batches += parallelism - rem
	}
	batches = min(batches, n)
	size := (n + batches - 1) / batches
	return Layout{Changes: n, Batches: (n + size - 1) / size, Size: size}
}

// BatchTotals adds up the results of settled batches.
type BatchTotals struct {
	Batches    int                  `json:"batches"`
	Accepted   int64                `json:"accepted"`
	Rejected   int64                `json:"rejected"`
	Requests   int64                `json:"requests"`
	Attempts   int64                `json:"attempts"`
	Retries    delivery.Retries     `json:"retries"`
	Rejections []delivery.Rejection `json:"rejections,omitempty"`
	// RetriedBatches has the first RejectionSample batches that needed
	// retries or more than one attempt.
	RetriedBatches []delivery.Result `json:"retriedBatches,omitempty"`
}

func (t *BatchTotals) add(r delivery.Result) {
	t.Batches++
	t.Accepted += int64(r.Accepted)
	t.Rejected += int64(r.Rejected)
	t.Requests += r.Requests
	t.Attempts += int64(r.Attempts)
	t.Retries = t.Retries.Add(r.Retries)
	for _, rej := range r.Rejections {
		if len(t.Rejections) < delivery.RejectionSample {
			t.Rejections = append(t.Rejections, rej)
		}
	}
	if (r.Retries.Total() > 0 || r.Attempts > 1) && len(t.RetriedBatches) < delivery.RejectionSample {
		r.Rejections = nil
		t.RetriedBatches = append(t.RetriedBatches, r)
	}
}

// Validate reports the first invalid field of the input, as the workflow
// would, so a client can refuse bad input before starting a run.
func (in SyncInput) Validate() error {
	_, err := in.withDefaults()
	return err
}

// UnmarshalJSON decodes the input and remembers the names of fields it does
// not know, which withDefaults then rejects: a misspelled field in the
// Temporal UI's form (say "atributes") must stop the run, not send every
// column under its own name.
func (in *SyncInput) UnmarshalJSON(data []byte) error {
	type plain SyncInput
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	known := jsonFieldNames(reflect.TypeFor[SyncInput]())
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if !slices.Contains(known, name) {
			p.unknown = append(p.unknown, name)
		}
	}
	*in = SyncInput(p)
	return nil
}

// jsonFieldNames returns the JSON names of a struct's fields, including
// those of embedded structs.
func jsonFieldNames(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			names = append(names, jsonFieldNames(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name != "-" {
			names = append(names, name)
		}
	}
	return names
}
