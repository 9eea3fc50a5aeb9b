package mapping

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var usersConfig = Config{EmailColumn: "email"}

// withoutLocation returns the records without file and row, which differ
// between a single file and part files.
func withoutLocation(records []record) []record {
	out := make([]record, len(records))
	for i, r := range records {
		r.File, r.Row = "", 0
		out[i] = r
	}
	return out
}

func TestScanUsersVariantsIdentical(t *testing.T) {
	base, st := scanAll(t, filepath.Join(testdata, "users/users.duckdb.snappy.parquet"), usersConfig)
	if st != (Stats{Files: 1, Rows: 2000, Users: 1995, Invalid: 5}) {
		t.Errorf("base file stats = %+v", st)
	}
	want := withoutLocation(base)

	variants, err := filepath.Glob(filepath.Join(testdata, "users/users.*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(variants) != 12 {
		t.Fatalf("found %d users/*.parquet variants, want 12", len(variants))
	}
	locations := append(variants,
		filepath.Join(testdata, "users/parts"),
		filepath.Join(testdata, "users/parts/part-*.parquet"),
	)
	for _, loc := range locations {
		t.Run(filepath.Base(loc), func(t *testing.T) {
			got, st := scanAll(t, loc, usersConfig)
			if st.Rows != 2000 || st.Users != 1995 || st.Invalid != 5 {
				t.Errorf("stats = %+v, want 2000 rows, 1995 users, 5 invalid", st)
			}
			if diff := cmp.Diff(want, withoutLocation(got)); diff != "" {
				t.Errorf("records differ from users.duckdb.snappy.parquet (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScanPartsLocation(t *testing.T) {
	got, st := scanAll(t, filepath.Join(testdata, "users/parts"), usersConfig)
	if st.Files != 3 {
		t.Errorf("Files = %d, want 3", st.Files)
	}
	// Rows are numbered within each file, files in lexical order.
	type loc struct {
		File string
		Row  int64
	}
	want := []loc{
		{filepath.Join(testdata, "users/parts/part-00000.parquet"), 0},
		{filepath.Join(testdata, "users/parts/part-00001.parquet"), 0},
		{filepath.Join(testdata, "users/parts/part-00002.parquet"), 0},
		{filepath.Join(testdata, "users/parts/part-00002.parquet"), 665},
	}
	gotLocs := []loc{
		{got[0].File, got[0].Row}, {got[667].File, got[667].Row},
		{got[1334].File, got[1334].Row}, {got[1999].File, got[1999].Row},
	}
	if diff := cmp.Diff(want, gotLocs); diff != "" {
		t.Errorf("row locations (-want +got):\n%s", diff)
	}
}

// readReference reads a gzipped DuckDB reference file, decoding numbers as
// json.Number.
func readReference(t *testing.T, rel string) []map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join(testdata, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		rows = append(rows, decodeJSON(t, sc.Text()))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func decodeJSON(t *testing.T, text string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decoding %q: %v", text, err)
	}
	return m
}

// TestScanMatchesReference decodes every body and checks each field against
// DuckDB's reference values, independently of the formatting code.
func TestScanMatchesReference(t *testing.T) {
	for _, name := range []string{"users/users.duckdb.snappy", "users/snapshot2/users"} {
		t.Run(name, func(t *testing.T) {
			got, _ := scanAll(t, filepath.Join(testdata, name+".parquet"), usersConfig)
			want := readReference(t, name+".expected.jsonl.gz")
			if len(got) != len(want) {
				t.Fatalf("got %d records, want %d", len(got), len(want))
			}
			for i := range want {
				if err := checkRecord(t, got[i], want[i]); err != nil {
					t.Errorf("row %d (user %v): %v", i, want[i]["user_id"], err)
				}
			}
		})
	}
}

// emailRule is the documented email rule as a regular expression, written
// independently of validEmail: one '@', a non-empty local part, at least two
// non-empty domain labels, no white space or control characters.
var emailRule = regexp.MustCompile(`^[^@\s\pC]+@[^@\s\pC.]+(\.[^@\s\pC.]+)+$`)

// checkRecord checks one record against a reference row of the user table.
func checkRecord(t *testing.T, r record, ref map[string]any) error {
	if r.UserID != fmt.Sprint(ref["user_id"]) {
		return fmt.Errorf("UserID %q", r.UserID)
	}
	email, _ := ref["email"].(string)
	email = strings.TrimSpace(email)
	if r.Invalid != "" {
		if r.Invalid != `invalid email address in column "email"` || emailRule.MatchString(email) {
			return fmt.Errorf("unexpected invalid row: %s", r.Invalid)
		}
		return nil
	}
	body := decodeJSON(t, r.Body)
	if body["userId"] != r.UserID {
		return fmt.Errorf("body userId %v", body["userId"])
	}
	if got, _ := body["emailAddress"].(string); got != email {
		return fmt.Errorf("emailAddress %q, want %q", got, email)
	}
	attrs, _ := body["attributes"].(map[string]any)
	for col, want := range ref {
		if col == "user_id" || col == "email" {
			continue
		}
		got, present := attrs[col]
		if err := checkValue(col, got, present, want); err != nil {
			return err
		}
	}
	if len(attrs) > 10 {
		return fmt.Errorf("%d attributes, the table has 10 attribute columns", len(attrs))
	}
	return nil
}

func checkValue(col string, got any, present bool, want any) error {
	switch w := want.(type) {
	case nil:
		if present {
			return fmt.Errorf("%s: null sent as %v", col, got)
		}
		return nil
	case string:
		if w == "NaN" || w == "Infinity" || w == "-Infinity" {
			if present {
				return fmt.Errorf("%s: %s sent as %v", col, w, got)
			}
			return nil
		}
		if col == "signup_at" {
			ts, err := time.Parse("2006-01-02 15:04:05.999999999", strings.TrimSuffix(w, "+00"))
			if err != nil {
				return err
			}
			w = ts.Format(time.RFC3339Nano)
		}
		if got != w {
			return fmt.Errorf("%s: got %v, want %q", col, got, w)
		}
	case bool:
		if got != w {
			return fmt.Errorf("%s: got %v, want %v", col, got, w)
		}
	case json.Number:
		if !present {
			return fmt.Errorf("%s: %v left out", col, w)
		}
		g := fmt.Sprint(got) // a json.Number, or a string for big values
		gr, ok1 := new(big.Rat).SetString(g)
		wr, ok2 := new(big.Rat).SetString(string(w))
		if !ok1 || !ok2 || gr.Cmp(wr) != 0 {
			return fmt.Errorf("%s: got %v, want %v", col, got, w)
		}
	default:
		return fmt.Errorf("%s: unexpected reference value %T", col, want)
	}
	return nil
}

// TestScanSnapshot2Changes checks that the bodies of snapshot 2 differ from
// those of snapshot 1 for exactly the changed users.
func TestScanSnapshot2Changes(t *testing.T) {
	var changes struct {
		Removed []json.Number `json:"removed_user_ids"`
		Added   []json.Number `json:"added_user_ids"`
		Changed []struct {
			UserID json.Number `json:"user_id"`
		} `json:"changed"`
	}
	raw, err := os.ReadFile(filepath.Join(testdata, "users/snapshot2/changes.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&changes); err != nil {
		t.Fatal(err)
	}

	byID := func(records []record) map[string]string {
		m := make(map[string]string)
		for _, r := range records {
			m[r.UserID] = r.Body + r.Invalid
		}
		return m
	}
	old, _ := scanAll(t, filepath.Join(testdata, "users/users.duckdb.snappy.parquet"), usersConfig)
	cur, _ := scanAll(t, filepath.Join(testdata, "users/snapshot2/users.parquet"), usersConfig)
	before, after := byID(old), byID(cur)

	var removed, added, changed []string
	for id, b := range before {
		a, ok := after[id]
		switch {
		case !ok:
			removed = append(removed, id)
		case a != b:
			changed = append(changed, id)
		}
	}
	for id := range after {
		if _, ok := before[id]; !ok {
			added = append(added, id)
		}
	}
	strs := func(ns []json.Number) []string {
		s := make([]string, len(ns))
		for i, n := range ns {
			s[i] = string(n)
		}
		return s
	}
	var wantChanged []string
	for _, c := range changes.Changed {
		wantChanged = append(wantChanged, string(c.UserID))
	}
	sorted := cmp.Transformer("sort", func(s []string) []string {
		out := append([]string(nil), s...)
		sortStrings(out)
		return out
	})
	for _, c := range []struct {
		set       string
		want, got []string
	}{
		{"removed", strs(changes.Removed), removed},
		{"added", strs(changes.Added), added},
		{"changed", wantChanged, changed},
	} {
		if diff := cmp.Diff(c.want, c.got, sorted); diff != "" {
			t.Errorf("%s users (-want +got):\n%s", c.set, diff)
		}
	}
}

func TestScanDuplicateUserIDs(t *testing.T) {
	got, st := scanAll(t, filepath.Join(testdata, "edge/duplicate_user_ids.parquet"), usersConfig)
	if st.Rows != 63 || st.Users+st.Invalid != 63 {
		t.Errorf("stats = %+v, want 63 rows", st)
	}
	count := make(map[string]int)
	for _, r := range got {
		count[r.UserID]++
	}
	for _, id := range []string{"9007199254740993", "1000791", "1000985"} {
		if count[id] != 2 {
			t.Errorf("user %s appears %d times, want 2", id, count[id])
		}
	}
}

func TestScanEmptyAndNullUserIDs(t *testing.T) {
	got, st := scanAll(t, filepath.Join(testdata, "edge/user_id_empty_and_null.parquet"), usersConfig)
	if st != (Stats{Files: 1, Rows: 10, Users: 8, Invalid: 2}) {
		t.Errorf("stats = %+v, want 10 rows, 8 users, 2 invalid", st)
	}
	var invalid []record
	for _, r := range got {
		if r.Invalid != "" {
			r.File = filepath.Base(r.File)
			invalid = append(invalid, r)
		}
	}
	want := []record{
		{File: "user_id_empty_and_null.parquet", Row: 3, Invalid: `missing user id: column "user_id" is empty`},
		{File: "user_id_empty_and_null.parquet", Row: 6, Invalid: `missing user id: column "user_id" is null`},
	}
	if diff := cmp.Diff(want, invalid); diff != "" {
		t.Errorf("invalid rows (-want +got):\n%s", diff)
	}
}

func TestScanEmptyFile(t *testing.T) {
	got, st := scanAll(t, filepath.Join(testdata, "edge/empty.parquet"), usersConfig)
	if len(got) != 0 || st != (Stats{Files: 1}) {
		t.Errorf("got %d records and stats %+v, want none and 1 file", len(got), st)
	}
}

func TestScanRejectsBadFiles(t *testing.T) {
	lz4Config := Config{UserIDColumn: "c0", Attributes: map[string]string{"v11": "v11"}}
	tests := []struct {
		file string
		cfg  Config
		want string
	}{
		{"edge/not_parquet.parquet", usersConfig, "not a Parquet file"},
		{"edge/truncated.parquet", usersConfig, `does not end with the magic bytes "PAR1"`},
		{"edge/zero_bytes.parquet", usersConfig, "the file is empty (0 bytes)"},
		{"upstream/uniform_encryption.parquet.encrypted", usersConfig, "Parquet modular encryption"},
		{"upstream/bad_data/ARROW-RS-GH-6229-DICTHEADER.parquet", usersConfig, "lies outside the file"},
		{"upstream/bad_data/PARQUET-1481.parquet", usersConfig, "invalid physical type"},
		{"upstream/non_hadoop_lz4_compressed.parquet", lz4Config, "compression codec LZ4 is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(testdata, tt.file)
			var c collector
			_, err := Scan(context.Background(), path, tt.cfg, &c)
			if !errors.Is(err, ErrInvalidSnapshot) {
				t.Fatalf("error %v does not wrap ErrInvalidSnapshot", err)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name the file and contain %q", err, tt.want)
			}
			if len(c.records) != 0 {
				t.Errorf("handler received %d rows", len(c.records))
			}
		})
	}
}

// TestScanBadFileAmongParts checks that a bad part file fails the scan
// before any row of the good parts reaches the handler.
func TestScanBadFileAmongParts(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"part-00000.parquet", "part-00001.parquet"} {
		data, err := os.ReadFile(filepath.Join(testdata, "users/parts", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(filepath.Join(testdata, "edge/truncated.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "part-00002.parquet")
	if err := os.WriteFile(bad, data, 0o644); err != nil {
		t.Fatal(err)
	}

	var c collector
	_, err = Scan(context.Background(), dir, usersConfig, &c)
	if !errors.Is(err, ErrInvalidSnapshot) || !strings.Contains(err.Error(), bad) {
		t.Errorf("error %v, want ErrInvalidSnapshot naming %s", err, bad)
	}
	if len(c.records) != 0 {
		t.Errorf("handler received %d rows before the error", len(c.records))
	}
}

func TestScanNoFiles(t *testing.T) {
	dir := t.TempDir()
	for _, loc := range []string{dir, filepath.Join(dir, "*.parquet"), filepath.Join(dir, "missing.parquet")} {
		_, err := Scan(context.Background(), loc, usersConfig, &collector{})
		if !errors.Is(err, ErrInvalidSnapshot) || !strings.Contains(err.Error(), loc) {
			t.Errorf("Scan(%q): error %v, want ErrInvalidSnapshot naming the location", loc, err)
		}
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
