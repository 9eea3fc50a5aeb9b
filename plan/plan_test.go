package plan

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sprigsync/sprigsync/mapping"
	"github.com/sprigsync/sprigsync/state"
)

// row is one row of a fake snapshot: a user with a body, or an invalid row
// when reason is set.
type row struct {
	id     string
	body   string
	reason string
}

// fakeScan serves rows as mapping.Scan would serve a one-file snapshot.
func fakeScan(rows []row) ScanFunc {
	return func(ctx context.Context, location string, cfg mapping.Config, h mapping.Handler) (mapping.Stats, error) {
		st := mapping.Stats{Files: 1}
		for i, r := range rows {
			st.Rows++
			var err error
			if r.reason != "" {
				st.Invalid++
				err = h.Invalid(mapping.InvalidRow{File: "f.parquet", Row: int64(i), UserID: r.id,
					Reason: r.reason})
			} else {
				st.Users++
				err = h.User(&mapping.User{UserID: r.id, Body: []byte(r.body),
					File: "f.parquet", Row: int64(i)})
			}
			if err != nil {
				return st, err
			}
		}
		return st, nil
	}
}

func users(n int, body func(i int) string) []row {
	var rows []row
	for i := range n {
		rows = append(rows, row{id: fmt.Sprint(i), body: body(i)})
	}
	return rows
}

func plainBody(i int) string { return fmt.Sprintf(`{"userId":"%d","attributes":{"v":1}}`, i) }

type change struct{ ID, Body string }

func readChangeset(t *testing.T, store state.Store, runID string, n int) []change {
	t.Helper()
	var out []change
	err := state.ReadChanges(store, state.ChangesetName("s", runID), 0, n,
		func(_ int, c *state.Change) error {
			out = append(out, change{c.UserID, string(c.Body)})
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// acceptAll folds every change of a run into the baseline, as if Sprig
// accepted them all.
func acceptAll(t *testing.T, store state.Store, runID string, n int) {
	t.Helper()
	log, err := state.NewOutcomeLog(store, state.BatchOutcomesName("s", runID, 0), 0)
	if err != nil {
		t.Fatal(err)
	}
	err = state.ReadChanges(store, state.ChangesetName("s", runID), 0, n,
		func(i int, c *state.Change) error {
			return log.Add(state.Outcome{Index: i, Result: state.Accepted, Key: c.Key,
				Fingerprint: c.Fingerprint})
		})
	if err != nil {
		t.Fatal(err)
	}
	log.Close()
	if _, err := state.Advance(store, "s", runID, state.RunName("s", runID, RemovedPart), true); err != nil {
		t.Fatal(err)
	}
}

func runPlan(t *testing.T, store state.Store, runID string, rows []row, g Guard) (Result, error) {
	t.Helper()
	return Run(context.Background(), Input{Store: store, SyncID: "s", RunID: runID,
		Snapshot: "f.parquet", Scan: fakeScan(rows), Guard: g})
}

func TestPlanFirstAndSecondRun(t *testing.T) {
	store, _ := state.NewLocal(t.TempDir())
	first := users(200, plainBody)
	res, err := runPlan(t, store, "r1", first, Guard{})
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Counts: Counts{Files: 1, Rows: 200, Added: 200}, Changes: 200}
	if diff := cmp.Diff(want, res, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("first plan (-want +got):\n%s", diff)
	}
	acceptAll(t, store, "r1", 200)

	// Second snapshot: user 5 changed, user 7 removed, user 900 added.
	second := users(200, plainBody)
	second[5].body = `{"userId":"5","attributes":{"v":2}}`
	second = append(second[:7], second[8:]...)
	second = append(second, row{id: "900", body: plainBody(900)})
	res, err = runPlan(t, store, "r2", second, Guard{})
	if err != nil {
		t.Fatal(err)
	}
	want = Result{Counts: Counts{Files: 1, Rows: 200, Added: 1, Changed: 1, Unchanged: 198,
		Removed: 1}, Baseline: 200, Changes: 2}
	if diff := cmp.Diff(want, res, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("second plan (-want +got):\n%s", diff)
	}
	wantChanges := []change{{"5", `{"userId":"5","attributes":{"v":2}}`}, {"900", plainBody(900)}}
	if diff := cmp.Diff(wantChanges, readChangeset(t, store, "r2", 2)); diff != "" {
		t.Fatalf("changeset (-want +got):\n%s", diff)
	}
	removed, err := state.ReadKeys(store, state.RunName("s", "r2", RemovedPart))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]state.Key{state.KeyOf("7")}, removed); diff != "" {
		t.Fatalf("removed (-want +got):\n%s", diff)
	}
}

func TestPlanDuplicatesAndInvalid(t *testing.T) {
	store, _ := state.NewLocal(t.TempDir())
	rows := []row{
		{id: "a", body: `{"userId":"a"}`},
		{id: "b", body: `{"userId":"b","attributes":{"p":"pro"}}`},
		{id: "", reason: "user id is empty"},
		{id: "b", body: `{"userId":"b","attributes":{"p":"free"}}`},
		{id: "c", body: `{"userId":"c"}`},
		{id: "c", reason: `invalid email address in column "email"`},
		{id: "d", body: `{"userId":"d"}`},
		{id: "d", body: `{"userId":"d"}`},
	}
	res, err := runPlan(t, store, "r1", rows, Guard{})
	if err != nil {
		t.Fatal(err)
	}
	dupReason := func(n int) string {
		return fmt.Sprintf("user id appears %d times in the snapshot; no copy is sent until "+
			"the snapshot has one row per user", n)
	}
	want := Result{Counts: Counts{Files: 1, Rows: 8, Added: 1, Invalid: 2, Duplicate: 5}, Changes: 1,
		InvalidSample: []mapping.InvalidRow{
			{File: "f.parquet", Row: 2, Reason: "user id is empty"},
			{File: "f.parquet", Row: 5, UserID: "c", Reason: `invalid email address in column "email"`},
			{File: "f.parquet", Row: 1, UserID: "b", Reason: dupReason(2)},
			{File: "f.parquet", Row: 3, UserID: "b", Reason: dupReason(2)},
			{File: "f.parquet", Row: 4, UserID: "c", Reason: dupReason(2)},
			{File: "f.parquet", Row: 5, UserID: "c", Reason: dupReason(2)},
			{File: "f.parquet", Row: 6, UserID: "d", Reason: dupReason(2)},
			{File: "f.parquet", Row: 7, UserID: "d", Reason: dupReason(2)},
		}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]change{{"a", `{"userId":"a"}`}}, readChangeset(t, store, "r1", 1)); diff != "" {
		t.Fatalf("changeset (-want +got):\n%s", diff)
	}
}

func TestPlanInvalidRowKeepsBaseline(t *testing.T) {
	store, _ := state.NewLocal(t.TempDir())
	if _, err := runPlan(t, store, "r1", users(3, plainBody), Guard{}); err != nil {
		t.Fatal(err)
	}
	acceptAll(t, store, "r1", 3)
	rows := users(3, plainBody)
	rows[1] = row{id: "1", reason: `invalid email address in column "email"`}
	res, err := runPlan(t, store, "r2", rows, Guard{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Removed != 0 || res.Invalid != 1 || res.Unchanged != 2 {
		t.Fatalf("plan = %+v, want 2 unchanged, 1 invalid, 0 removed", res)
	}
}

func TestPlanGuard(t *testing.T) {
	tests := []struct {
		name  string
		rows  []row
		guard Guard
		want  string
	}{
		{"empty snapshot", nil, Guard{},
			"snapshot stopped by the mass-change guard: the snapshot has zero rows while the " +
				"baseline has 200 users; check the export, or set allowEmptySnapshot to run it anyway"},
		{"empty snapshot allowed", nil, Guard{AllowEmpty: true, MaxChangedShare: 1}, ""},
		{"every user changed", users(200, func(i int) string { return fmt.Sprintf(`{"userId":"%d","x":1}`, i) }),
			Guard{}, "snapshot stopped by the mass-change guard: 200 of the baseline's 200 users " +
				"would be changed or removed, more than the limit of 50%; check the snapshot, or set " +
				"maxChangedShare (1 turns the check off) to run it anyway"},
		{"share raised", users(200, func(i int) string { return fmt.Sprintf(`{"userId":"%d","x":1}`, i) }),
			Guard{MaxChangedShare: 1}, ""},
		{"under the share", users(150, plainBody), Guard{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store, _ := state.NewLocal(t.TempDir())
			if _, err := runPlan(t, store, "r1", users(200, plainBody), Guard{}); err != nil {
				t.Fatal(err)
			}
			acceptAll(t, store, "r1", 200)
			_, err := runPlan(t, store, "r2", tc.rows, tc.guard)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("plan failed: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want || !errors.Is(err, ErrGuard) {
				t.Fatalf("error = %v\nwant %s", err, tc.want)
			}
			if _, err := store.Open(state.ChangesetName("s", "r2")); !errors.Is(err, state.ErrNotFound) {
				t.Fatalf("a guarded plan stored a changeset: %v", err)
			}
		})
	}
}

func TestPlanDuplicatesOfBaselineUsers(t *testing.T) {
	store, _ := state.NewLocal(t.TempDir())
	if _, err := runPlan(t, store, "r1", users(200, plainBody), Guard{}); err != nil {
		t.Fatal(err)
	}
	acceptAll(t, store, "r1", 200)

	// User 5 appears twice with different bodies, user 7 once valid and
	// once with an invalid email; user 9 changed once.
	rows := users(200, plainBody)
	rows = append(rows, row{id: "5", body: `{"userId":"5","attributes":{"v":9}}`},
		row{id: "7", reason: `invalid email address in column "email"`})
	rows[9].body = `{"userId":"9","attributes":{"v":2}}`
	res, err := runPlan(t, store, "r2", rows, Guard{})
	if err != nil {
		t.Fatal(err)
	}
	want := Counts{Files: 1, Rows: 202, Changed: 1, Unchanged: 197, Invalid: 1, Duplicate: 3}
	if diff := cmp.Diff(want, res.Counts); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]change{{"9", `{"userId":"9","attributes":{"v":2}}`}},
		readChangeset(t, store, "r2", res.Changes)); diff != "" {
		t.Fatalf("changeset (-want +got):\n%s", diff)
	}
	var dupIDs []string
	for _, r := range res.InvalidSample {
		if r.Reason != `invalid email address in column "email"` {
			dupIDs = append(dupIDs, fmt.Sprintf("%s@%d", r.UserID, r.Row))
		}
	}
	if diff := cmp.Diff([]string{"5@5", "5@200", "7@7", "7@201"}, dupIDs); diff != "" {
		t.Fatalf("reported duplicates (-want +got):\n%s", diff)
	}
}
