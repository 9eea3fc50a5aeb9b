package compare

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/sprigsync/sprigsync/usergen"
)

// benchRows is the row count of the generated table, the same table that
// the snapshot package's BenchmarkRead and BenchmarkReadXitongsys read.
const benchRows = 1_000_000

// benchColumns is the number of columns of the generated table.
const benchColumns = 12

// BenchmarkArrowGoRead reads all 12 columns of the generated 1,000,000-row
// user table with arrow-go's pqarrow reader and default reader options
// (BufferedStreamEnabled off, columns read one after another):
//
//   - ReadTable: FileReader.ReadTable, the whole table in memory at once;
//   - RecordReader/batch=N: a record reader that returns N rows at a time,
//     released after counting. 1024 is snapshot.DefaultBatchRows.
func BenchmarkArrowGoRead(b *testing.B) {
	path, err := usergen.CachedFile(filepath.Join(os.TempDir(), "sprigsync-usergen"),
		usergen.Options{Rows: benchRows, Seed: 1, Compression: "zstd"})
	if err != nil {
		b.Fatal(err)
	}

	b.Run("ReadTable", func(b *testing.B) {
		cpu0 := cpuTime()
		for b.Loop() {
			readArrowGoTable(b, path)
		}
		reportRows(b, cpu0)
	})
	for _, batch := range []int64{1024, 65_536} {
		b.Run("RecordReader/batch="+strconv.FormatInt(batch, 10), func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				readArrowGoRecords(b, path, batch)
			}
			reportRows(b, cpu0)
		})
	}
}

// openArrowGo opens path with default reader properties and returns a
// pqarrow reader with the given options. The caller closes the file.Reader.
func openArrowGo(b *testing.B, path string, props pqarrow.ArrowReadProperties) (*file.Reader, *pqarrow.FileReader) {
	b.Helper()
	pf, err := file.OpenParquetFile(path, false, file.WithReadProps(parquet.NewReaderProperties(nil)))
	if err != nil {
		b.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(pf, props, memory.DefaultAllocator)
	if err != nil {
		b.Fatal(err)
	}
	return pf, fr
}

func readArrowGoTable(b *testing.B, path string) {
	pf, fr := openArrowGo(b, path, pqarrow.ArrowReadProperties{})
	defer pf.Close()
	table, err := fr.ReadTable(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer table.Release()
	if table.NumRows() != benchRows || table.NumCols() != benchColumns {
		b.Fatalf("read %d rows and %d columns, want %d and %d",
			table.NumRows(), table.NumCols(), benchRows, benchColumns)
	}
}

func readArrowGoRecords(b *testing.B, path string, batch int64) {
	pf, fr := openArrowGo(b, path, pqarrow.ArrowReadProperties{BatchSize: batch})
	defer pf.Close()
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer rr.Release()
	var rows int64
	for rr.Next() {
		rec := rr.RecordBatch()
		if rec.NumCols() != benchColumns {
			b.Fatalf("record of %d columns, want %d", rec.NumCols(), benchColumns)
		}
		rows += rec.NumRows()
	}
	if err := rr.Err(); err != nil {
		b.Fatal(err)
	}
	if rows != benchRows {
		b.Fatalf("read %d rows, want %d", rows, benchRows)
	}
}

// reportRows reports rows per second of elapsed time and of CPU time, as
// the snapshot package's benchmarks do. The CPU time of all threads varies
// less on a shared machine, and it includes the garbage collector's work.
func reportRows(b *testing.B, cpu0 time.Duration) {
	rows := float64(benchRows) * float64(b.N)
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(rows/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
}

// cpuTime returns the user and system CPU time the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
