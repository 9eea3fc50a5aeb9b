package snapshot

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
)

// pagedRow is a row of the file TestBatchSpansPages writes: plain-encoded
// byte arrays, so their values point into page memory.
type pagedRow struct {
	ID    int64    `parquet:"id"`
	Email *string  `parquet:"email,optional,plain"`
	UUID  [16]byte `parquet:"uuid,plain"`
}

// TestBatchSpansPages reads batches that span many small pages and checks
// every value after the whole batch is filled. A page released while the
// batch still points into it is reused by parquet-go for a later page, and
// the earlier rows of the batch would then read that page's bytes.
func TestBatchSpansPages(t *testing.T) {
	const rows = 5000
	want := make([]pagedRow, rows)
	for i := range want {
		want[i].ID = int64(i)
		if i%7 != 3 {
			s := fmt.Sprintf("user.%06d.%s@example.com", i, string(rune('a'+i%26)))
			want[i].Email = &s
		}
		for k := range want[i].UUID {
			want[i].UUID[k] = byte(i >> (8 * (k % 3)))
		}
	}
	path := filepath.Join(t.TempDir(), "paged.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[pagedRow](f, parquet.PageBufferSize(512))
	if _, err := w.Write(want); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	file, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if n := countPages(t, file, "email"); n < 20 {
		t.Fatalf("the email column has %d pages; the test needs at least 20", n)
	}
	r, err := file.NewReader([]int{file.Column("id"), file.Column("email"), file.Column("uuid")}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []pagedRow
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < b.Len; i++ {
			row := pagedRow{ID: b.Columns[0].Int[i]}
			if email := &b.Columns[1]; !email.Null[i] {
				s := string(email.Bytes[i])
				row.Email = &s
			}
			copy(row.UUID[:], b.Columns[2].Bytes[i])
			got = append(got, row)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values differ (-want +got):\n%s", diff)
	}
}

// countPages returns the number of data pages of the named column.
func countPages(t *testing.T, f *File, column string) int {
	t.Helper()
	n := 0
	for _, rg := range f.pf.RowGroups() {
		pages := rg.ColumnChunks()[f.Columns[f.Column(column)].leaf].Pages()
		for {
			p, err := pages.ReadPage()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			parquet.Release(p)
			n++
		}
		pages.Close()
	}
	return n
}
