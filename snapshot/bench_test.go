package snapshot

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sprigsync/sprigsync/usergen"
)

// benchRows is the size of the generated table the benchmarks read.
const benchRows = 1_000_000

// BenchmarkRead reads every column of a generated 1,000,000-row, 12-column
// user table into batches, without building request bodies.
func BenchmarkRead(b *testing.B) {
	path, err := usergen.CachedFile(filepath.Join(os.TempDir(), "sprigsync-usergen"),
		usergen.Options{Rows: benchRows, Seed: 1, Compression: "zstd"})
	if err != nil {
		b.Fatal(err)
	}
	cpu0 := cpuTime()
	for b.Loop() {
		n, err := readColumns(path)
		if err != nil {
			b.Fatal(err)
		}
		if n != benchRows {
			b.Fatalf("read %d rows, want %d", n, benchRows)
		}
	}
	reportRows(b, cpu0)
}

func readColumns(path string) (int64, error) {
	f, err := Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	cols := make([]int, len(f.Columns))
	for i := range cols {
		cols[i] = i
	}
	r, err := f.NewReader(cols, 0)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var n int64
	for {
		batch, err := r.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n += int64(batch.Len)
	}
}

// reportRows reports rows per second of elapsed time and of CPU time. The
// CPU time of all threads varies less on a shared machine, and it includes
// the garbage collector's work.
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
