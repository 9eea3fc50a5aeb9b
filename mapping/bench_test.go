package mapping

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sprigsync/sprigsync/usergen"
	"github.com/zeebo/xxh3"
)

// benchRows is the size of the generated table BenchmarkScan reads.
const benchRows = 1_000_000

// fingerprinter is a Handler that does what the planner does with each
// body: a 64-bit hash.
type fingerprinter struct{ sum uint64 }

func (f *fingerprinter) User(u *User) error {
	f.sum += xxh3.Hash(u.Body)
	return nil
}

func (f *fingerprinter) Invalid(InvalidRow) error { return nil }

// BenchmarkScan reads a generated 1,000,000-row, 12-column user table
// (snapshot/usergen, cached in the temporary directory), builds every body
// and hashes it, and reports rows per second.
func BenchmarkScan(b *testing.B) {
	path, err := usergen.CachedFile(filepath.Join(os.TempDir(), "sprigsync-usergen"),
		usergen.Options{Rows: benchRows, Seed: 1, Compression: "zstd"})
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{EmailColumn: "email"}
	var h fingerprinter
	var st Stats
	cpu0 := cpuTime()
	for b.Loop() {
		st, err = Scan(context.Background(), path, cfg, &h)
		if err != nil {
			b.Fatal(err)
		}
	}
	if st.Rows != benchRows {
		b.Fatalf("read %d rows, want %d", st.Rows, benchRows)
	}
	rows := float64(benchRows) * float64(b.N)
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
	// CPU time of all threads: on a shared machine it varies less than the
	// elapsed time, and it includes the garbage collector's work.
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
