package usergen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"sync"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/xitongsys/parquet-go/layout"
	"github.com/xitongsys/parquet-go/parquet"
	"github.com/xitongsys/parquet-go/schema"
	"github.com/xitongsys/parquet-go/writer"
)

// batchRows is the number of rows handed to xitongsys at a time. Each
// batch becomes one data page per column and per marshalling goroutine.
const batchRows = 32 << 10

// marshalGoroutines is the writer's NP: how many goroutines build and
// compress the pages of a batch. It is a constant because it decides where
// pages start, and so the bytes of the file. Output does not otherwise
// depend on goroutine scheduling because no column uses a dictionary, whose
// value order would.
const marshalGoroutines = 2

// pageSizeLimit and rowGroupSizeLimit are byte sizes that no batch or row
// group reaches. They turn off xitongsys's own size-based flushing, so that
// page and row-group boundaries are set by batchRows and
// Options.RowGroupRows only.
const (
	pageSizeLimit     = 1 << 30
	rowGroupSizeLimit = 1 << 50
)

// pageStats is the row count and null count of one data page, as marshal
// counted them.
type pageStats struct {
	rows, nulls int64
}

// tableWriter writes rows of a generated table with xitongsys. Each row is
// named by a reference, an int64 that userAt turns into the row's values.
// xitongsys buffers these references and passes them to marshal.
type tableWriter struct {
	pw     *writer.ParquetWriter
	userAt func(ref int64) user

	mu         sync.Mutex
	chunkNulls map[int64][numColumns]int64 // by the first reference of a marshalled chunk
	inUse      []*batchTables              // tables handed to xitongsys since the last batch
	spare      []*batchTables              // tables free for reuse

	pages     [numColumns][]pageStats // pages of the open row group
	pageCount [numColumns]int         // pages of the open row group already checked
	serial    *thrift.TSerializer
}

func newTableWriter(w io.Writer, codec parquet.CompressionCodec, meta map[string]string,
	userAt func(int64) user) (*tableWriter, error) {
	pw, err := writer.NewParquetWriterFromWriter(w, schemaElements(), marshalGoroutines)
	if err != nil {
		return nil, fmt.Errorf("creating the xitongsys Parquet writer failed: %w", err)
	}
	pw.CompressionType = codec
	pw.PageSize = pageSizeLimit
	pw.RowGroupSize = rowGroupSizeLimit
	// The statistics follow the order that each type defines (signed for
	// integers, byte-wise for strings; TestStatistics checks them). Readers
	// such as Arrow ignore min and max values without this entry.
	for range numColumns {
		pw.Footer.ColumnOrders = append(pw.Footer.ColumnOrders,
			&parquet.ColumnOrder{TYPE_ORDER: parquet.NewTypeDefinedOrder()})
	}
	for _, key := range slices.Sorted(maps.Keys(meta)) {
		value := meta[key]
		pw.Footer.KeyValueMetadata = append(pw.Footer.KeyValueMetadata,
			&parquet.KeyValue{Key: key, Value: &value})
	}

	t := &tableWriter{
		pw:         pw,
		userAt:     userAt,
		chunkNulls: make(map[int64][numColumns]int64),
		serial:     thrift.NewTSerializer(),
	}
	t.serial.Protocol = thrift.NewTCompactProtocolFactory().GetProtocol(t.serial.Transport)
	pw.MarshalFunc = t.marshal
	return t, nil
}

// marshal is the writer's MarshalFunc. It may run on several goroutines at
// once, each with its own part of the buffered references.
func (t *tableWriter) marshal(src []any, sh *schema.SchemaHandler) (*map[string]*layout.Table, error) {
	if len(src) == 0 {
		return nil, errors.New("marshal called with no rows")
	}
	b, err := t.tables(sh, len(src))
	if err != nil {
		return nil, err
	}
	for _, ref := range src {
		u := t.userAt(ref.(int64))
		b.addUser(&u)
	}
	t.mu.Lock()
	t.chunkNulls[src[0].(int64)] = b.nulls
	t.mu.Unlock()
	return b.tableMap(sh), nil
}

// tables returns empty tables for n rows, reusing those of an earlier batch
// when they are large enough.
func (t *tableWriter) tables(sh *schema.SchemaHandler, n int) (*batchTables, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b *batchTables
	if k := len(t.spare); k > 0 && t.spare[k-1].capacity() >= n {
		b, t.spare = t.spare[k-1], t.spare[:k-1]
	} else {
		var err error
		if b, err = newBatchTables(sh, max(n, batchRows/marshalGoroutines+1)); err != nil {
			return nil, err
		}
	}
	t.inUse = append(t.inUse, b)
	return b, nil
}

// writeTable writes the rows named by refs, rows in all, as row groups of
// rowGroupRows rows, then the footer. It does not close w.
func writeTable(w io.Writer, opts Options, meta map[string]string, rows int,
	refs iter.Seq[int64], userAt func(int64) user) error {
	codec, err := compressionCodec(opts.Compression)
	if err != nil {
		return err
	}
	async := newAsyncWriter(w)
	defer async.Close() // after an error; its result is the one returned below
	t, err := newTableWriter(async, codec, meta, userAt)
	if err != nil {
		return err
	}

	batch := make([]int64, 0, batchRows)
	inGroup, written := 0, 0
	for ref := range refs {
		batch = append(batch, ref)
		inGroup++
		written++
		if len(batch) < batchRows && inGroup < opts.RowGroupRows && written < rows {
			continue
		}
		if err := t.writeBatch(batch); err != nil {
			return err
		}
		batch = batch[:0]
		if inGroup == opts.RowGroupRows || written == rows {
			if err := t.endRowGroup(); err != nil {
				return err
			}
			inGroup = 0
		}
	}
	if written != rows {
		return fmt.Errorf("internal error: %d rows generated instead of %d", written, rows)
	}

	if err := t.pw.WriteStop(); err != nil {
		return fmt.Errorf("writing the Parquet footer failed: %w", err)
	}
	if err := async.Close(); err != nil {
		return fmt.Errorf("writing the Parquet file failed: %w", err)
	}
	return nil
}

// writeBatch has xitongsys marshal, encode and compress the rows of batch
// into pages, which stay in memory until endRowGroup, and fixes their null
// counts.
func (t *tableWriter) writeBatch(batch []int64) error {
	for _, ref := range batch {
		if err := t.pw.Write(ref); err != nil {
			return fmt.Errorf("buffering row %d failed: %w", ref, err)
		}
	}
	if err := t.pw.Flush(false); err != nil {
		return fmt.Errorf("encoding rows %d to %d failed: %w", batch[0], batch[len(batch)-1], err)
	}
	for _, b := range t.inUse {
		b.reset()
	}
	t.spare = append(t.spare, t.inUse...)
	t.inUse = t.inUse[:0]
	return t.fixNullCounts(batch)
}

// fixNullCounts sets the right null count in the pages made from batch.
//
// xitongsys v1.6.2 (layout.TableToDataPages) starts a page's statistics at
// its first value and counts nulls from the second value on. So a page whose
// first row is null gets a null count one too low, in the page header and
// in the column chunk's statistics. A reader that skips data by statistics
// (for "IS NULL" filters) would then miss rows. Each page gets the count
// that marshal made, in a header serialized again.
func (t *tableWriter) fixNullCounts(batch []int64) error {
	// flushObjs splits the buffered rows into marshalGoroutines chunks of
	// equal size (the last one shorter); with PageSize = pageSizeLimit each
	// chunk becomes one page per column.
	chunk := (len(batch) + marshalGoroutines - 1) / marshalGoroutines
	for c, path := range t.pw.SchemaHandler.ValueColumns {
		pages := t.pw.PagesMapBuf[path][t.pageCount[c]:]
		k := 0
		for start := 0; start < len(batch); start += chunk {
			rows := min(chunk, len(batch)-start)
			if k >= len(pages) || int(pages[k].Header.DataPageHeader.GetNumValues()) != rows {
				return fmt.Errorf("internal error: column %q: xitongsys made %d pages from %d rows,"+
					" not one page per %d rows", columnNames[c], len(pages), len(batch), chunk)
			}
			nulls := t.chunkNulls[batch[start]][c]
			if err := t.setNullCount(pages[k], nulls); err != nil {
				return fmt.Errorf("column %q: %w", columnNames[c], err)
			}
			t.pages[c] = append(t.pages[c], pageStats{rows: int64(rows), nulls: nulls})
			k++
		}
		if k != len(pages) {
			return fmt.Errorf("internal error: column %q: %d pages for %d chunks", columnNames[c], len(pages), k)
		}
		t.pageCount[c] += k
	}
	clear(t.chunkNulls)
	return nil
}

// setNullCount stores nulls in p and in its serialized header.
func (t *tableWriter) setNullCount(p *layout.Page, nulls int64) error {
	payload := p.RawData[len(p.RawData)-int(p.Header.CompressedPageSize):]
	stats := p.Header.DataPageHeader.Statistics
	if stats == nil {
		stats = parquet.NewStatistics()
		p.Header.DataPageHeader.Statistics = stats
	}
	count := nulls
	stats.NullCount = &count
	p.NullCount = &count
	header, err := t.serial.Write(context.Background(), p.Header)
	if err != nil {
		return fmt.Errorf("serializing a page header failed: %w", err)
	}
	if len(header) == len(p.RawData)-len(payload) {
		copy(p.RawData, header) // same length: most counts change by one at most
		return nil
	}
	p.RawData = append(header, payload...)
	return nil
}

// endRowGroup writes the pages made since the last row group as one row
// group, then completes its column indexes: xitongsys leaves null_pages
// false even for a page of nulls only, and writes no null_counts.
func (t *tableWriter) endRowGroup() error {
	first := len(t.pw.ColumnIndexes)
	if err := t.pw.Flush(true); err != nil {
		return fmt.Errorf("writing a row group failed: %w", err)
	}
	indexes := t.pw.ColumnIndexes[first:]
	if len(indexes) != numColumns {
		return fmt.Errorf("internal error: %d column indexes in a row group of %d columns",
			len(indexes), numColumns)
	}
	for c, index := range indexes {
		pages := t.pages[c]
		if len(index.NullPages) != len(pages) {
			return fmt.Errorf("internal error: column %q: column index has %d pages, expected %d",
				columnNames[c], len(index.NullPages), len(pages))
		}
		index.NullCounts = make([]int64, len(pages))
		for l, p := range pages {
			index.NullPages[l] = p.nulls == p.rows
			index.NullCounts[l] = p.nulls
		}
		t.pages[c] = t.pages[c][:0]
		t.pageCount[c] = 0
	}
	return nil
}

// compressionCodec returns the Parquet codec for an Options.Compression name.
func compressionCodec(name string) (parquet.CompressionCodec, error) {
	switch name {
	case "", "snappy":
		return parquet.CompressionCodec_SNAPPY, nil
	case "zstd":
		return parquet.CompressionCodec_ZSTD, nil
	case "gzip":
		return parquet.CompressionCodec_GZIP, nil
	case "none":
		return parquet.CompressionCodec_UNCOMPRESSED, nil
	}
	return 0, fmt.Errorf("invalid compression %q: use snappy, zstd, gzip or none", name)
}
