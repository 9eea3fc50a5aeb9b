package snapshot

// These tests and benchmarks run github.com/xitongsys/parquet-go's column
// reader on the same files as this package, for the comparison recorded in
// docs/compatibility.md.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sprigsync/sprigsync/usergen"
	xreader "github.com/xitongsys/parquet-go/reader"
	"github.com/xitongsys/parquet-go/source"
)

// xitongsysFile adapts *os.File to xitongsys's source.ParquetFile.
type xitongsysFile struct{ *os.File }

func (f xitongsysFile) Open(name string) (source.ParquetFile, error) {
	if name == "" {
		name = f.Name()
	}
	g, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return xitongsysFile{g}, nil
}

func (f xitongsysFile) Create(string) (source.ParquetFile, error) {
	return nil, errors.New("read only")
}

// readXitongsys reads the given columns of the file at path with
// xitongsys's column reader, in the canonical form of readAll.
func readXitongsys(path string, cols []Column) (rows []map[string]any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	osFile, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer osFile.Close()
	pr, err := xreader.NewParquetColumnReader(xitongsysFile{osFile}, 1)
	if err != nil {
		return nil, err
	}
	defer pr.ReadStop()

	n := pr.GetNumRows()
	rows = make([]map[string]any, n)
	for i := range rows {
		rows[i] = make(map[string]any, len(cols))
	}
	for k := range cols {
		c := &cols[k]
		values, _, _, err := pr.ReadColumnByIndex(int64(c.leaf), n)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", c.Name, err)
		}
		if int64(len(values)) != n {
			return nil, fmt.Errorf("column %q: %d of %d values: %w", c.Name, len(values), n, errMissingValues)
		}
		v, err := toValues(c, values)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", c.Name, err)
		}
		for i := range rows {
			rows[i][c.Name] = canonical(c, &v, i)
		}
	}
	return rows, nil
}

// errMissingValues marks a column for which xitongsys returned fewer values
// than the file has rows, without an error.
var errMissingValues = errors.New("values missing without an error")

// toValues converts xitongsys's values, Go values of the physical type or
// nil, into Values.
func toValues(c *Column, values []any) (Values, error) {
	n := len(values)
	v := Values{Null: make([]bool, n), Bool: make([]bool, n), Int: make([]int64, n),
		Float: make([]float64, n), Bytes: make([][]byte, n)}
	for i, x := range values {
		switch x := x.(type) {
		case nil:
			v.Null[i] = true
		case bool:
			v.Bool[i] = x
		case int32:
			v.Int[i] = int64(x)
			if c.Kind == KindUint {
				v.Int[i] = int64(uint32(x))
			}
		case int64:
			v.Int[i] = x
		case float32:
			v.Float[i] = float64(x)
		case float64:
			v.Float[i] = x
		case string:
			v.Bytes[i] = []byte(x)
			if c.Kind == KindFloat16 {
				if len(x) != 2 {
					return v, fmt.Errorf("FLOAT16 value of %d bytes", len(x))
				}
				v.Float[i] = Float16(uint16(x[0]) | uint16(x[1])<<8)
			}
		default:
			return v, fmt.Errorf("unexpected value type %T", x)
		}
	}
	return v, nil
}

// xitongsysOutcomes is the result of xitongsys/parquet-go v1.6.2 on each
// test file that this package reads, as docs/compatibility.md records it:
// "exact", "wrong values", "missing values" (fewer values than rows, with
// no error), "wrong row count", "error" or "panic". Files missing here are
// read exactly.
var xitongsysOutcomes = map[string]string{
	"users/users.arrowrs.lz4raw.v2.parquet":   "missing values",
	"users/users.duckdb.brotli.parquet":       "missing values",
	"upstream/datapage_v2.snappy.parquet":     "wrong values",
	"upstream/dict-page-offset-zero.parquet":  "missing values",
	"upstream/lz4_raw_compressed.parquet":     "missing values",
	"upstream/repeated_no_annotation.parquet": "wrong row count",
	"upstream/rle_boolean_encoding.parquet":   "wrong values",
}

func TestXitongsysOutcomes(t *testing.T) {
	var report []string
	for _, rel := range testFiles(t) {
		if _, ok := rejected[rel]; ok {
			continue
		}
		path := filepath.Join(testdata, rel)
		f, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var cols []Column
		for _, c := range f.Columns {
			if c.Kind != KindUnsupported {
				cols = append(cols, c)
			}
		}
		f.Close()

		outcome, detail := "exact", ""
		rows, err := readXitongsys(path, cols)
		switch {
		case err != nil && strings.HasPrefix(err.Error(), "panic"):
			outcome, detail = "panic", err.Error()
		case errors.Is(err, errMissingValues):
			outcome, detail = "missing values", err.Error()
		case err != nil:
			outcome, detail = "error", err.Error()
		default:
			bad, first, err := diffReference(rel, cols, rows)
			switch {
			case err != nil && strings.Contains(err.Error(), "rows, want"):
				outcome, detail = "wrong row count", err.Error()
			case err != nil:
				outcome, detail = "error", err.Error()
			case bad > 0:
				outcome, detail = "wrong values", fmt.Sprintf("%d rows differ; %s", bad, first)
			}
		}
		want := xitongsysOutcomes[rel]
		if want == "" {
			want = "exact"
		}
		if outcome != want {
			t.Errorf("%s: xitongsys outcome %q, recorded %q: %s", rel, outcome, want, detail)
		}
		if len(detail) > 300 {
			detail = detail[:300] + "..."
		}
		report = append(report, fmt.Sprintf("%s: %s %s", rel, outcome, detail))
	}
	sort.Strings(report)
	t.Logf("xitongsys/parquet-go outcomes:\n%s", strings.Join(report, "\n"))
}

// BenchmarkReadXitongsys reads every column of the generated table with
// xitongsys's column reader, 100,000 rows at a time: the same work as
// BenchmarkRead.
func BenchmarkReadXitongsys(b *testing.B) {
	path, err := usergen.CachedFile(filepath.Join(os.TempDir(), "sprigsync-usergen"),
		usergen.Options{Rows: benchRows, Seed: 1, Compression: "zstd"})
	if err != nil {
		b.Fatal(err)
	}
	cpu0 := cpuTime()
	for b.Loop() {
		osFile, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		pr, err := xreader.NewParquetColumnReader(xitongsysFile{osFile}, 1)
		if err != nil {
			b.Fatal(err)
		}
		columns := int64(len(pr.SchemaHandler.ValueColumns))
		for c := range columns {
			var got int64
			for got < benchRows {
				values, _, _, err := pr.ReadColumnByIndex(c, 100_000)
				if err != nil || len(values) == 0 {
					b.Fatalf("column %d: %d values, %v", c, len(values), err)
				}
				got += int64(len(values))
			}
		}
		pr.ReadStop()
		osFile.Close()
	}
	reportRows(b, cpu0)
}
