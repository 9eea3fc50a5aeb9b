package plan

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sprigsync/sprigsync/mapping"
	"github.com/sprigsync/sprigsync/state"
)

// TestReencodedSnapshotsChangeNothing plans DuckDB's export of the user
// table, accepts every user, then plans the same table as written by other
// producers and settings: each must find every user unchanged.
func TestReencodedSnapshotsChangeNothing(t *testing.T) {
	dir := filepath.Join("..", "testdata", "parquet", "users")
	cfg := mapping.Config{UserIDColumn: "user_id", EmailColumn: "email"}
	store, err := state.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	first, err := Run(context.Background(), Input{Store: store, SyncID: "s", RunID: "base",
		Snapshot: filepath.Join(dir, "users.duckdb.snappy.parquet"), Mapping: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if first.Added != 1995 || first.Invalid != 5 {
		t.Fatalf("first plan = %+v, want 1995 added and 5 invalid", first.Counts)
	}
	acceptAll(t, store, "base", first.Changes)

	variants := []string{
		"users.arrowgo.int96.parquet",
		"users.arrowgo.nodict.v2pages.parquet",
		"users.arrowrs.lz4raw.v2.parquet",
		"users.duckdb.brotli.parquet",
		"users.duckdb.gzip.parquet",
		"users.duckdb.reordered.parquet",
		"users.duckdb.rowgroups500.parquet",
		"users.duckdb.uncompressed.parquet",
		"users.duckdb.user_id_varchar.parquet",
		"users.duckdb.v2.parquet",
		"users.duckdb.zstd.parquet",
		"parts",
		"parts/part-*.parquet",
	}
	for i, v := range variants {
		t.Run(v, func(t *testing.T) {
			res, err := Run(context.Background(), Input{Store: store, SyncID: "s",
				RunID: "r" + string(rune('a'+i)), Snapshot: filepath.Join(dir, v), Mapping: cfg})
			if err != nil {
				t.Fatal(err)
			}
			want := Counts{Files: res.Files, Rows: 2000, Unchanged: 1995, Invalid: 5}
			if diff := cmp.Diff(want, res.Counts); diff != "" {
				t.Fatalf("plan of %s (-want +got):\n%s", v, diff)
			}
		})
	}
}
