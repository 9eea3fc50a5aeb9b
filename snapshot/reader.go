package snapshot

import (
	"errors"
	"fmt"
	"io"
)

// Values holds one column's values for the rows of a [Batch]. Only the slice
// named by the column's [Storage] is filled; it has one element per row, with
// the zero value where Null is true.
type Values struct {
	Null  []bool
	Bool  []bool
	Int   []int64
	Float []float64
	// Bytes point into memory owned by the Reader: they stay valid until the
	// next call of Reader.Next.
	Bytes [][]byte

	// For StorageBytes columns, Index[i] is the index in Dict of row i's
	// value when the value comes from the column chunk's dictionary, and -1
	// otherwise (nulls, pages without dictionary encoding). DictID
	// identifies Dict within the Reader: it changes whenever Dict does.
	// Callers can use them to convert each dictionary value once.
	Index  []int32
	Dict   [][]byte
	DictID uint64
}

// Batch is a run of consecutive rows of one row group.
type Batch struct {
	Offset  int64    // index in the file of the batch's first row
	Len     int      // number of rows
	Columns []Values // one per column passed to NewReader, in that order
}

// DefaultBatchRows is the number of rows per batch when NewReader is given 0.
const DefaultBatchRows = 1024

// Reader reads selected columns of a [File] in batches of rows.
type Reader struct {
	file    *File
	columns []*Column
	cursors []cursor
	size    int

	rowGroup int   // index of the next row group to open
	rgRows   int64 // rows in the current row group
	rgPos    int64 // rows of the current row group already returned
	offset   int64 // rows of the file already returned
	open     bool  // cursors are on a row group

	batch Batch
}

// NewReader returns a reader of the columns of f at the given indexes of
// f.Columns, batchRows rows at a time (0 means DefaultBatchRows). Columns
// that are unsupported or unreadable in f make it fail with a [*FileError].
func (f *File) NewReader(columns []int, batchRows int) (*Reader, error) {
	if batchRows <= 0 {
		batchRows = DefaultBatchRows
	}
	r := &Reader{file: f, size: batchRows}
	r.batch.Columns = make([]Values, len(columns))
	r.cursors = make([]cursor, len(columns))
	for i, ci := range columns {
		if ci < 0 || ci >= len(f.Columns) {
			return nil, fmt.Errorf("column index %d out of range for %q", ci, f.Path)
		}
		c := &f.Columns[ci]
		if c.Kind == KindUnsupported {
			return nil, &FileError{Path: f.Path, Column: c.Name, Reason: c.Unsupported}
		}
		if c.Unreadable != "" {
			return nil, &FileError{Path: f.Path, Column: c.Name, Reason: c.Unreadable}
		}
		r.columns = append(r.columns, c)
		r.cursors[i] = cursor{col: c, path: f.Path}
		v := &r.batch.Columns[i]
		v.Null = make([]bool, batchRows)
		switch c.Storage {
		case StorageBool:
			v.Bool = make([]bool, batchRows)
		case StorageInt:
			v.Int = make([]int64, batchRows)
		case StorageFloat:
			v.Float = make([]float64, batchRows)
		case StorageBytes:
			v.Bytes = make([][]byte, batchRows)
			v.Index = make([]int32, batchRows)
		}
	}
	return r, nil
}

// Next returns the next batch of rows, or io.EOF after the last one. The
// batch and its buffers are reused by the next call. Before io.EOF, Next
// checks that every column delivered exactly the row count of each row
// group, and that the file delivered the row count of its footer. A
// shortfall or an excess is a [*FileError].
func (r *Reader) Next() (*Batch, error) {
	for r.rgPos == r.rgRows {
		if err := r.closeRowGroup(); err != nil {
			return nil, err
		}
		if r.rowGroup == r.file.RowGroups {
			if r.offset != r.file.NumRows {
				return nil, &FileError{Path: r.file.Path, Reason: fmt.Sprintf(
					"read %d rows but the footer says %d", r.offset, r.file.NumRows)}
			}
			return nil, io.EOF
		}
		r.openRowGroup()
	}

	n := int(min(int64(r.size), r.rgRows-r.rgPos))
	for i := range r.cursors {
		c := &r.cursors[i]
		if err := c.fill(&r.batch.Columns[i], n); err != nil {
			return nil, c.fail(r.rowGroup-1, err)
		}
	}
	r.batch.Offset = r.offset
	r.batch.Len = n
	r.offset += int64(n)
	r.rgPos += int64(n)
	return &r.batch, nil
}

func (r *Reader) openRowGroup() {
	rg := &r.file.pf.Metadata().RowGroups[r.rowGroup]
	if rg.NumRows == 0 {
		// arrow-go writes a row group for an empty record batch, with
		// column chunks at offset 0; there is nothing to read.
		r.rgRows, r.rgPos = 0, 0
		r.rowGroup++
		return
	}
	for i := range r.cursors {
		r.cursors[i].start(r.file.osFile, &rg.Columns[r.columns[i].leaf].MetaData)
	}
	r.rgRows = rg.NumRows
	r.rgPos = 0
	r.rowGroup++
	r.open = true
}

// closeRowGroup checks that no column has values left in the row group just
// read, and closes its page readers.
func (r *Reader) closeRowGroup() error {
	if !r.open {
		return nil
	}
	r.open = false
	var first error
	for i := range r.cursors {
		c := &r.cursors[i]
		if err := c.finish(); err != nil && first == nil {
			first = c.fail(r.rowGroup-1, err)
		}
	}
	return first
}

// Close releases the page readers. It does not close the File.
func (r *Reader) Close() {
	for i := range r.cursors {
		r.cursors[i].close()
	}
}

// errMoreValues and errFewerValues report a column chunk whose pages hold
// more or fewer rows than its row group.
var (
	errMoreValues  = errors.New("the column chunk holds more values than the row group has rows")
	errFewerValues = errors.New("the column chunk ends before the row group's last row")
)

// recoverPanic turns a panic while decoding a page into an error. parquet-go's
// decoders panic on some corrupt pages, and a slip in this package's own
// bounds checks would panic too.
func recoverPanic(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("decoding failed (panic: %v); the file is probably corrupt", r)
	}
}
