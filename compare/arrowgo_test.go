package compare

// These tests run github.com/apache/arrow-go/v18's Parquet reader (pqarrow)
// on the test files of ../testdata/parquet and compare every value of every
// flat column with DuckDB's reference, for the comparison recorded in
// docs/compatibility.md.

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/google/go-cmp/cmp"
)

// testdata is the folder of Parquet test files, described in its README.md.
const testdata = "../testdata/parquet"

// Outcomes of reading one test file.
const (
	outcomeExact        = "exact"          // every value equals the reference
	outcomeWrongValues  = "wrong values"   // all rows, some values differ, no error
	outcomeMissingRows  = "missing rows"   // fewer rows than the reference, no error
	outcomeExtraRows    = "extra rows"     // more rows than the reference, no error
	outcomeNoFlatColumn = "no flat column" // every column is nested, nothing compared
	outcomeError        = "error"          // rejected with an error
	outcomePanic        = "panic"          // the reader panicked
	outcomeNoError      = "no error"       // a file DuckDB rejects was read without an error
)

// recordedOutcome is what arrow-go did with one test file. Detail is a
// piece of the error or panic message, or for the other outcomes a piece
// of the summary that classifyArrowGo returns.
type recordedOutcome struct {
	Outcome string
	Detail  string
}

// arrowGoOutcomes records github.com/apache/arrow-go/v18 v18.9.0 (pqarrow
// with default options) on every test file, as docs/compatibility.md shows
// it. A file missing here must be read exactly.
var arrowGoOutcomes = map[string]recordedOutcome{
	// Files that DuckDB rejects too. None of these messages names the file.
	"edge/not_parquet.parquet": {outcomeError, "parquet: file is smaller than indicated metadata size"},
	"edge/truncated.parquet":   {outcomeError, "parquet: file is smaller than indicated metadata size"},
	"edge/zero_bytes.parquet":  {outcomeError, "parquet: file too small (size=0)"},
	"upstream/bad_data/ARROW-RS-GH-6229-DICTHEADER.parquet": {outcomeError,
		"invalid column chunk metadata, offset (591) and length (2002) must both be less than total source size (533)"},
	"upstream/bad_data/PARQUET-1481.parquet":        {outcomeError, "invalid physical column type"},
	"upstream/uniform_encryption.parquet.encrypted": {outcomeError, "no decryption found in reader's properties"},

	// Files that DuckDB reads.
	"upstream/datapage_v2_empty_datapage.snappy.parquet": {outcomeError, "could not decompress page: s2: corrupt input"},
	"upstream/non_hadoop_lz4_compressed.parquet":         {outcomeError, "compression for LZ4 unimplemented"},
	// pqarrow reads INT96 as an Arrow timestamp in nanoseconds, which ends in
	// 2262, so the year-9999 value at row index 11 rejects the whole file.
	"users/users.arrowgo.int96.parquet": {outcomeError,
		"parquet INT96 timestamp at index 11: invalid: INT96 timestamp is outside the Arrow nanosecond range"},
	// The only column is a struct.
	"upstream/nulls.snappy.parquet": {outcomeNoFlatColumn, ""},
}

// arrowGoResult is the outcome of readArrowGo on one file, with the values
// read when there was no error. A row lacks the columns that ended before it.
type arrowGoResult struct {
	rows         []map[string]any
	columnRows   map[string]int // the number of values read from each column
	err          error
	panicMessage string
}

// readArrowGo reads every flat column of the file at path with arrow-go's
// file.Reader and pqarrow.FileReader, with default reader options, into one
// map per row from column name to canonical value (see canonicalArrow). A
// flat column is a top-level primitive field that is not repeated. A panic
// inside arrow-go is recovered and returned in the result.
func readArrowGo(path string) (result arrowGoResult) {
	defer func() {
		if r := recover(); r != nil {
			result = arrowGoResult{panicMessage: fmt.Sprint(r)}
		}
	}()

	// The defaults leave BufferedStreamEnabled off, so each column chunk is
	// read into memory whole before decoding.
	props := parquet.NewReaderProperties(memory.DefaultAllocator)
	props.BufferedStreamEnabled = false
	pf, err := file.OpenParquetFile(path, false, file.WithReadProps(props))
	if err != nil {
		return arrowGoResult{err: err}
	}
	defer pf.Close()

	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return arrowGoResult{err: err}
	}

	var leaves []int
	for _, f := range fr.Manifest.Fields {
		if len(f.Children) == 0 && f.ColIndex >= 0 &&
			pf.MetaData().Schema.Column(f.ColIndex).MaxRepetitionLevel() == 0 {
			leaves = append(leaves, f.ColIndex)
		}
	}
	if len(leaves) == 0 {
		return arrowGoResult{}
	}
	rowGroups := make([]int, pf.NumRowGroups())
	for i := range rowGroups {
		rowGroups[i] = i
	}
	table, err := fr.ReadRowGroups(context.Background(), leaves, rowGroups)
	if err != nil {
		return arrowGoResult{err: err}
	}
	defer table.Release()

	result.columnRows = make(map[string]int)
	for c := 0; c < int(table.NumCols()); c++ {
		col := table.Column(c)
		name := col.Name()
		row := 0
		for _, chunk := range col.Data().Chunks() {
			for i := 0; i < chunk.Len(); i++ {
				if row == len(result.rows) {
					result.rows = append(result.rows, make(map[string]any))
				}
				result.rows[row][name] = canonicalArrow(chunk, i)
				row++
			}
		}
		result.columnRows[name] = row
	}
	return result
}

// Canonical values are strings that start with the kind of value, so that
// an arrow-go value and a DuckDB reference value compare equal only when
// both the kind and the value agree. A null is nil.
const (
	kindBool    = "bool:"
	kindInt     = "int:"     // an integer in base 10
	kindFloat   = "float:"   // see floatText
	kindDecimal = "decimal:" // a big.Rat in lowest terms
	kindBytes   = "bytes:"   // the raw bytes of a string or binary value
	kindDate    = "date:"    // YYYY-MM-DD
	kindInstant = "instant:" // a UTC instant in RFC 3339 with nanoseconds
)

// canonicalArrow returns value i of arr in canonical form. A type this
// function does not know gives a value that matches no reference.
func canonicalArrow(arr arrow.Array, i int) any {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.Boolean:
		return kindBool + strconv.FormatBool(a.Value(i))
	case *array.Int8:
		return kindInt + strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int16:
		return kindInt + strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int32:
		return kindInt + strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int64:
		return kindInt + strconv.FormatInt(a.Value(i), 10)
	case *array.Uint8:
		return kindInt + strconv.FormatUint(uint64(a.Value(i)), 10)
	case *array.Uint16:
		return kindInt + strconv.FormatUint(uint64(a.Value(i)), 10)
	case *array.Uint32:
		return kindInt + strconv.FormatUint(uint64(a.Value(i)), 10)
	case *array.Uint64:
		return kindInt + strconv.FormatUint(a.Value(i), 10)
	case *array.Float16:
		return kindFloat + floatText(float64(a.Value(i).Float32()))
	case *array.Float32:
		return kindFloat + floatText(float64(a.Value(i)))
	case *array.Float64:
		return kindFloat + floatText(a.Value(i))
	case *array.Decimal32:
		return decimalText(big.NewInt(int64(a.Value(i))), arr.DataType())
	case *array.Decimal64:
		return decimalText(big.NewInt(int64(a.Value(i))), arr.DataType())
	case *array.Decimal128:
		return decimalText(a.Value(i).BigInt(), arr.DataType())
	case *array.Decimal256:
		return decimalText(a.Value(i).BigInt(), arr.DataType())
	case *array.String:
		return kindBytes + a.Value(i)
	case *array.LargeString:
		return kindBytes + a.Value(i)
	case *array.Binary:
		return kindBytes + string(a.Value(i))
	case *array.LargeBinary:
		return kindBytes + string(a.Value(i))
	case *array.FixedSizeBinary:
		return kindBytes + string(a.Value(i))
	case *array.Date32:
		return kindDate + a.Value(i).ToTime().Format(time.DateOnly)
	case *array.Date64:
		return kindDate + a.Value(i).ToTime().Format(time.DateOnly)
	case *array.Timestamp:
		unit := arr.DataType().(*arrow.TimestampType).Unit
		return kindInstant + timestampTime(int64(a.Value(i)), unit).Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("unsupported arrow type %s", arr.DataType())
}

// timestampTime converts a timestamp with time.Unix, which covers years
// 0000 to 9999, unlike a time.Duration in nanoseconds.
func timestampTime(v int64, unit arrow.TimeUnit) time.Time {
	nanosPerUnit := int64(unit.Multiplier())
	perSecond := int64(time.Second) / nanosPerUnit
	secs, frac := v/perSecond, v%perSecond
	if frac < 0 {
		secs, frac = secs-1, frac+perSecond
	}
	return time.Unix(secs, frac*nanosPerUnit).UTC()
}

// decimalText returns the unscaled value v of a decimal of type dt in
// canonical form.
func decimalText(v *big.Int, dt arrow.DataType) string {
	scale := dt.(arrow.DecimalType).GetScale()
	r := new(big.Rat).SetInt(v)
	r.Quo(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	return kindDecimal + r.RatString()
}

// floatText returns f as text that distinguishes every float64 value other
// than NaN payloads, including -0 and the infinities, in DuckDB's words.
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

// canonicalReference converts a value of DuckDB's JSON, decoded with
// UseNumber, from a column of the given DuckDB type into canonical form.
func canonicalReference(duckdbType string, x any) (any, error) {
	if x == nil {
		return nil, nil
	}
	num, isNum := x.(json.Number)
	str, isStr := x.(string)
	switch {
	case duckdbType == "BOOLEAN":
		if b, ok := x.(bool); ok {
			return kindBool + strconv.FormatBool(b), nil
		}
	case slices.Contains([]string{"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
		"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}, duckdbType):
		if isNum {
			z, ok := new(big.Int).SetString(string(num), 10)
			if ok {
				return kindInt + z.String(), nil
			}
		}
	case duckdbType == "FLOAT" || duckdbType == "DOUBLE":
		if isStr {
			return kindFloat + str, nil
		}
		if isNum {
			f, err := strconv.ParseFloat(string(num), 64)
			return kindFloat + floatText(f), err
		}
	case strings.HasPrefix(duckdbType, "DECIMAL("):
		if isNum {
			if r, ok := new(big.Rat).SetString(string(num)); ok {
				return kindDecimal + r.RatString(), nil
			}
		}
	case duckdbType == "VARCHAR":
		if isStr {
			return kindBytes + str, nil
		}
	case duckdbType == "BLOB":
		if isStr {
			b, err := parseBlobText(str)
			return kindBytes + string(b), err
		}
	case duckdbType == "DATE":
		if isStr {
			return kindDate + str, nil
		}
	case duckdbType == "TIMESTAMP" || duckdbType == "TIMESTAMP WITH TIME ZONE":
		if isStr {
			ts, err := time.Parse("2006-01-02 15:04:05.999999999", strings.TrimSuffix(str, "+00"))
			return kindInstant + ts.Format(time.RFC3339Nano), err
		}
	}
	return nil, fmt.Errorf("reference value %v (%T) does not fit the DuckDB type %s", x, x, duckdbType)
}

// parseBlobText reverses DuckDB's text form of a BLOB, in which every byte
// outside printable ASCII, and '\\' and '"', is written as \xNN.
func parseBlobText(s string) ([]byte, error) {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b = append(b, s[i])
			continue
		}
		if i+3 >= len(s) || s[i+1] != 'x' {
			return nil, fmt.Errorf("invalid escape at byte %d of BLOB text %q", i, s)
		}
		x, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("invalid escape at byte %d of BLOB text %q: %w", i, s, err)
		}
		b = append(b, byte(x))
		i += 3
	}
	return b, nil
}

// referenceMeta is the part of an .expected.json file the tests use.
type referenceMeta struct {
	RowCount int `json:"row_count"`
	Columns  []struct {
		Name string `json:"name"`
		Type string `json:"duckdb_type"`
	} `json:"columns"`
}

// isNestedDuckDBType reports whether typ is the DuckDB type of a LIST,
// STRUCT or MAP column.
func isNestedDuckDBType(typ string) bool {
	return strings.HasSuffix(typ, "[]") || strings.HasPrefix(typ, "STRUCT") ||
		strings.HasPrefix(typ, "MAP")
}

// referenceBase returns the path of a test file without its .parquet
// suffix, the common prefix of its reference files.
func referenceBase(rel string) string {
	return filepath.Join(testdata, strings.TrimSuffix(rel, ".parquet"))
}

// readReference reads the metadata and the rows of a test file's DuckDB
// reference, decoding numbers as json.Number.
func readReference(rel string) (referenceMeta, []map[string]any, error) {
	var meta referenceMeta
	raw, err := os.ReadFile(referenceBase(rel) + ".expected.json")
	if err != nil {
		return meta, nil, err
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return meta, nil, fmt.Errorf("%s.expected.json: %w", rel, err)
	}

	f, err := os.Open(referenceBase(rel) + ".expected.jsonl.gz")
	if err != nil {
		return meta, nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return meta, nil, err
	}
	var rows []map[string]any
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.UseNumber()
		var row map[string]any
		if err := dec.Decode(&row); err != nil {
			return meta, nil, fmt.Errorf("%s.expected.jsonl.gz line %d: %w", rel, len(rows)+1, err)
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		return meta, nil, err
	}
	if len(rows) != meta.RowCount {
		return meta, nil, fmt.Errorf("%s: the reference has %d rows, its metadata says %d",
			rel, len(rows), meta.RowCount)
	}
	return meta, rows, nil
}

// compareWithReference classifies the rows that readArrowGo returned for a
// test file against its DuckDB reference. It returns an error when the
// reference cannot be read or when a flat column of the reference was not
// read, which is a fault of this test and not an outcome of arrow-go.
func compareWithReference(rel string, got arrowGoResult) (recordedOutcome, string, error) {
	meta, want, err := readReference(rel)
	if err != nil {
		return recordedOutcome{}, "", err
	}
	types := make(map[string]string)
	for _, c := range meta.Columns {
		if isNestedDuckDBType(c.Type) {
			continue
		}
		if _, ok := got.columnRows[c.Name]; !ok {
			return recordedOutcome{}, "", fmt.Errorf("column %q (%s) was not read", c.Name, c.Type)
		}
		types[c.Name] = c.Type
	}
	if len(types) == 0 {
		return recordedOutcome{Outcome: outcomeNoFlatColumn}, "", nil
	}
	for _, name := range slices.Sorted(maps.Keys(types)) {
		n := got.columnRows[name]
		if n < len(want) {
			summary := fmt.Sprintf("column %q: %d of %d rows", name, n, len(want))
			return recordedOutcome{outcomeMissingRows, summary}, "", nil
		}
		if n > len(want) {
			summary := fmt.Sprintf("column %q: %d rows, want %d", name, n, len(want))
			return recordedOutcome{outcomeExtraRows, summary}, "", nil
		}
	}

	bad, first := 0, ""
	badColumns := make(map[string]bool)
	for i := range want {
		wantRow := make(map[string]any, len(types))
		gotRow := make(map[string]any, len(types))
		for name, typ := range types {
			v, err := canonicalReference(typ, want[i][name])
			if err != nil {
				return recordedOutcome{}, "", fmt.Errorf("row %d column %q: %w", i, name, err)
			}
			wantRow[name] = v
			gotRow[name] = got.rows[i][name]
			if v != gotRow[name] {
				badColumns[name] = true
			}
		}
		if diff := cmp.Diff(wantRow, gotRow); diff != "" {
			if bad == 0 {
				first = fmt.Sprintf("row %d (-want +got):\n%s", i, diff)
			}
			bad++
		}
	}
	if bad == 0 {
		return recordedOutcome{Outcome: outcomeExact}, "", nil
	}
	names := make([]string, 0, len(badColumns))
	for name := range badColumns {
		names = append(names, name)
	}
	slices.Sort(names)
	summary := fmt.Sprintf("%d of %d rows differ in %s", bad, len(want), strings.Join(names, ", "))
	return recordedOutcome{outcomeWrongValues, summary}, first, nil
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
			rel, err := filepath.Rel(testdata, path)
			if err != nil {
				return err
			}
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

// classifyArrowGo reads one test file with arrow-go and returns its outcome
// and, for wrong values, the diff of the first row that differs.
func classifyArrowGo(t *testing.T, rel string) (recordedOutcome, string) {
	t.Helper()
	got := readArrowGo(filepath.Join(testdata, rel))
	_, statErr := os.Stat(referenceBase(rel) + ".expected.error.txt")
	hasErrorReference := statErr == nil
	switch {
	case got.panicMessage != "":
		return recordedOutcome{outcomePanic, got.panicMessage}, ""
	case got.err != nil:
		return recordedOutcome{outcomeError, got.err.Error()}, ""
	case hasErrorReference:
		return recordedOutcome{outcomeNoError, fmt.Sprintf("%d rows", len(got.rows))}, ""
	}
	outcome, diff, err := compareWithReference(rel, got)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return outcome, diff
}

func TestArrowGoOutcomes(t *testing.T) {
	seen := make(map[string]bool)
	for _, rel := range testFiles(t) {
		seen[rel] = true
		t.Run(rel, func(t *testing.T) {
			got, diff := classifyArrowGo(t, rel)
			want, ok := arrowGoOutcomes[rel]
			if !ok {
				want = recordedOutcome{Outcome: outcomeExact}
			}
			t.Logf("arrow-go outcome: %s: %s", got.Outcome, got.Detail)
			if got.Outcome != want.Outcome {
				t.Errorf("outcome %q (%s), recorded %q\n%s", got.Outcome, got.Detail, want.Outcome, diff)
				return
			}
			if !strings.Contains(got.Detail, want.Detail) {
				t.Errorf("detail %q does not contain the recorded %q\n%s", got.Detail, want.Detail, diff)
			}
		})
	}
	for rel := range arrowGoOutcomes {
		if !seen[rel] {
			t.Errorf("arrowGoOutcomes records %s, which is not a test file", rel)
		}
	}
}

// TestParseBlobText checks the reverse of DuckDB's BLOB text on the escapes
// the reference files use.
func TestParseBlobText(t *testing.T) {
	got, err := parseBlobText(`a\x00\x5C\x22\xFFz`)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{'a', 0, '\\', '"', 0xff, 'z'}; !slices.Equal(got, want) {
		t.Errorf("parseBlobText = %q, want %q", got, want)
	}
	if _, err := parseBlobText(`a\x0`); err == nil {
		t.Errorf("parseBlobText of a cut escape succeeded, want an error")
	}
	if _, err := parseBlobText(`\n`); err == nil {
		t.Errorf("parseBlobText of an unknown escape succeeded, want an error")
	}
}
