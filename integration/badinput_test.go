package integration

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sprigsync/sprigsync/mapping"
	"github.com/sprigsync/sprigsync/standin"
	"github.com/sprigsync/sprigsync/state"
	"github.com/sprigsync/sprigsync/workflows"
)

// TestBadSnapshotsLeaveBaseline syncs a good snapshot, then runs the same
// sync on bad inputs: each run fails before sending anything, with an error
// that names the file or the setting to fix, and the baseline is untouched.
func TestBadSnapshotsLeaveBaseline(t *testing.T) {
	h := newHarness(t, standin.Options{})
	in := workflows.SyncInput{SyncID: "bad", RateLimit: 5000,
		Snapshot: testdata("parquet", "users", "users.duckdb.snappy.parquet"),
		Config:   mapping.Config{EmailColumn: "email"}}
	if _, err := h.run(in); err != nil {
		t.Fatal(err)
	}
	before, err := state.LoadBaseline(h.store, workflows.StateKey("bad", "production"))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		snapshot string
		config   mapping.Config
		want     []string // parts of the error message
	}{
		{"truncated", testdata("parquet", "edge", "truncated.parquet"), in.Config,
			[]string{"truncated.parquet"}},
		{"zero bytes", testdata("parquet", "edge", "zero_bytes.parquet"), in.Config,
			[]string{"zero_bytes.parquet"}},
		{"not parquet", testdata("parquet", "edge", "not_parquet.parquet"), in.Config,
			[]string{"not_parquet.parquet"}},
		{"missing file", testdata("parquet", "edge", "no-such-file.parquet"), in.Config,
			[]string{"no-such-file.parquet"}},
		{"zero rows", testdata("parquet", "edge", "empty.parquet"), in.Config,
			[]string{"zero rows", "allowEmptySnapshot"}},
		{"missing user id column", in.Snapshot, mapping.Config{UserIDColumn: "uid"},
			[]string{`"uid"`, "users.duckdb.snappy.parquet"}},
		{"nested column", testdata("parquet", "upstream", "nested_lists.snappy.parquet"),
			mapping.Config{UserIDColumn: "b"}, []string{"nested_lists.snappy.parquet"}},
	}
	sent := h.upserts.Load()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bad := in
			bad.Snapshot, bad.Config = tc.snapshot, tc.config
			sum, err := h.run(bad)
			if err == nil {
				t.Fatal("the run succeeded")
			}
			for _, part := range tc.want {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not name %s", err, part)
				}
			}
			if sum.Status != workflows.StatusFailed || sum.Accepted != 0 {
				t.Errorf("summary = %+v, want failed with nothing sent", sum)
			}
			if h.upserts.Load() != sent {
				t.Fatalf("%d upserts were sent", h.upserts.Load()-sent)
			}
			after, err := state.LoadBaseline(h.store, workflows.StateKey("bad", "production"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before.Entries(), after.Entries()); diff != "" {
				t.Fatalf("baseline changed (-before +after):\n%s", diff)
			}
		})
	}
}
