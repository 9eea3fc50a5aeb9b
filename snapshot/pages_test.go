package snapshot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// pagedRow is a row of the file TestBatchSpansPages writes: plain-encoded
// byte arrays, so their values point into page memory.
type pagedRow struct {
	ID    int64    `parquet:"id"`
	Email *string  `parquet:"email,optional,plain"`
	UUID  [16]byte `parquet:"uuid,plain"`
}

// TestBatchSpansPages reads batches that span many small pages and checks
// every value after the whole batch is filled. A page buffer released while
// the batch still points into it is reused for a later page, and the earlier
// rows of the batch would then read that page's bytes.
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

// chunkOf returns a column chunk made of the given pages: each a header,
// encoded with Thrift's compact protocol, then its bytes.
func chunkOf(t *testing.T, pages ...chunkTestPage) []byte {
	t.Helper()
	var chunk []byte
	for _, p := range pages {
		h, err := thrift.Marshal(new(thrift.CompactProtocol), &p.header)
		if err != nil {
			t.Fatal(err)
		}
		chunk = append(chunk, h...)
		chunk = append(chunk, p.data...)
	}
	return chunk
}

type chunkTestPage struct {
	header format.PageHeader
	data   []byte
}

// dataPage returns an uncompressed data page v1 of a REQUIRED INT32 column
// holding values, with the given CRC.
func dataPage(crc int32, values ...int32) chunkTestPage {
	var data []byte
	for _, v := range values {
		data = binary.LittleEndian.AppendUint32(data, uint32(v))
	}
	h := format.PageHeader{
		Type:                 format.DataPage,
		UncompressedPageSize: int32(len(data)),
		CompressedPageSize:   int32(len(data)),
		CRC:                  crc,
	}
	h.DataPageHeader.Valid = true
	h.DataPageHeader.V = format.DataPageHeader{NumValues: int32(len(values)), Encoding: format.Plain,
		DefinitionLevelEncoding: format.RLE, RepetitionLevelEncoding: format.RLE}
	return chunkTestPage{header: h, data: data}
}

// TestChunkPagesChecks reads hand-made column chunks and checks the pages
// returned, or the error for a corrupt chunk.
func TestChunkPagesChecks(t *testing.T) {
	good := dataPage(0, 1, 2, 3)
	sum := int32(crc32.ChecksumIEEE(good.data))
	index := chunkTestPage{header: format.PageHeader{Type: format.IndexPage,
		UncompressedPageSize: 2, CompressedPageSize: 2}, data: []byte{9, 9}}
	long := dataPage(0, 1, 2)
	long.header.CompressedPageSize = 100
	negative := dataPage(0, 1)
	negative.header.UncompressedPageSize = -1
	noHeader := dataPage(0, 1)
	noHeader.header.DataPageHeader.Valid = false
	// A v2 page whose 4 bytes of levels exceed its uncompressed size of 2.
	v2 := chunkTestPage{header: format.PageHeader{Type: format.DataPageV2,
		UncompressedPageSize: 2, CompressedPageSize: 4}, data: []byte{1, 2, 3, 4}}
	v2.header.DataPageHeaderV2.Valid = true
	v2.header.DataPageHeaderV2.V = format.DataPageHeaderV2{NumValues: 1, Encoding: format.Plain,
		DefinitionLevelsByteLength: 4}

	tests := []struct {
		name    string
		chunk   []byte
		cut     int      // bytes dropped from the end of the chunk
		want    [][]byte // data of each page read
		wantErr string
	}{
		{name: "two pages", chunk: chunkOf(t, good, dataPage(0, 4)),
			want: [][]byte{good.data, dataPage(0, 4).data}},
		{name: "matching CRC", chunk: chunkOf(t, dataPage(sum, 1, 2, 3)), want: [][]byte{good.data}},
		{name: "index page skipped", chunk: chunkOf(t, index, good), want: [][]byte{good.data}},
		{name: "CRC mismatch", chunk: chunkOf(t, dataPage(sum+1, 1, 2, 3)),
			wantErr: "the file is corrupt"},
		{name: "page past the chunk", chunk: chunkOf(t, long), wantErr: "runs past the end of its column chunk"},
		{name: "negative size", chunk: chunkOf(t, negative), wantErr: "uncompressed_page_size is -1"},
		{name: "data page without its header", chunk: chunkOf(t, noHeader),
			wantErr: "has no data_page_header"},
		{name: "levels longer than the page", chunk: chunkOf(t, v2),
			wantErr: "the levels (4 bytes) are longer than the page uncompressed (2 bytes)"},
		{name: "header cut off", chunk: chunkOf(t, good), cut: len(good.data) + 3,
			wantErr: "the page header at offset 0 is corrupt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunk := tt.chunk[:len(tt.chunk)-tt.cut]
			var cp chunkPages
			cp.reset(bytes.NewReader(chunk), &format.ColumnMetaData{
				Codec: format.Uncompressed, DataPageOffset: 0, TotalCompressedSize: int64(len(chunk))})
			var got [][]byte
			var err error
			for {
				var p page
				if p, err = cp.next(); err != nil {
					break
				}
				got = append(got, append([]byte(nil), p.data...))
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if !errors.Is(err, errChunkEnd) {
				t.Fatalf("error %v, want the end of the chunk", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("pages differ (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCorruptPagesFail changes one byte at a time in the pages of files
// that use different codecs, encodings and page versions, and reads every
// column of each result. A change may go unnoticed (a value changes), but
// every failure must be a *FileError, never a panic or a hang.
func TestCorruptPagesFail(t *testing.T) {
	files := []string{
		"users/users.duckdb.zstd.parquet",
		"users/users.arrowgo.int96.parquet",
		"users/users.arrowrs.lz4raw.v2.parquet",
		"users/users.duckdb.v2.parquet",
		"upstream/datapage_v2.snappy.parquet",
	}
	r := rand.New(rand.NewPCG(31, 32))
	dir := t.TempDir()
	for _, rel := range files {
		orig, err := os.ReadFile(filepath.Join(testdata, rel))
		if err != nil {
			t.Fatal(err)
		}
		footer := int(binary.LittleEndian.Uint32(orig[len(orig)-8:]))
		pagesEnd := len(orig) - 8 - footer // the pages lie in [4, pagesEnd)
		failed := 0
		for i := range 150 {
			data := append([]byte(nil), orig...)
			at := 4 + r.IntN(pagesEnd-4)
			data[at] ^= byte(1 + r.IntN(255))
			path := filepath.Join(dir, fmt.Sprintf("corrupt-%d.parquet", i))
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := readColumns(path)
			var fe *FileError
			if err != nil && !errors.As(err, &fe) {
				t.Fatalf("%s with byte %d changed: error %v is not a *FileError", rel, at, err)
			}
			if err != nil {
				failed++
			}
		}
		t.Logf("%s: %d of 150 changes detected", rel, failed)
	}
}
