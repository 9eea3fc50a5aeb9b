package snapshot

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/rle"
)

// The files under testdata/hostile are a few hundred bytes each, with
// valid page CRCs. A tester wrote them to make decoders allocate. They hold
// a run of 2^31-1 definition levels, dictionary indexes or RLE booleans, a
// DELTA_BINARY_PACKED header with 2^31-1 values, a dictionary page header
// with 2^30+1 values, or a 32-byte footer that announces 2^31-1 row
// groups. In the page-rows files, a data page header claims 2^28 or 2^31-1
// rows in a row group of 10, alone or with a run as long. Before the
// decoders were bounded, some took gigabytes and the others ended the
// process.

// TestHostileFilesStayBounded reads each hostile file and checks its
// outcome and that reading it allocated less than 64 MiB.
func TestHostileFilesStayBounded(t *testing.T) {
	tests := []struct {
		file    string
		rows    int64  // rows read when the file is accepted
		wantErr string // a piece of the error, when it is rejected
	}{
		{file: "def-levels-bomb.parquet", rows: 10},
		{file: "rle-bool-bomb.parquet", rows: 10},
		{file: "rle-dict-bomb.parquet", rows: 10},
		{file: "delta-bomb.parquet",
			wantErr: "the DELTA_BINARY_PACKED header gives 2147483647 values for a page of 10"},
		{file: "dict-num-values-huge.parquet",
			wantErr: "the page has 43 bytes, too few for 1073741825 byte-array values"},
		{file: "huge-rowgroups-list.parquet",
			wantErr: "the footer is corrupt: a list announces 2147483647 elements"},
		{file: "page-rows-dict.parquet",
			wantErr: "page 0: the page has 2147483647 rows but only 10 rows of its column chunk are left"},
		{file: "page-rows-rle-bool.parquet",
			wantErr: "page 0: the page has 2147483647 rows but only 10 rows of its column chunk are left"},
		{file: "page-rows-and-run-dict.parquet",
			wantErr: "page 0: the page has 268435456 rows but only 10 rows of its column chunk are left"},
		{file: "page-rows-and-run-levels.parquet",
			wantErr: "page 0: the page has 268435456 rows but only 10 rows of its column chunk are left"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			rows, err := readColumns(filepath.Join("testdata", "hostile", tt.file))
			runtime.ReadMemStats(&after)

			if tt.wantErr == "" && (err != nil || rows != tt.rows) {
				t.Errorf("read %d rows, error %v; want %d rows", rows, err, tt.rows)
			}
			if tt.wantErr != "" {
				var fe *FileError
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want a *FileError containing %q", err, tt.wantErr)
				}
			}
			if used := after.TotalAlloc - before.TotalAlloc; used > 64<<20 {
				t.Errorf("reading allocated %d MiB, want under 64", used>>20)
			}
		})
	}
}

// TestEdgeFiles reads valid files that the page reader once rejected.
// arrow-go v18.9.0 wrote a row group of 0 rows for an empty record batch
// in two of them: batches of 3, 0 and 2 rows, and one empty batch alone.
// Six others, one per encoding, have a page of 10 nulls with an empty
// values section. An ALP column, which arrow-go writes on request, must be
// rejected before any row, with the encoding's number.
func TestEdgeFiles(t *testing.T) {
	for _, name := range []string{"arrow-empty-record-between.parquet", "arrow-empty-record-only.parquet"} {
		rows, err := readColumns(filepath.Join("testdata", "edge", name))
		want := map[string]int64{"arrow-empty-record-between.parquet": 5}[name]
		if err != nil || rows != want {
			t.Errorf("%s: read %d rows, error %v; want %d rows", name, rows, err, want)
		}
	}

	empty, err := filepath.Glob(filepath.Join("testdata", "edge", "empty-values-*.parquet"))
	if err != nil || len(empty) != 6 {
		t.Fatalf("found %d files of empty values, want 6 (%v)", len(empty), err)
	}
	for _, path := range empty {
		rows, _, err := readAll(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if len(rows) != 10 {
			t.Errorf("%s: %d rows, want 10", path, len(rows))
		}
		for i, row := range rows {
			for name, v := range row {
				if v != nil {
					t.Errorf("%s: row %d column %s = %v, want null", path, i, name, v)
				}
			}
		}
	}

	_, err = readColumns(filepath.Join("testdata", "edge", "arrow-alp-float64.parquet"))
	if err == nil || !strings.Contains(err.Error(), `column "score": the column uses the encoding number 10`) {
		t.Errorf("ALP file: error %v, want one naming the column and encoding 10", err)
	}
}

// TestLargeStatisticsHeader reads a page of one 4.2 MB string, whose header
// carries the string four times as statistics: a header of 16.8 MB.
func TestLargeStatisticsHeader(t *testing.T) {
	type row struct {
		S string `parquet:"s"`
	}
	want := []row{{S: strings.Repeat("x", 4_200_000)}}
	path := filepath.Join(t.TempDir(), "big.parquet")
	if err := parquet.WriteFile(path, want); err != nil {
		t.Fatal(err)
	}
	rows, _, err := readAll(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0]["s"] != want[0].S {
		t.Errorf("read %d rows; want the one string back", len(rows))
	}
}

// TestDecodeHybridMatchesParquetGo encodes random values of every bit width
// with parquet-go's RLE encoder, runs included, and decodes them.
func TestDecodeHybridMatchesParquetGo(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for width := range 33 {
		for trial := range 20 {
			n := 1 + r.IntN(3000)
			values := make([]int32, n)
			for i := range values {
				if width > 0 && (i == 0 || r.IntN(4) != 0) { // runs of repeats
					values[i] = int32(r.Uint64() & (1<<width - 1))
				} else if i > 0 {
					values[i] = values[i-1]
				}
			}
			enc, err := (&rle.Encoding{BitWidth: width}).EncodeInt32(nil, values)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeHybrid([]int32(nil), enc, uint(width), n)
			if err != nil {
				t.Fatalf("width %d, trial %d: %v", width, trial, err)
			}
			if diff := cmp.Diff(values, got); diff != "" {
				t.Fatalf("width %d, trial %d: values differ (-want +got):\n%s", width, trial, diff)
			}
		}
	}
}

// TestDecodeHybridBounds checks runs that claim more values than asked for,
// and data that ends early.
func TestDecodeHybridBounds(t *testing.T) {
	run := binary.AppendUvarint(nil, uint64(1<<31-1)<<1) // 2^31-1 repeats
	tests := []struct {
		name    string
		src     []byte
		width   uint
		n       int
		want    []uint8
		wantErr string
	}{
		{name: "long run cut", src: append(run, 1), width: 1, n: 3, want: []uint8{1, 1, 1}},
		{name: "long bit-packed run", src: append(binary.AppendUvarint(nil, 1000<<1|1), 0xa5),
			width: 1, n: 4, wantErr: "ends before its last value"},
		{name: "bit-packed", src: []byte{1<<1 | 1, 0xa5}, width: 1, n: 8,
			want: []uint8{1, 0, 1, 0, 0, 1, 0, 1}},
		{name: "ends early", src: []byte{2 << 1, 1}, width: 1, n: 3, wantErr: "(2 of 3 values)"},
		{name: "width 33", src: []byte{2 << 1, 1}, width: 33, n: 1, wantErr: "bit width 33"},
	}
	for _, tt := range tests {
		got, err := decodeHybrid([]uint8(nil), tt.src, tt.width, tt.n)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: values differ (-want +got):\n%s", tt.name, diff)
		}
	}
}
