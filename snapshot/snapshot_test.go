package snapshot

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testdata is the folder of Parquet test files; see its README.md.
const testdata = "../testdata/parquet"

// rejected lists the test files that Open or Reader.Next must reject, with a
// piece of the expected message. Every file with an .expected.error.txt
// reference must be here; the others here have DuckDB references but use a
// feature that this package does not decode.
var rejected = map[string]string{
	"edge/not_parquet.parquet":                              `starts with "user" instead of the magic bytes "PAR1"`,
	"edge/truncated.parquet":                                `does not end with the magic bytes "PAR1"`,
	"edge/zero_bytes.parquet":                               "the file is empty (0 bytes)",
	"upstream/bad_data/ARROW-RS-GH-6229-DICTHEADER.parquet": "lies outside the file",
	"upstream/bad_data/PARQUET-1481.parquet":                "invalid physical type -7",
	"upstream/uniform_encryption.parquet.encrypted":         "Parquet modular encryption",
	"upstream/non_hadoop_lz4_compressed.parquet":            "compression codec LZ4 is not supported",
}

// testFiles returns the Parquet files under testdata, relative to it.
func testFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(testdata, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if strings.HasSuffix(name, ".parquet") || strings.HasSuffix(name, ".parquet.encrypted") {
			rel, _ := filepath.Rel(testdata, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 40 {
		t.Fatalf("found %d test files under %s; expected the full set", len(files), testdata)
	}
	return files
}

func referenceBase(rel string) string {
	return filepath.Join(testdata, strings.TrimSuffix(rel, ".parquet"))
}

// TestReadReferenceFiles reads every test file and compares every value of
// every supported column with DuckDB's reference, or checks that the file
// is rejected with an error naming it.
func TestReadReferenceFiles(t *testing.T) {
	for _, rel := range testFiles(t) {
		t.Run(rel, func(t *testing.T) {
			path := filepath.Join(testdata, rel)
			_, statErr := os.Stat(referenceBase(rel) + ".expected.error.txt")
			hasErrorRef := statErr == nil
			want, isRejected := rejected[rel]
			if hasErrorRef && !isRejected {
				t.Fatalf("%s has an error reference but is missing from the rejected table", rel)
			}

			got, cols, err := readAll(path)
			if isRejected {
				if err == nil {
					t.Fatalf("reading %s succeeded, want an error containing %q", rel, want)
				}
				var fe *FileError
				if !errors.As(err, &fe) || fe.Path != path {
					t.Errorf("error %v is not a *FileError for %s", err, path)
				}
				if !errors.Is(err, ErrUnreadable) {
					t.Errorf("error %v does not wrap ErrUnreadable", err)
				}
				if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
					t.Errorf("error %q does not contain %q and the path", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("reading %s: %v", rel, err)
			}
			compareWithReference(t, rel, cols, got)
		})
	}
}

// readAll reads every supported column of the file at path, returning one
// map per row from column name to the value's canonical form (see
// canonical), and the columns read.
func readAll(path string) ([]map[string]any, []Column, error) {
	f, err := Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()

	var idx []int
	var cols []Column
	for i, c := range f.Columns {
		if c.Kind == KindUnsupported {
			continue
		}
		idx = append(idx, i)
		cols = append(cols, c)
	}

	// A small batch size makes batches end inside pages and row groups.
	r, err := f.NewReader(idx, 97)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()

	var rows []map[string]any
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		if b.Offset != int64(len(rows)) {
			return nil, nil, fmt.Errorf("batch offset %d, want %d", b.Offset, len(rows))
		}
		for i := 0; i < b.Len; i++ {
			row := make(map[string]any, len(cols))
			for k := range cols {
				row[cols[k].Name] = canonical(&cols[k], &b.Columns[k], i)
			}
			rows = append(rows, row)
		}
	}
	return rows, cols, nil
}

// canonical returns row i of v in a form that compares equal to
// canonicalReference of the same value in DuckDB's JSON: nil for null,
// int64, uint64, bool or string.
func canonical(c *Column, v *Values, i int) any {
	if v.Null[i] {
		return nil
	}
	switch c.Kind {
	case KindBool:
		return v.Bool[i]
	case KindInt:
		return v.Int[i]
	case KindUint:
		return uint64(v.Int[i])
	case KindFloat, KindFloat16, KindDouble:
		return floatText(v.Float[i])
	case KindDecimal:
		r := new(big.Rat)
		if c.Storage == StorageInt {
			r.SetInt64(v.Int[i])
		} else {
			r.SetInt(twosComplement(v.Bytes[i]))
		}
		r.Quo(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(c.Scale)), nil)))
		return r.RatString()
	case KindString:
		return string(v.Bytes[i])
	case KindBinary:
		return blobText(v.Bytes[i])
	case KindUUID:
		b := v.Bytes[i]
		return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	case KindDate:
		return time.Unix(v.Int[i]*86400, 0).UTC().Format(time.DateOnly)
	case KindTimestamp:
		return timestampOf(c, v, i).Format(time.RFC3339Nano)
	case KindTime:
		return time.Duration(v.Int[i] * (int64(time.Second) / perSecond(c.Unit))).String()
	}
	return fmt.Sprintf("unexpected kind %v", c.Kind)
}

func perSecond(u Unit) int64 {
	switch u {
	case UnitMillis:
		return 1e3
	case UnitMicros:
		return 1e6
	}
	return 1e9
}

// timestampOf converts a timestamp value with time.Unix, which covers years
// 0000 to 9999 (unlike a time.Duration in nanoseconds).
func timestampOf(c *Column, v *Values, i int) time.Time {
	if c.Unit == UnitInt96 {
		b := v.Bytes[i]
		var nanos int64
		for k := 7; k >= 0; k-- {
			nanos = nanos<<8 | int64(b[k])
		}
		julian := int64(int32(uint32(b[8]) | uint32(b[9])<<8 | uint32(b[10])<<16 | uint32(b[11])<<24))
		return time.Unix((julian-2440588)*86400, nanos).UTC()
	}
	ps := perSecond(c.Unit)
	secs, frac := v.Int[i]/ps, v.Int[i]%ps
	if frac < 0 {
		secs, frac = secs-1, frac+ps
	}
	return time.Unix(secs, frac*(1e9/ps)).UTC()
}

func twosComplement(b []byte) *big.Int {
	z := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		z.Sub(z, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return z
}

// floatText returns f as text that distinguishes every float64 value,
// including -0 and the special values.
func floatText(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0 && math.Signbit(f):
		return "-0"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// blobText writes bytes as DuckDB shows a BLOB: printable ASCII as is,
// every other byte and '\\' and '"' as \xNN.
func blobText(b []byte) string {
	var sb strings.Builder
	for _, x := range b {
		if x >= 0x20 && x < 0x7f && x != '\\' && x != '"' {
			sb.WriteByte(x)
		} else {
			fmt.Fprintf(&sb, `\x%02X`, x)
		}
	}
	return sb.String()
}

// canonicalReference converts a value of DuckDB's JSON, decoded with
// UseNumber, into the form canonical gives for a column of c's kind.
func canonicalReference(c *Column, x any) (any, error) {
	if x == nil {
		return nil, nil
	}
	num, isNum := x.(json.Number)
	str, isStr := x.(string)
	switch c.Kind {
	case KindBool:
		return x, nil
	case KindInt:
		if isNum {
			return num.Int64()
		}
	case KindUint:
		if isNum {
			return strconv.ParseUint(string(num), 10, 64)
		}
	case KindFloat, KindFloat16, KindDouble:
		if isStr {
			return str, nil
		}
		if isNum {
			f, err := strconv.ParseFloat(string(num), 64)
			return floatText(f), err
		}
	case KindDecimal:
		if isNum {
			r, ok := new(big.Rat).SetString(string(num))
			if !ok {
				return nil, fmt.Errorf("bad decimal %q", num)
			}
			return r.RatString(), nil
		}
	case KindString, KindBinary, KindUUID, KindDate:
		if isStr {
			return str, nil
		}
	case KindTimestamp:
		if isStr {
			ts, err := time.Parse("2006-01-02 15:04:05.999999999", strings.TrimSuffix(str, "+00"))
			return ts.Format(time.RFC3339Nano), err
		}
	case KindTime:
		if isStr {
			ts, err := time.Parse("15:04:05.999999999", str)
			return ts.Sub(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)).String(), err
		}
	}
	return nil, fmt.Errorf("reference value %v (%T) does not fit a %v column", x, x, c.Kind)
}

// readReference reads the DuckDB reference rows of a test file, decoding
// numbers as json.Number.
func readReference(rel string) ([]map[string]any, error) {
	f, err := os.Open(referenceBase(rel) + ".expected.jsonl.gz")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var rows []map[string]any
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.UseNumber()
		var row map[string]any
		if err := dec.Decode(&row); err != nil {
			return nil, fmt.Errorf("%s: %w", rel, err)
		}
		rows = append(rows, row)
	}
	return rows, sc.Err()
}

// isNestedDuckDBType reports whether typ is the DuckDB type of a nested
// column, which Column marks unsupported.
func isNestedDuckDBType(typ string) bool {
	return strings.HasSuffix(typ, "[]") || strings.HasPrefix(typ, "STRUCT") ||
		strings.HasPrefix(typ, "MAP")
}

func compareWithReference(t *testing.T, rel string, cols []Column, got []map[string]any) {
	t.Helper()
	bad, first, err := diffReference(rel, cols, got)
	if err != nil {
		t.Fatal(err)
	}
	if bad > 0 {
		t.Errorf("%d rows differ from the reference; the first (-want +got):\n%s", bad, first)
	}
}

// referenceMeta is the part of an .expected.json file the tests use.
type referenceMeta struct {
	RowCount int `json:"row_count"`
	Columns  []struct {
		Name string `json:"name"`
		Type string `json:"duckdb_type"`
	} `json:"columns"`
}

// diffReference compares rows read from a test file with its reference and
// returns the number of rows that differ and the diff of the first one. It
// fails when a column that DuckDB reads and that is not nested is missing
// from cols, or when the row counts differ.
func diffReference(rel string, cols []Column, got []map[string]any) (int, string, error) {
	var meta referenceMeta
	raw, err := os.ReadFile(referenceBase(rel) + ".expected.json")
	if err != nil {
		return 0, "", err
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return 0, "", err
	}

	// Every column DuckDB reads is either read here or nested.
	read := make(map[string]*Column)
	for i := range cols {
		read[cols[i].Name] = &cols[i]
	}
	for _, c := range meta.Columns {
		if read[c.Name] == nil && !isNestedDuckDBType(c.Type) {
			return 0, "", fmt.Errorf("column %q (%s) was not read", c.Name, c.Type)
		}
	}

	want, err := readReference(rel)
	if err != nil {
		return 0, "", err
	}
	if len(want) != meta.RowCount {
		return 0, "", fmt.Errorf("reference has %d rows, metadata says %d", len(want), meta.RowCount)
	}
	if len(got) != len(want) {
		return 0, "", fmt.Errorf("read %d rows, want %d", len(got), len(want))
	}
	bad, first := 0, ""
	for i := range want {
		wantRow := make(map[string]any, len(cols))
		for name, c := range read {
			v, err := canonicalReference(c, want[i][name])
			if err != nil {
				return 0, "", fmt.Errorf("row %d column %q: %w", i, name, err)
			}
			wantRow[name] = v
		}
		if diff := cmp.Diff(wantRow, got[i]); diff != "" {
			if bad == 0 {
				first = fmt.Sprintf("row %d:\n%s", i, diff)
			}
			bad++
		}
	}
	return bad, first, nil
}

func TestOpenSchemaUsers(t *testing.T) {
	f, err := Open(filepath.Join(testdata, "users/users.duckdb.snappy.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type col struct {
		Name     string
		Kind     Kind
		Type     string
		Optional bool
	}
	var got []col
	for _, c := range f.Columns {
		got = append(got, col{c.Name, c.Kind, c.Type, c.Optional})
	}
	want := []col{
		{"user_id", KindInt, "INT64 INT_64", false},
		{"email", KindString, "BYTE_ARRAY UTF8", true},
		{"plan", KindString, "BYTE_ARRAY UTF8", false},
		{"seats", KindInt, "INT32 INT_32", true},
		{"mrr", KindDecimal, "INT64 DECIMAL(18,2)", true},
		{"score", KindDouble, "DOUBLE", true},
		{"is_admin", KindBool, "BOOLEAN", true},
		{"signup_at", KindTimestamp, "INT64 TIMESTAMP(MICROS, UTC)", true},
		{"last_seen_date", KindDate, "INT32 DATE", true},
		{"country", KindString, "BYTE_ARRAY UTF8", true},
		{"utm.source", KindString, "BYTE_ARRAY UTF8", true},
		{"display name", KindString, "BYTE_ARRAY UTF8", true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	if f.NumRows != 2000 || f.RowGroups != 1 {
		t.Errorf("NumRows, RowGroups = %d, %d; want 2000, 1", f.NumRows, f.RowGroups)
	}
}

func TestOpenNestedColumnsUnsupported(t *testing.T) {
	f, err := Open(filepath.Join(testdata, "upstream/datapage_v2.snappy.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	e := f.Columns[f.Column("e")]
	if e.Kind != KindUnsupported || !strings.Contains(e.Unsupported, "nested columns") {
		t.Errorf("column e: kind %v, reason %q; want unsupported nested column", e.Kind, e.Unsupported)
	}
	if _, err := f.NewReader([]int{f.Column("e")}, 0); err == nil ||
		!strings.Contains(err.Error(), `column "e"`) {
		t.Errorf("NewReader on a nested column: error %v, want one naming the column", err)
	}
}

func TestFiles(t *testing.T) {
	parts := filepath.Join(testdata, "users/parts")
	wantParts := []string{
		filepath.Join(parts, "part-00000.parquet"),
		filepath.Join(parts, "part-00001.parquet"),
		filepath.Join(parts, "part-00002.parquet"),
	}
	dir := t.TempDir()
	for _, name := range []string{"b.parquet", "a.parquet", "_SUCCESS", ".hidden.parquet",
		"_tmp.parquet", "notes.txt", "c.parquet.crc"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.parquet"), 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		location string
		want     []string
	}{
		{parts, wantParts},
		{filepath.Join(parts, "part-*.parquet"), wantParts},
		{filepath.Join(parts, "*"), wantParts},
		{wantParts[1], wantParts[1:2]},
		{dir, []string{filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet")}},
		{filepath.Join(dir, "*"), []string{filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet")}},
		{filepath.Join(dir, "_SUCCESS"), []string{filepath.Join(dir, "_SUCCESS")}},
		{filepath.Join(dir, "none-*.parquet"), nil},
	}
	for _, tt := range tests {
		got, err := Files(tt.location)
		if err != nil {
			t.Errorf("Files(%q): %v", tt.location, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Files(%q) (-want +got):\n%s", tt.location, diff)
		}
	}

	if _, err := Files(filepath.Join(dir, "missing.parquet")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Files of a missing file: error %v, want ErrNotFound", err)
	}
}

func TestFloat16(t *testing.T) {
	tests := []struct {
		bits uint16
		want float64
	}{
		{0x3c00, 1},
		{0xc000, -2},
		{0x3555, 0.333251953125},
		{0x7bff, 65504},
		{0x0001, 0x1p-24},
		{0x8000, math.Copysign(0, -1)},
		{0x7c00, math.Inf(1)},
	}
	for _, tt := range tests {
		got := Float16(tt.bits)
		if got != tt.want || math.Signbit(got) != math.Signbit(tt.want) {
			t.Errorf("Float16(%#04x) = %v, want %v", tt.bits, got, tt.want)
		}
	}
	if !math.IsNaN(Float16(0x7e00)) {
		t.Errorf("Float16(0x7e00) is not NaN")
	}
}

// TestDictionaryIndex checks Values.Index and Values.Dict on a file whose
// string columns are dictionary-encoded and on one without dictionaries.
func TestDictionaryIndex(t *testing.T) {
	for _, tt := range []struct {
		file    string
		indexed bool
	}{
		{"users/users.duckdb.snappy.parquet", true},
		{"users/users.arrowgo.nodict.v2pages.parquet", false},
	} {
		f, err := Open(filepath.Join(testdata, tt.file))
		if err != nil {
			t.Fatal(err)
		}
		r, err := f.NewReader([]int{f.Column("plan"), f.Column("country")}, 300)
		if err != nil {
			t.Fatal(err)
		}
		indexed := 0
		for {
			b, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range b.Columns {
				for i := 0; i < b.Len; i++ {
					x := v.Index[i]
					switch {
					case x < 0:
						continue
					case v.Null[i]:
						t.Fatalf("%s: null row %d has dictionary index %d", tt.file, i, x)
					case string(v.Dict[x]) != string(v.Bytes[i]):
						t.Fatalf("%s: row %d: Dict[%d] = %q, Bytes = %q", tt.file, i, x, v.Dict[x], v.Bytes[i])
					}
					indexed++
				}
			}
		}
		r.Close()
		f.Close()
		if (indexed > 0) != tt.indexed {
			t.Errorf("%s: %d values from the dictionary, want indexed = %v", tt.file, indexed, tt.indexed)
		}
	}
}

// TestOpenNamedPipe checks that a FIFO is rejected at once: opening it for
// reading would block until something writes to it.
func TestOpenNamedPipe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.parquet")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Open(path)
		done <- err
	}()
	select {
	case err := <-done:
		want := "is a named pipe (FIFO), not a regular file"
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("Open(FIFO) = %v, want an error naming %q and containing %q", err, path, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Open(FIFO) still blocked after 10 s")
	}
}
