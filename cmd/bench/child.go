package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/zeebo/xxh3"

	"github.com/sprigsync/sprigsync/mapping"
	"github.com/sprigsync/sprigsync/plan"
	"github.com/sprigsync/sprigsync/snapshot"
	"github.com/sprigsync/sprigsync/state"
)

// childCommand is the hidden first argument that makes this binary run one
// measurement as a child process. Its second argument is a childSpec as
// JSON, and it prints a childOutput as JSON on stdout.
const childCommand = "__bench-child"

// Kinds of child measurement.
const (
	kindRead   = "read"   // snapshot.Reader over every column
	kindScan   = "scan"   // mapping.Scan with an xxh3 fingerprint of every body
	kindPlan   = "plan"   // plan.Run into a state directory
	kindAccept = "accept" // mark a planned run accepted and advance the baseline
)

// mappingConfig is the mapping of every measurement: the generated table's
// user_id and email columns, every other column as an attribute.
var mappingConfig = mapping.Config{UserIDColumn: "user_id", EmailColumn: "email"}

// childSpec is the request of one child measurement.
type childSpec struct {
	Kind     string `json:"kind"`
	Snapshot string `json:"snapshot,omitempty"`
	StateDir string `json:"stateDir,omitempty"`
	SyncID   string `json:"syncId,omitempty"`
	RunID    string `json:"runId,omitempty"`
	// CPUProfile, when set, is the file the child writes a CPU profile of
	// the measured work to.
	CPUProfile string `json:"cpuProfile,omitempty"`
}

// childOutput is the result of one child measurement. Wall covers the
// measured work only, not the start of the process.
type childOutput struct {
	Wall     time.Duration        `json:"wall"`
	Rows     int64                `json:"rows"`
	Users    int64                `json:"users,omitempty"`
	Checksum uint64               `json:"checksum,omitempty"`
	Plan     *plan.Result         `json:"plan,omitempty"`
	Advance  *state.AdvanceResult `json:"advance,omitempty"`
	// PeakRSS is the child's VmHWM in bytes, read at its end.
	PeakRSS int64 `json:"peakRSS"`
	// CallCPU is the CPU time (user plus system, all threads) that the
	// child used during the measured call, without its start and exit.
	CallCPU time.Duration `json:"callCPU"`
}

// runChild runs the child measurement that args describe and returns the
// process exit status.
func runChild(args []string) int {
	if len(args) != 1 {
		fmt.Fprintf(os.Stderr, "bench child: expected one JSON argument, got %d\n", len(args))
		return 2
	}

	var spec childSpec
	if err := json.Unmarshal([]byte(args[0]), &spec); err != nil {
		fmt.Fprintf(os.Stderr, "bench child: invalid spec %q: %v\n", args[0], err)
		return 2
	}
	if spec.CPUProfile != "" {
		stop, err := startCPUProfile(spec.CPUProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench child %s: %v\n", spec.Kind, err)
			return 1
		}
		defer stop()
	}

	cpu0, err := ownCPU()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench child %s: %v\n", spec.Kind, err)
		return 1
	}
	out, err := measureChild(context.Background(), spec)
	if err == nil {
		var cpu1 time.Duration
		cpu1, err = ownCPU()
		out.CallCPU = cpu1 - cpu0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench child %s: %v\n", spec.Kind, err)
		return 1
	}

	if out.PeakRSS, err = peakRSS(os.Getpid()); err != nil {
		fmt.Fprintf(os.Stderr, "bench child %s: %v\n", spec.Kind, err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintf(os.Stderr, "bench child %s: write the result: %v\n", spec.Kind, err)
		return 1
	}
	return 0
}

// startCPUProfile starts writing a CPU profile to path and returns the
// function that ends it.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating the CPU profile %q failed: %w", path, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting the CPU profile %q failed: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func measureChild(ctx context.Context, spec childSpec) (childOutput, error) {
	switch spec.Kind {
	case kindRead:
		return readAll(spec.Snapshot)
	case kindScan:
		return scanAll(ctx, spec.Snapshot)
	case kindPlan:
		return planRun(ctx, spec)
	case kindAccept:
		return acceptRun(spec)
	}
	return childOutput{}, fmt.Errorf("invalid measurement kind %q: use %s, %s, %s or %s", spec.Kind,
		kindRead, kindScan, kindPlan, kindAccept)
}

// readAll reads every column of the file at path with the snapshot package
// alone: the floor under any plan of that file.
func readAll(path string) (childOutput, error) {
	start := time.Now()
	f, err := snapshot.Open(path)
	if err != nil {
		return childOutput{}, err
	}
	defer f.Close()
	columns := make([]int, len(f.Columns))
	for i := range columns {
		columns[i] = i
	}
	r, err := f.NewReader(columns, 0)
	if err != nil {
		return childOutput{}, err
	}
	defer r.Close()
	var out childOutput
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return out, err
		}
		out.Rows += int64(b.Len)
	}
	out.Wall = time.Since(start)
	return out, nil
}

// fingerprinter is a mapping.Handler that hashes every body as the planner
// does, and nothing else.
type fingerprinter struct{ sum uint64 }

func (f *fingerprinter) User(u *mapping.User) error {
	f.sum += xxh3.Hash(u.Body)
	return nil
}

func (f *fingerprinter) Invalid(mapping.InvalidRow) error { return nil }

// scanAll builds the request body of every row of the snapshot and hashes it.
func scanAll(ctx context.Context, path string) (childOutput, error) {
	start := time.Now()
	var h fingerprinter
	st, err := mapping.Scan(ctx, path, mappingConfig, &h)
	if err != nil {
		return childOutput{}, err
	}
	return childOutput{Wall: time.Since(start), Rows: st.Rows, Users: st.Users, Checksum: h.sum},
		nil
}

// planRun plans one run of the snapshot against the baseline in spec.StateDir.
func planRun(ctx context.Context, spec childSpec) (childOutput, error) {
	store, err := state.NewLocal(spec.StateDir)
	if err != nil {
		return childOutput{}, err
	}
	start := time.Now()
	res, err := plan.Run(ctx, plan.Input{Store: store, SyncID: spec.SyncID, RunID: spec.RunID,
		Snapshot: spec.Snapshot, Mapping: mappingConfig, Guard: plan.Guard{MaxChangedShare: 1}})
	if err != nil {
		return childOutput{}, err
	}
	return childOutput{Wall: time.Since(start), Rows: res.Rows, Plan: &res}, nil
}

// acceptRun leaves the state of a completed run. It records every change of
// a planned run as accepted by Sprig in one outcome log, then advances the
// baseline and drops the users that the plan found removed.
func acceptRun(spec childSpec) (childOutput, error) {
	store, err := state.NewLocal(spec.StateDir)
	if err != nil {
		return childOutput{}, err
	}
	start := time.Now()
	var res plan.Result
	if err := state.ReadJSON(store, state.RunName(spec.SyncID, spec.RunID, plan.ResultPart),
		&res); err != nil {
		return childOutput{}, fmt.Errorf("read the plan of run %q: %w", spec.RunID, err)
	}
	log, err := state.NewOutcomeLog(store, state.BatchOutcomesName(spec.SyncID, spec.RunID, 0), 0)
	if err != nil {
		return childOutput{}, err
	}

	changeset := state.ChangesetName(spec.SyncID, spec.RunID)
	err = state.ReadChanges(store, changeset, 0, res.Changes, func(i int, c *state.Change) error {
		return log.Add(state.Outcome{Index: i, Result: state.Accepted, Key: c.Key,
			Fingerprint: c.Fingerprint})
	})
	if err != nil {
		log.Close()
		return childOutput{}, err
	}
	if err := log.Close(); err != nil {
		return childOutput{}, err
	}

	adv, err := state.Advance(store, spec.SyncID, spec.RunID,
		state.RunName(spec.SyncID, spec.RunID, plan.RemovedPart), true)
	if err != nil {
		return childOutput{}, err
	}
	return childOutput{Wall: time.Since(start), Rows: int64(res.Changes), Advance: &adv}, nil
}

// ownCPU returns the user plus system CPU time this process used so far,
// all threads, from getrusage at microsecond resolution.
func ownCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage failed: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
