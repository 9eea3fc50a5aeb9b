package usergen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/sprigsync/sprigsync/mapping"
	"github.com/sprigsync/sprigsync/snapshot"
)

// scanConfig is the mapping the sync uses for this table.
var scanConfig = mapping.Config{UserIDColumn: ColUserID, EmailColumn: ColEmail}

// scannedUser is one row as mapping.Scan delivers it.
type scannedUser struct {
	ID   string
	Body string
}

type collector struct {
	users   []scannedUser
	invalid []mapping.InvalidRow
}

func (c *collector) User(u *mapping.User) error {
	c.users = append(c.users, scannedUser{ID: u.UserID, Body: string(u.Body)})
	return nil
}

func (c *collector) Invalid(r mapping.InvalidRow) error {
	c.invalid = append(c.invalid, r)
	return nil
}

// scanUsers reads the file at path with mapping.Scan and fails the test if
// a row is invalid: every generated value must be valid.
func scanUsers(t *testing.T, path string) []scannedUser {
	t.Helper()
	var c collector
	if _, err := mapping.Scan(context.Background(), path, scanConfig, &c); err != nil {
		t.Fatalf("mapping.Scan(%q): %v", path, err)
	}
	if len(c.invalid) > 0 {
		t.Fatalf("mapping.Scan(%q): %d invalid rows, the first: %+v", path, len(c.invalid), c.invalid[0])
	}
	return c.users
}

// expectedBody returns the request body mapping.Scan should make for u,
// built from u's fields with the standard library only. Attributes are in
// name order and nulls are left out, as the mapping writes them.
func expectedBody(t *testing.T, u user) string {
	t.Helper()
	text := func(v any) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatalf("encoding %v: %v", v, err)
		}
		return strings.TrimSuffix(b.String(), "\n")
	}

	attrs := []string{
		`"country":` + text(countries[u.country]),
		`"display name":` + text(displayNames[u.nameIndex()]),
	}
	if !u.isAdminNull {
		attrs = append(attrs, `"is_admin":`+strconv.FormatBool(u.isAdmin))
	}
	lastSeen := time.Unix(int64(u.lastSeen)*86400, 0).UTC().Format(time.DateOnly)
	attrs = append(attrs, `"last_seen_date":"`+lastSeen+`"`)
	if !u.mrrNull {
		attrs = append(attrs, fmt.Sprintf(`"mrr":%d.%02d`, u.mrr/100, u.mrr%100))
	}
	attrs = append(attrs, `"plan":`+text(plans[u.plan]))
	if !u.scoreNull {
		attrs = append(attrs, `"score":`+text(u.score))
	}
	if !u.seatsNull {
		attrs = append(attrs, `"seats":`+strconv.Itoa(int(u.seats)))
	}
	signup := time.UnixMicro(u.signupAt).UTC().Format("2006-01-02T15:04:05.999999Z07:00")
	attrs = append(attrs, `"signup_at":"`+signup+`"`)
	if !u.utmNull {
		attrs = append(attrs, `"utm.source":`+text(utmSources[u.utmSource]))
	}
	return fmt.Sprintf(`{"userId":"%d","emailAddress":%s,"attributes":{%s}}`,
		u.id, text(u.email), strings.Join(attrs, ","))
}

// expectedUsers returns the users of rows 0 to rows-1 of the table of seed.
func expectedUsers(t *testing.T, seed uint64, rows int) []scannedUser {
	users := make([]scannedUser, rows)
	for row := range users {
		u := newUser(seed, int64(row))
		users[row] = scannedUser{ID: strconv.FormatInt(u.id, 10), Body: expectedBody(t, u)}
	}
	return users
}

// diffUsers compares two user lists and describes at most the first five
// differences, so a failure stays readable for large tables.
func diffUsers(want, got []scannedUser) string {
	var out []string
	if len(want) != len(got) {
		out = append(out, fmt.Sprintf("got %d users, want %d", len(got), len(want)))
	}
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] && len(out) < 5 {
			out = append(out, fmt.Sprintf("row %d (-want +got):\n%s", i, cmp.Diff(want[i], got[i])))
		}
	}
	return strings.Join(out, "\n")
}

func writeTemp(t *testing.T, opts Options) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.parquet")
	if err := WriteFile(path, opts); err != nil {
		t.Fatalf("WriteFile(%+v): %v", opts, err)
	}
	return path
}

// TestRowBodies pins the exact request bodies of a few rows of seed 1, so
// that any change to the generated values shows up here. Row 9 has a null
// score, row 11 a null is_admin, row 2 a null utm.source.
func TestRowBodies(t *testing.T) {
	users := scanUsers(t, writeTemp(t, Options{Rows: 12, Seed: 1}))
	tests := []struct {
		row  int
		want string
	}{
		{0, `{"userId":"1000000","emailAddress":"diego.dubois0@globex.example","attributes":{` +
			`"country":"United States","display name":"Diego Dubois","is_admin":false,` +
			`"last_seen_date":"2022-10-20","mrr":0.00,"plan":"free","score":97.6654454838587,` +
			`"seats":1,"signup_at":"2022-09-23T15:08:57.514586Z","utm.source":"producthunt"}}`},
		{1, `{"userId":"1000001","emailAddress":"amara.rossi1@initech.example","attributes":{` +
			`"country":"Sverige","display name":"Amara Rossi","is_admin":false,` +
			`"last_seen_date":"2025-05-24","mrr":27411.75,"plan":"enterprise",` +
			`"score":68.50088467183338,"seats":655,"signup_at":"2025-02-13T08:45:55.646494Z",` +
			`"utm.source":"linkedin"}}`},
		{2, `{"userId":"1000002","emailAddress":"amara.novak2@umbrella.example","attributes":{` +
			`"country":"Ísland","display name":"Amara Novák","is_admin":false,` +
			`"last_seen_date":"2020-04-03","mrr":0.00,"plan":"free","score":6.518271737785286,` +
			`"seats":1,"signup_at":"2018-09-29T15:21:53.812638Z"}}`},
		{9, `{"userId":"1000009","emailAddress":"hana.chen9@globex.example","attributes":{` +
			`"country":"日本","display name":"Hana Chen","is_admin":false,` +
			`"last_seen_date":"2025-08-24","mrr":1226.70,"plan":"pro","seats":47,` +
			`"signup_at":"2024-11-25T23:01:56.209559Z"}}`},
		{11, `{"userId":"1000011","emailAddress":"tomas.mensah11@example.org","attributes":{` +
			`"country":"Brasil","display name":"Tomás Mensah","last_seen_date":"2023-09-24",` +
			`"mrr":0.00,"plan":"free","score":58.4051982344461,"seats":1,` +
			`"signup_at":"2022-06-30T12:00:38.709952Z","utm.source":"google"}}`},
	}
	if len(users) != 12 {
		t.Fatalf("got %d users, want 12", len(users))
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.row), func(t *testing.T) {
			if diff := cmp.Diff(tt.want, users[tt.row].Body); diff != "" {
				t.Errorf("body read back (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, expectedBody(t, newUser(1, int64(tt.row)))); diff != "" {
				t.Errorf("expectedBody, the reference of the other tests (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWriteReadsBack writes tables with every codec and several layouts
// and checks every row that mapping.Scan reads against expectedBody, and
// the row-group count and metadata that the file states.
func TestWriteReadsBack(t *testing.T) {
	large := 70_000 // more than two batches of batchRows
	if testing.Short() {
		large = 2_500
	}
	tests := []struct {
		name      string
		opts      Options
		rowGroups int
	}{
		{"snappy", Options{Rows: large, Seed: 1}, 1},
		{"zstd", Options{Rows: 3_000, Seed: 2, Compression: "zstd"}, 1},
		{"gzip", Options{Rows: 3_000, Seed: 3, Compression: "gzip"}, 1},
		{"none", Options{Rows: 3_000, Seed: 4, Compression: "none"}, 1},
		{"row groups", Options{Rows: large, Seed: 5, RowGroupRows: large / 2}, 2},
		{"row groups with rest", Options{Rows: 2_501, Seed: 6, RowGroupRows: 1_000}, 3},
		{"one row per group", Options{Rows: 3, Seed: 7, RowGroupRows: 1}, 3},
		{"one row", Options{Rows: 1, Seed: 8}, 1},
		{"no rows", Options{Rows: 0, Seed: 9}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTemp(t, tt.opts)
			got := scanUsers(t, path)
			if diff := diffUsers(expectedUsers(t, tt.opts.Seed, tt.opts.Rows), got); diff != "" {
				t.Errorf("users read back differ:\n%s", diff)
			}

			f, err := snapshot.Open(path)
			if err != nil {
				t.Fatalf("snapshot.Open: %v", err)
			}
			defer f.Close()
			if f.RowGroups != tt.rowGroups {
				t.Errorf("got %d row groups, want %d", f.RowGroups, tt.rowGroups)
			}

			wantMeta := fmt.Sprintf(`{"rows":%d,"seed":%d}`, tt.opts.Rows, tt.opts.Seed)
			if got := lookupMetadata(t, path); got != wantMeta {
				t.Errorf("metadata %q = %q, want %q", MetadataKey, got, wantMeta)
			}
		})
	}
}

// lookupMetadata returns the footer's MetadataKey entry of the file at path.
func lookupMetadata(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("parquet.OpenFile(%q): %v", path, err)
	}
	v, ok := f.Lookup(MetadataKey)
	if !ok {
		t.Fatalf("%q has no %q metadata", path, MetadataKey)
	}
	return v
}

// TestWriteDeterministic checks that equal Options give byte-identical
// files, from Write and from WriteFile, and that another seed does not.
func TestWriteDeterministic(t *testing.T) {
	rows := 70_000 // more than two batches
	if testing.Short() {
		rows = 3_000
	}
	for _, compression := range []string{"snappy", "zstd", "gzip", "none"} {
		t.Run(compression, func(t *testing.T) {
			opts := Options{Rows: rows, Seed: 42, RowGroupRows: rows / 2, Compression: compression}
			var first, second, other bytes.Buffer
			if err := Write(&first, opts); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if err := Write(&second, opts); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if !bytes.Equal(first.Bytes(), second.Bytes()) {
				t.Errorf("two writes of %+v differ (%d and %d bytes)", opts, first.Len(), second.Len())
			}

			fromFile, err := os.ReadFile(writeTemp(t, opts))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first.Bytes(), fromFile) {
				t.Errorf("WriteFile and Write of %+v differ", opts)
			}

			opts.Seed++
			if err := Write(&other, opts); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if bytes.Equal(first.Bytes(), other.Bytes()) {
				t.Errorf("seeds 42 and 43 gave the same file")
			}
		})
	}
}

// TestTableValues checks the rules every generated row follows.
func TestTableValues(t *testing.T) {
	rows := 200_000
	if testing.Short() {
		rows = 5_000
	}
	seenEmail := make(map[string]int64, rows)
	var nullSeats, nullMRR, nullScore, nullAdmin, nullUTM int
	signupFirst := time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	signupLast := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	lastSeenMax := int32(time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC).Unix() / 86400)
	for row := range int64(rows) {
		u := newUser(3, row)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("row %d (user %d): %s", row, u.id, fmt.Sprintf(format, args...))
		}
		if u.id != FirstUserID+row {
			fail("id %d, want %d", u.id, FirstUserID+row)
		}
		if other, dup := seenEmail[u.email]; dup {
			fail("email %q is also the email of row %d", u.email, other)
		}
		seenEmail[u.email] = row
		local, domain, ok := strings.Cut(u.email, "@")
		if !ok || local == "" || strings.ContainsAny(domain, "@ ") || !strings.Contains(domain, ".") {
			fail("invalid email %q", u.email)
		}
		if u.seats < 1 || u.seats > 2000 {
			fail("seats %d outside 1 to 2000", u.seats)
		}
		if u.mrr < 0 || (u.plan == 0) != (u.mrr == 0) {
			fail("mrr %d cents for plan %q", u.mrr, plans[u.plan])
		}
		if u.score < 0 || u.score >= 100 {
			fail("score %v outside [0, 100)", u.score)
		}
		if u.signupAt < signupFirst || u.signupAt >= signupLast {
			fail("signup_at %d outside 2016 to 2025", u.signupAt)
		}
		if day := int32(u.signupAt / microsPerDay); u.lastSeen < day || u.lastSeen > lastSeenMax {
			fail("last_seen_date day %d outside signup day %d to %d", u.lastSeen, day, lastSeenMax)
		}
		for _, null := range []struct {
			is    bool
			count *int
		}{{u.seatsNull, &nullSeats}, {u.mrrNull, &nullMRR}, {u.scoreNull, &nullScore},
			{u.isAdminNull, &nullAdmin}, {u.utmNull, &nullUTM}} {
			if null.is {
				*null.count++
			}
		}
	}

	// The generator makes 4, 3, 10, 6 and 35 percent of these columns null.
	// For seed 3 and 5,000 rows or more, each share lands within its band.
	shares := []struct {
		column    string
		nulls     int
		low, high float64
	}{
		{ColSeats, nullSeats, 0.03, 0.05}, {ColMRR, nullMRR, 0.02, 0.04},
		{ColScore, nullScore, 0.08, 0.12}, {ColIsAdmin, nullAdmin, 0.05, 0.07},
		{ColUTMSource, nullUTM, 0.33, 0.37},
	}
	for _, s := range shares {
		share := float64(s.nulls) / float64(rows)
		if share < s.low || share > s.high {
			t.Errorf("column %q: %.4f of rows are null, want %.2f to %.2f", s.column, share, s.low, s.high)
		}
	}
}

// TestOptionsErrors checks that invalid Options are rejected with an error
// that names the value and that nothing is written.
func TestOptionsErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"negative rows", Options{Rows: -1}, "invalid Rows -1: the row count must be 0 or more"},
		{"negative row group", Options{Rows: 1, RowGroupRows: -5},
			"invalid RowGroupRows -5: use a positive row count, or 0 for the default of 1000000"},
		{"unknown codec", Options{Rows: 1, Compression: "lz4"},
			`invalid compression "lz4": use snappy, zstd, gzip or none`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tt.opts)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Write(%+v) = %v, want error %q", tt.opts, err, tt.want)
			}
			if buf.Len() != 0 {
				t.Errorf("Write(%+v) wrote %d bytes before failing", tt.opts, buf.Len())
			}
		})
	}
}

// TestWriteFileAtomic checks that WriteFile replaces a file only when the
// new one is complete, and leaves no temporary file behind.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users.parquet")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}

	err := WriteFile(path, Options{Rows: 10, Compression: "brotli"})
	if err == nil {
		t.Fatal("WriteFile with an invalid compression succeeded")
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("after a failed WriteFile the file holds %q, want the old content", got)
	}

	if err := WriteFile(path, Options{Rows: 10, Seed: 1}); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	var want bytes.Buffer
	if err := Write(&want, Options{Rows: 10, Seed: 1}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want.Bytes()) {
		t.Errorf("WriteFile left %d bytes, want the %d bytes Write makes", len(got), want.Len())
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"users.parquet"}, names); diff != "" {
		t.Errorf("files in the directory (-want +got):\n%s", diff)
	}

	missing := filepath.Join(dir, "no-such-dir", "users.parquet")
	if err := WriteFile(missing, Options{Rows: 1}); err == nil {
		t.Errorf("WriteFile(%q) into a missing directory succeeded", missing)
	}
}

// BenchmarkWrite measures Write of one million rows to io.Discard with each
// codec; rows/s is the rate.
func BenchmarkWrite(b *testing.B) {
	const rows = 1_000_000
	for _, compression := range []string{"snappy", "zstd", "none"} {
		b.Run(compression, func(b *testing.B) {
			for b.Loop() {
				if err := Write(io.Discard, Options{Rows: rows, Seed: 1, Compression: compression}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
