package snapshot

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// chunkPages reads the pages of one column chunk straight from the file. It
// decodes each page header, checks the page's CRC when the writer set one,
// and decompresses the page into a buffer of its own (see decompressor). The values are left
// encoded: the cursor decodes them. parquet-go's page reader also decoded
// every plain byte array into a second buffer, a copy that cost about a
// fifth of reading a table of strings.
type chunkPages struct {
	r          io.ReaderAt
	pos        int64 // file offset of the next page header
	end        int64 // file offset where the chunk ends
	compressed bool  // the chunk's codec is not UNCOMPRESSED
	dec        decompressor

	header format.PageHeader
	head   []byte // bytes read ahead to decode a page header from
	packed []byte // the compressed bytes of the current page
	free   [][]byte
}

// page is one page of a chunk. data is the page's uncompressed bytes: for
// a dictionary page or a data page v1 the whole page, for a data page v2
// its values section (levels contains the levels section). data is a page
// buffer, which the cursor hands back with chunkPages.release once no batch
// points into it.
type page struct {
	header *format.PageHeader // valid until the next call of next
	data   []byte
	levels []byte
}

// Page headers are read ahead in blocks of firstHeaderRead bytes. The
// block grows, up to the end of the column chunk, for headers that carry
// large statistics: a page of one 4 MB string has a header of 16 MB when
// the writer keeps its statistics. A page larger than maxPageSize
// uncompressed is taken for a corrupt header rather than allocated,
// because common writers cut pages at about 1 MiB.
const (
	firstHeaderRead = 256
	maxPageSize     = 1 << 30
)

// errChunkEnd is returned by next after the last page of the chunk.
var errChunkEnd = io.EOF

// reset points cp at the column chunk m of the file r. The buffers of the
// previous chunk are kept for reuse.
func (cp *chunkPages) reset(r io.ReaderAt, m *format.ColumnMetaData) {
	start := m.DataPageOffset
	if m.DictionaryPageOffset > 0 && m.DictionaryPageOffset < start {
		start = m.DictionaryPageOffset
	}
	cp.r, cp.pos, cp.end = r, start, start+m.TotalCompressedSize
	cp.compressed = m.Codec != format.Uncompressed
	if cp.dec.codec != m.Codec {
		cp.dec = decompressor{codec: m.Codec}
	}
}

// release hands back a page buffer that no batch points into any more.
func (cp *chunkPages) release(buf []byte) {
	if buf != nil {
		cp.free = append(cp.free, buf[:0])
	}
}

// buffer returns a page buffer of length n with pageSlack bytes of spare
// capacity.
func (cp *chunkPages) buffer(n int) []byte {
	var b []byte
	if k := len(cp.free); k > 0 {
		b = cp.free[k-1]
		cp.free[k-1] = nil
		cp.free = cp.free[:k-1]
	}
	if cap(b) < n+pageSlack {
		return make([]byte, n, n+n/4+pageSlack)
	}
	return b[:n]
}

// next returns the next dictionary or data page of the chunk, skipping
// index pages, or errChunkEnd after the last one.
func (cp *chunkPages) next() (page, error) {
	for {
		if cp.pos >= cp.end {
			return page{}, errChunkEnd
		}
		at := cp.pos
		headerSize, err := cp.readHeader()
		if err != nil {
			return page{}, fmt.Errorf("the page header at offset %d is corrupt: %w", at, err)
		}
		h := &cp.header
		if err := checkHeader(h); err != nil {
			return page{}, fmt.Errorf("the page header at offset %d is corrupt: %w", at, err)
		}
		start := at + int64(headerSize)
		size := int64(h.CompressedPageSize)
		if start+size > cp.end {
			return page{}, fmt.Errorf("the page at offset %d (%d bytes) runs past the end of its"+
				" column chunk at offset %d", at, size, cp.end)
		}
		cp.pos = start + size

		switch h.Type {
		case format.DictionaryPage, format.DataPage, format.DataPageV2:
		case format.IndexPage:
			continue
		default:
			return page{}, fmt.Errorf("the page at offset %d has the unknown page type %d", at, h.Type)
		}
		p, err := cp.readPage(start, int(size))
		if err != nil {
			return page{}, fmt.Errorf("the page at offset %d: %w", at, err)
		}
		return p, nil
	}
}

// readHeader decodes the page header at cp.pos into cp.header and returns
// its size in bytes.
func (cp *chunkPages) readHeader() (int, error) {
	protocol := thrift.CompactProtocol{}
	for want := int64(firstHeaderRead); ; want *= 4 {
		n := min(want, cp.end-cp.pos)
		cp.head = resize(cp.head, int(n))
		if _, err := cp.r.ReadAt(cp.head, cp.pos); err != nil {
			return 0, fmt.Errorf("reading failed: %w", err)
		}
		cp.header = format.PageHeader{}
		r := protocol.NewReaderFromBytes(cp.head)
		err := thrift.NewDecoder(r).Decode(&cp.header)
		if err == nil {
			return r.BytesRead(), nil
		}
		truncated := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if !truncated || n == cp.end-cp.pos {
			return 0, err
		}
	}
}

// checkHeader rejects sizes and counts out of range, which would otherwise
// make the decoding fail in confusing ways, and pages without their header.
func checkHeader(h *format.PageHeader) error {
	reject := func(field string, value int32) error {
		return fmt.Errorf("%s is %d", field, value)
	}
	switch {
	case h.CompressedPageSize < 0:
		return reject("compressed_page_size", h.CompressedPageSize)
	case h.UncompressedPageSize < 0 || h.UncompressedPageSize > maxPageSize:
		return reject("uncompressed_page_size", h.UncompressedPageSize)
	}
	switch h.Type {
	case format.DataPage:
		if !h.DataPageHeader.Valid {
			return errors.New("a data page has no data_page_header")
		}
		if v := h.DataPageHeader.V.NumValues; v < 0 {
			return reject("num_values", v)
		}
	case format.DataPageV2:
		if !h.DataPageHeaderV2.Valid {
			return errors.New("a data page v2 has no data_page_header_v2")
		}
		v := &h.DataPageHeaderV2.V
		switch {
		case v.NumValues < 0:
			return reject("num_values", v.NumValues)
		case v.NumNulls < 0 || v.NumNulls > v.NumValues:
			return reject("num_nulls", v.NumNulls)
		case v.RepetitionLevelsByteLength < 0:
			return reject("repetition_levels_byte_length", v.RepetitionLevelsByteLength)
		case v.DefinitionLevelsByteLength < 0:
			return reject("definition_levels_byte_length", v.DefinitionLevelsByteLength)
		case int64(v.RepetitionLevelsByteLength)+int64(v.DefinitionLevelsByteLength) >
			int64(h.CompressedPageSize):
			return fmt.Errorf("the levels (%d bytes) are longer than the page (%d bytes)",
				int64(v.RepetitionLevelsByteLength)+int64(v.DefinitionLevelsByteLength),
				h.CompressedPageSize)
		}
	case format.DictionaryPage:
		if !h.DictionaryPageHeader.Valid {
			return errors.New("a dictionary page has no dictionary_page_header")
		}
		if v := h.DictionaryPageHeader.V.NumValues; v < 0 {
			return reject("num_values", v)
		}
	}
	return nil
}

// readPage reads the size bytes of the page at offset start, checks its CRC
// and decompresses it.
func (cp *chunkPages) readPage(start int64, size int) (page, error) {
	h := &cp.header
	p := page{header: h}
	cp.packed = resize(cp.packed, size)
	if _, err := cp.r.ReadAt(cp.packed, start); err != nil {
		return p, fmt.Errorf("reading failed: %w", err)
	}
	if h.CRC != 0 {
		// A CRC of 0 cannot be distinguished from a missing one, so
		// parquet-go skips the check for it too.
		if got := crc32.ChecksumIEEE(cp.packed); got != uint32(h.CRC) {
			return p, fmt.Errorf("the page's CRC-32 is %#08x but its header gives %#08x:"+
				" the file is corrupt; export the snapshot again", got, uint32(h.CRC))
		}
	}

	packed := cp.packed
	compressed := cp.compressed
	rawSize := int(h.UncompressedPageSize)
	if h.Type == format.DataPageV2 {
		v := &h.DataPageHeaderV2.V
		n := int(v.RepetitionLevelsByteLength) + int(v.DefinitionLevelsByteLength)
		// The levels are never compressed. They are decoded before the
		// next page is read, so they may stay in cp.packed.
		p.levels, packed = packed[:n], packed[n:]
		rawSize -= n
		if rawSize < 0 {
			return p, fmt.Errorf("the levels (%d bytes) are longer than the page uncompressed (%d"+
				" bytes): the file is corrupt", n, h.UncompressedPageSize)
		}
		if v.IsCompressed.Valid && !v.IsCompressed.V {
			compressed = false
		}
	}

	buf := cp.buffer(rawSize)
	switch {
	case len(packed) == 0:
		// An empty values section, as some writers leave in a page of
		// nulls, is empty whatever the codec.
		buf = buf[:0]
	case !compressed:
		buf = append(buf[:0], packed...)
	default:
		if _, err := cp.dec.decode(buf, packed); err != nil {
			cp.release(buf)
			return p, err
		}
	}
	p.data = buf
	return p, nil
}
