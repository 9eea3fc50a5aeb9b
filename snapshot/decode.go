package snapshot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/bitpacked"
	"github.com/parquet-go/parquet-go/format"
)

// cursor reads one column chunk page by page. Each page's non-null values
// are first converted into the dense slice of the column's storage (pInt,
// pFloat, pBool or pBytes), then spread over the batch rows by the
// definition levels. Plain byte arrays skip the dense slice: they are read
// straight from the page as they are spread.
type cursor struct {
	col    *Column
	path   string
	pages  *chunkPages // reused from chunk to chunk, with its buffers
	open   bool        // pages is on a chunk
	page   int         // index of the current data page in the chunk, for messages
	loaded int         // data pages of the chunk loaded so far
	left   int64       // rows of the chunk not yet in a loaded page
	// current is the buffer of the page whose values are being delivered.
	// Byte arrays point into the buffer of their page, which is reused for
	// a later page once released. So a page's buffer is kept until the
	// values it delivered have been used: retained lists the buffers of
	// earlier pages that the current batch may point into, and fill
	// releases them when it fills the next batch.
	current  []byte
	retained [][]byte

	// The current page.
	rows int    // rows in the page
	pos  int    // next row of the page to deliver
	defs []byte // definition levels, nil for a REQUIRED column
	vpos int    // next non-null value to deliver

	pInt   []int64
	pFloat []float64
	pBool  []bool
	pBytes [][]byte
	// A page of plain byte arrays is kept as the page's bytes in pRaw, each
	// value preceded by its 4-byte length, and fill reads the values from
	// offset pRawPos on. plain is false for other pages.
	plain   bool
	pRaw    []byte
	pRawPos int
	pIndex  []int32 // dictionary indexes of the page's byte arrays, when indexed
	indexed bool    // the page is dictionary-encoded

	levels []byte // buffer for the definition levels of a page

	// The dictionary of the current chunk, converted once.
	hasDict   bool
	dictInt   []int64
	dictFloat []float64
	dictBool  []bool
	dictBytes [][]byte
	dictID    uint64 // counts the dictionaries loaded, for Values.DictID
}

// start points the cursor at the column chunk m of the file r.
func (c *cursor) start(r io.ReaderAt, m *format.ColumnMetaData) {
	c.close()
	if c.pages == nil {
		c.pages = new(chunkPages)
	}
	c.pages.reset(r, m)
	c.open = true
	c.left = m.NumValues
	c.page, c.loaded = 0, 0
	c.rows, c.pos, c.vpos = 0, 0, 0
	c.defs = nil
	c.hasDict = false
}

func (c *cursor) fail(rowGroup int, err error) error {
	var fe *FileError
	if errors.As(err, &fe) {
		return err
	}
	return &FileError{
		Path:   c.path,
		Column: c.col.Name,
		Reason: fmt.Sprintf("row group %d, page %d", rowGroup, c.page),
		Err:    err,
	}
}

// finish checks that the chunk has no rows left, and closes its pages.
func (c *cursor) finish() (err error) {
	defer recoverPanic(&err)
	for c.pos == c.rows {
		if err := c.loadPage(); err != nil {
			if errors.Is(err, io.EOF) {
				c.close()
				return nil
			}
			return err
		}
	}
	return errMoreValues
}

// close releases the page buffers and leaves the chunk.
func (c *cursor) close() {
	if c.pages == nil {
		return
	}
	c.releaseRetained()
	c.pages.release(c.current)
	c.current = nil
	c.open = false
}

// releaseRetained releases the pages that only earlier batches pointed into.
func (c *cursor) releaseRetained() {
	for i, buf := range c.retained {
		c.pages.release(buf)
		c.retained[i] = nil
	}
	c.retained = c.retained[:0]
}

// fill sets the first n rows of v from the chunk. The values of the
// previous fill must no longer be in use.
func (c *cursor) fill(v *Values, n int) (err error) {
	defer recoverPanic(&err)
	c.releaseRetained()
	from := 0
	for from < n {
		if c.pos == c.rows {
			if err := c.loadPage(); err != nil {
				if errors.Is(err, io.EOF) {
					return errFewerValues
				}
				return err
			}
			continue
		}
		k := min(n-from, c.rows-c.pos)
		null := v.Null[from : from+k]
		var defs []byte
		if c.defs != nil {
			defs = c.defs[c.pos : c.pos+k]
		}
		switch c.col.Storage {
		case StorageInt:
			c.vpos = spread(v.Int[from:from+k], null, defs, c.pInt, c.vpos)
		case StorageFloat:
			c.vpos = spread(v.Float[from:from+k], null, defs, c.pFloat, c.vpos)
		case StorageBool:
			c.vpos = spread(v.Bool[from:from+k], null, defs, c.pBool, c.vpos)
		case StorageBytes:
			dst := v.Bytes[from : from+k]
			if c.indexed {
				v.Dict, v.DictID = c.dictBytes, c.dictID
				c.vpos = spreadDictionary(dst, v.Index[from:from+k], null, defs, c.pIndex, c.dictBytes, c.vpos)
				break
			}
			fillMinusOne(v.Index[from : from+k])
			if c.plain {
				if err := c.spreadPlain(dst, null, defs); err != nil {
					return err
				}
			} else {
				c.vpos = spread(dst, null, defs, c.pBytes, c.vpos)
			}
		}
		c.pos += k
		from += k
	}
	return nil
}

// spread copies values into dst, one per row, skipping rows whose definition
// level is 0 (null), and returns the next index into values. defs is nil for
// a column without nulls.
func spread[T any](dst []T, null []bool, defs []byte, values []T, next int) int {
	if defs == nil {
		copy(dst, values[next:next+len(dst)])
		clear(null)
		return next + len(dst)
	}
	var zero T
	for j, d := range defs {
		if d != 0 {
			dst[j] = values[next]
			null[j] = false
			next++
		} else {
			dst[j] = zero
			null[j] = true
		}
	}
	return next
}

// spreadDictionary is spread for dictionary-encoded byte arrays: it sets
// the values from the dictionary and their indexes, -1 for nulls.
func spreadDictionary(dst [][]byte, index []int32, null []bool, defs []byte, indexes []int32,
	dict [][]byte, next int) int {
	if defs == nil {
		for j := range dst {
			x := indexes[next+j]
			dst[j], index[j], null[j] = dict[x], x, false
		}
		return next + len(dst)
	}
	for j, d := range defs {
		if d != 0 {
			x := indexes[next]
			dst[j], index[j], null[j] = dict[x], x, false
			next++
		} else {
			dst[j], index[j], null[j] = nil, -1, true
		}
	}
	return next
}

// spreadPlain is spread for the plain byte arrays of the page, read from
// c.pRaw one after the other. They are checked here rather than when the
// page is loaded, so that the page's bytes are read once.
func (c *cursor) spreadPlain(dst [][]byte, null []bool, defs []byte) error {
	raw, pos := c.pRaw, c.pRawPos
	for j := range dst {
		if defs != nil && defs[j] == 0 {
			dst[j], null[j] = nil, true
			continue
		}
		if len(raw)-pos < 4 {
			return fmt.Errorf("byte-array value %d is cut off at the end of the page", c.vpos)
		}
		n := int(binary.LittleEndian.Uint32(raw[pos:]))
		pos += 4
		if n > len(raw)-pos {
			return fmt.Errorf("byte-array value %d has %d bytes, more than the %d left in the page",
				c.vpos, n, len(raw)-pos)
		}
		dst[j], null[j] = raw[pos:pos+n:pos+n], false
		pos += n
		c.vpos++
	}
	c.pRawPos = pos
	return nil
}

func fillMinusOne(s []int32) {
	for j := range s {
		s[j] = -1
	}
}

// loadPage reads the next data page and converts its values, loading the
// dictionary first when the chunk has one. It returns an error wrapping
// io.EOF at the end of the chunk.
func (c *cursor) loadPage() error {
	if !c.open {
		return io.EOF
	}
	// The previous page's values have all been delivered, but the batch
	// being filled may still point into it.
	if c.current != nil {
		c.retained = append(c.retained, c.current)
		c.current = nil
	}
	// Messages name the data page being read, counted from 0.
	c.page = c.loaded
	for {
		p, err := c.pages.next()
		if err != nil {
			return err
		}
		if p.header.Type == format.DictionaryPage {
			err := c.loadDictionary(p)
			c.pages.release(p.data)
			if err != nil {
				return fmt.Errorf("dictionary: %w", err)
			}
			continue
		}
		c.loaded++
		c.current = p.data
		return c.loadDataPage(p)
	}
}

// loadDataPage decodes the levels and values of a data page.
func (c *cursor) loadDataPage(p page) error {
	var rows int
	var enc format.Encoding
	data := p.data
	c.defs = nil
	h := p.header
	if h.Type == format.DataPageV2 {
		rows, enc = int(h.DataPageHeaderV2.V.NumValues), h.DataPageHeaderV2.V.Encoding
	} else {
		rows, enc = int(h.DataPageHeader.V.NumValues), h.DataPageHeader.V.Encoding
	}
	// The row count in the page header is not covered by the page's CRC,
	// and the levels are decoded for every row: it is checked first.
	if int64(rows) > c.left {
		return fmt.Errorf("the page has %d rows but only %d rows of its column chunk are left:"+
			" the file is corrupt", rows, c.left)
	}
	c.left -= int64(rows)

	if h.Type == format.DataPageV2 {
		v := &h.DataPageHeaderV2.V
		// Repetition levels of a top-level column are all 0; some writers
		// store them anyway, and they are skipped.
		defs := p.levels[v.RepetitionLevelsByteLength:]
		if c.col.Optional {
			levels, err := decodeLevels(c.levels, format.RLE, defs, rows)
			if err != nil {
				return err
			}
			c.levels, c.defs = levels, levels
		}
	} else {
		v := &h.DataPageHeader.V
		if c.col.Optional {
			var err error
			if data, err = c.levelsV1(v.DefinitionLevelEncoding, data, rows); err != nil {
				return err
			}
		}
	}

	nonNull := rows
	if c.defs != nil {
		nonNull = 0
		for _, d := range c.defs {
			if d > 1 {
				return fmt.Errorf("the page has definition level %d; a top-level column has at most 1", d)
			}
			nonNull += int(d)
		}
	}
	c.rows = rows
	c.pos, c.vpos = 0, 0
	c.indexed = false
	c.plain, c.pRaw = false, nil

	switch enc {
	case format.PlainDictionary, format.RLEDictionary:
		if !c.hasDict {
			return errors.New("the page is dictionary-encoded but the column chunk has no dictionary page")
		}
		indexes := c.pIndex[:0]
		if nonNull > 0 {
			// The indexes follow their bit width, in one byte.
			if len(data) == 0 {
				return fmt.Errorf("the page has no dictionary indexes for %d non-null values", nonNull)
			}
			var err error
			if indexes, err = decodeHybrid(indexes, data[1:], uint(data[0]), nonNull); err != nil {
				return fmt.Errorf("decoding the dictionary indexes failed: %w", err)
			}
		}
		c.pIndex = indexes
		return c.lookup(indexes, nonNull)
	case format.Plain:
		if c.col.Physical == format.ByteArray {
			c.plain, c.pRaw, c.pRawPos = true, data, 0
			return nil
		}
		return c.convert(data, nonNull, false)
	}
	return c.decodeOther(enc, data, nonNull)
}

// levelsV1 decodes the definition levels at the start of a data page v1
// into c.defs and returns the rest of the page.
func (c *cursor) levelsV1(enc format.Encoding, data []byte, rows int) ([]byte, error) {
	var src []byte
	switch enc {
	case format.RLE:
		// RLE levels are preceded by their length in bytes.
		if len(data) < 4 {
			return nil, errors.New("the page ends inside the length of its definition levels")
		}
		n := binary.LittleEndian.Uint32(data)
		if uint64(n) > uint64(len(data)-4) {
			return nil, fmt.Errorf("the definition levels (%d bytes) run past the end of the page", n)
		}
		src, data = data[4:4+n], data[4+n:]
	case format.BitPacked:
		// The deprecated BIT_PACKED levels have no length: one bit a row.
		n := (rows + 7) / 8
		if n > len(data) {
			return nil, fmt.Errorf("the definition levels (%d bytes) run past the end of the page", n)
		}
		src, data = data[:n], data[n:]
	default:
		return nil, fmt.Errorf("the definition levels use the encoding %s, which levels cannot use", enc)
	}
	levels, err := decodeLevels(c.levels, enc, src, rows)
	if err != nil {
		return nil, err
	}
	c.levels, c.defs = levels, levels
	return data, nil
}

// decodeLevels decodes the rows definition levels of a column whose maximum
// level is 1 into buf.
func decodeLevels(buf []byte, enc format.Encoding, src []byte, rows int) ([]byte, error) {
	if enc == format.BitPacked {
		// The deprecated encoding packs the highest bit first. Its length
		// follows from the rows, so parquet-go's decoder is bounded.
		levels, err := (&bitpacked.Encoding{BitWidth: 1}).DecodeLevels(buf[:0], src)
		if err != nil {
			return nil, fmt.Errorf("decoding the definition levels failed: %w", err)
		}
		if len(levels) < rows {
			return nil, fmt.Errorf("the page has %d definition levels for %d rows", len(levels), rows)
		}
		return levels[:rows], nil
	}
	levels, err := decodeHybrid(buf, src, 1, rows)
	if err != nil {
		return nil, fmt.Errorf("decoding the definition levels failed: %w", err)
	}
	return levels, nil
}

// plainByteArrays sets pBytes to the n plain byte arrays in data, which
// must stay valid as long as pBytes is used.
func (c *cursor) plainByteArrays(data []byte, n int) error {
	// Each value takes at least its 4-byte length.
	if n > len(data)/4 {
		return fmt.Errorf("the page has %d bytes, too few for %d byte-array values", len(data), n)
	}
	c.pBytes = resize(c.pBytes, n)
	pos := 0
	for k := range n {
		if len(data)-pos < 4 {
			return fmt.Errorf("byte-array value %d of %d is cut off at the end of the page", k, n)
		}
		size := int(binary.LittleEndian.Uint32(data[pos:]))
		pos += 4
		if size > len(data)-pos {
			return fmt.Errorf("byte-array value %d has %d bytes, more than the %d left in the page",
				k, size, len(data)-pos)
		}
		c.pBytes[k] = data[pos : pos+size : pos+size]
		pos += size
	}
	return nil
}

// decodeOther decodes n values of an encoding other than PLAIN and the
// dictionary encodings with parquet-go, then converts them like plain
// values.
func (c *cursor) decodeOther(enc format.Encoding, data []byte, n int) error {
	if n == 0 {
		// A page of nulls; some writers leave its values section empty.
		return c.convert(nil, 0, false)
	}
	if !encodingAllowed(enc, c.col.Physical) {
		return fmt.Errorf("the page uses the encoding %s, which %s columns cannot use",
			encodingName(enc), c.col.Physical)
	}
	if c.col.Physical == format.Boolean { // RLE, the only other encoding of booleans
		return c.rleBooleans(data, n)
	}
	if err := checkDeltaCount(enc, data, n); err != nil {
		return err
	}

	e := parquet.LookupEncoding(enc)
	var plain []byte
	var err error
	switch c.col.Physical {
	case format.Int32:
		plain, err = recode(e.DecodeInt32, parquet.Plain.EncodeInt32, data)
	case format.Int64:
		plain, err = recode(e.DecodeInt64, parquet.Plain.EncodeInt64, data)
	case format.Float:
		plain, err = recode(e.DecodeFloat, parquet.Plain.EncodeFloat, data)
	case format.Double:
		plain, err = recode(e.DecodeDouble, parquet.Plain.EncodeDouble, data)
	case format.FixedLenByteArray:
		plain, err = e.DecodeFixedLenByteArray(nil, data, c.col.Length)
	case format.ByteArray:
		var values []byte
		var offsets []uint32
		if values, offsets, err = e.DecodeByteArray(nil, data, nil); err == nil {
			return c.convertByteArray(values, offsets, n)
		}
	default:
		return fmt.Errorf("the page uses the encoding %s, which %s columns cannot use", enc, c.col.Physical)
	}
	if err != nil {
		return fmt.Errorf("decoding the %s values failed: %w", enc, err)
	}
	if len(plain) > n*width(c.col) {
		// Some encodings decode whole blocks, past the last value.
		plain = plain[:n*width(c.col)]
	}
	return c.convert(plain, n, false)
}

// encodingAllowed reports whether the format lets a column of the physical
// type use the value encoding enc, other than PLAIN and the dictionary
// encodings. Other pairs are corrupt headers, on which parquet-go's
// decoders can allocate without bound.
func encodingAllowed(enc format.Encoding, physical format.Type) bool {
	switch enc {
	case format.RLE:
		return physical == format.Boolean
	case format.DeltaBinaryPacked:
		return physical == format.Int32 || physical == format.Int64
	case format.DeltaLengthByteArray:
		return physical == format.ByteArray
	case format.DeltaByteArray:
		return physical == format.ByteArray || physical == format.FixedLenByteArray
	case format.ByteStreamSplit:
		return physical == format.Float || physical == format.Double || physical == format.Int32 ||
			physical == format.Int64 || physical == format.FixedLenByteArray
	}
	return false
}

// encodingName names an encoding for messages, with its number when
// parquet-go does not know it (such as ALP, 10).
func encodingName(enc format.Encoding) string {
	if name := enc.String(); name != "Encoding(?)" {
		return name
	}
	return fmt.Sprintf("number %d (unknown to this reader; arrow-go writes ALP as 10)", int32(enc))
}

// rleBooleans decodes n RLE-encoded booleans: a 4-byte length, then the
// hybrid encoding of one bit each.
func (c *cursor) rleBooleans(data []byte, n int) error {
	if len(data) < 4 {
		return errors.New("the RLE booleans end inside their length")
	}
	size := binary.LittleEndian.Uint32(data)
	if uint64(size) > uint64(len(data)-4) {
		return fmt.Errorf("the RLE booleans (%d bytes) run past the end of the page", size)
	}
	bits, err := decodeHybrid([]uint8(nil), data[4:4+size], 1, n)
	if err != nil {
		return fmt.Errorf("decoding the RLE booleans failed: %w", err)
	}
	c.pBool = resize(c.pBool, n)
	for k, b := range bits {
		c.pBool[k] = b != 0
	}
	return nil
}

// checkDeltaCount checks the value counts of DELTA_BINARY_PACKED,
// DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY data before parquet-go
// allocates for them: at most n, the page's non-null values. All three
// start with a DELTA_BINARY_PACKED header. DELTA_BYTE_ARRAY data has a
// second one after the prefix lengths, for the lengths of the suffixes.
func checkDeltaCount(enc format.Encoding, data []byte, n int) error {
	if enc != format.DeltaBinaryPacked && enc != format.DeltaLengthByteArray &&
		enc != format.DeltaByteArray {
		return nil
	}
	h, err := readDeltaHeader(data)
	if err != nil {
		return fmt.Errorf("the %s header is corrupt", enc)
	}
	if h.count > uint64(n) {
		return fmt.Errorf("the %s header gives %d values for a page of %d", enc, h.count, n)
	}
	if enc != format.DeltaByteArray {
		return nil
	}
	end, ok := h.end(data)
	if !ok {
		return nil // parquet-go fails on the prefix lengths before it reads on
	}
	suffixes, err := readDeltaHeader(data[end:])
	if err != nil {
		return fmt.Errorf("the %s header of the suffix lengths is corrupt", enc)
	}
	if suffixes.count > uint64(n) {
		return fmt.Errorf("the %s header of the suffix lengths gives %d values for a page of %d",
			enc, suffixes.count, n)
	}
	return nil
}

// maxDeltaBlockSize is the maximum of values per block that parquet-go's
// DELTA_BINARY_PACKED decoder accepts.
const maxDeltaBlockSize = 65536

// deltaHeader is the header of DELTA_BINARY_PACKED data.
type deltaHeader struct {
	blockSize, miniBlocks, count uint64
	size                         int // the header's length in bytes
}

// readDeltaHeader reads the header at the start of data: values per block,
// mini-blocks per block, value count and first value.
func readDeltaHeader(data []byte) (deltaHeader, error) {
	var h deltaHeader
	for _, field := range []*uint64{&h.blockSize, &h.miniBlocks, &h.count} {
		v, k := binary.Uvarint(data[h.size:])
		if k <= 0 {
			return h, errors.New("corrupt varint")
		}
		*field = v
		h.size += k
	}
	_, k := binary.Varint(data[h.size:])
	if k <= 0 {
		return h, errors.New("corrupt varint")
	}
	h.size += k
	return h, nil
}

// end returns the length of the DELTA_BINARY_PACKED data that starts with
// h. It skips the blocks as parquet-go reads them, until the count is
// reached. Each block has a minimum delta and one bit width per
// mini-block, then each mini-block's values at that width. It returns
// false when parquet-go would reject the header or the data ends first.
func (h deltaHeader) end(data []byte) (int, bool) {
	if h.miniBlocks == 0 || h.blockSize == 0 || h.blockSize%128 != 0 ||
		h.blockSize > maxDeltaBlockSize || (h.blockSize/h.miniBlocks)%32 != 0 {
		return 0, false
	}
	perMiniBlock := h.blockSize / h.miniBlocks
	pos := h.size
	left := h.count
	if left > 0 {
		left-- // the first value is in the header
	}
	for left > 0 {
		_, k := binary.Varint(data[pos:])
		if k <= 0 {
			return 0, false
		}
		pos += k
		if uint64(len(data)-pos) < h.miniBlocks {
			return 0, false
		}
		widths := data[pos : pos+int(h.miniBlocks)]
		pos += len(widths)
		for _, w := range widths {
			size := perMiniBlock * uint64(w) / 8
			if size > uint64(len(data)-pos) {
				return 0, false
			}
			pos += int(size)
			left -= min(left, perMiniBlock)
			if left == 0 {
				break
			}
		}
	}
	return pos, true
}

// recode decodes data with decode and encodes the values with encode.
func recode[T any](decode func([]T, []byte) ([]T, error), encode func([]byte, []T) ([]byte, error),
	data []byte) ([]byte, error) {
	values, err := decode(nil, data)
	if err != nil {
		return nil, err
	}
	return encode(nil, values)
}

// width returns the byte size of one plain value of a fixed-size column.
func width(col *Column) int {
	switch col.Physical {
	case format.Int32, format.Float:
		return 4
	case format.Int64, format.Double:
		return 8
	case format.Int96:
		return 12
	}
	return col.Length
}

// loadDictionary converts the dictionary page of a chunk into the dict*
// slices, copying byte arrays so they stay valid for the whole chunk.
func (c *cursor) loadDictionary(p page) error {
	h := &p.header.DictionaryPageHeader.V
	if h.Encoding != format.Plain && h.Encoding != format.PlainDictionary {
		return fmt.Errorf("the dictionary uses the encoding %s instead of PLAIN", h.Encoding)
	}
	n := int(h.NumValues)
	if c.col.Physical == format.ByteArray {
		// The dictionary outlives its page, so its values are copied.
		if err := c.plainByteArrays(append([]byte(nil), p.data...), n); err != nil {
			return err
		}
	} else if err := c.convert(p.data, n, true); err != nil {
		return err
	}
	c.dictInt, c.dictFloat, c.dictBool, c.dictBytes = c.pInt, c.pFloat, c.pBool, c.pBytes
	c.pInt, c.pFloat, c.pBool, c.pBytes = nil, nil, nil, nil
	c.hasDict = true
	c.dictID++
	return nil
}

// lookup fills the page values from dictionary indexes.
func (c *cursor) lookup(indexes []int32, n int) error {
	if len(indexes) != n {
		return fmt.Errorf("the page has %d dictionary indexes for %d non-null values", len(indexes), n)
	}
	var size int
	switch c.col.Storage {
	case StorageInt:
		size = len(c.dictInt)
		c.pInt = lookupValues(c.pInt, c.dictInt, indexes)
	case StorageFloat:
		size = len(c.dictFloat)
		c.pFloat = lookupValues(c.pFloat, c.dictFloat, indexes)
	case StorageBool:
		size = len(c.dictBool)
		c.pBool = lookupValues(c.pBool, c.dictBool, indexes)
	case StorageBytes:
		// fill reads the values from the dictionary through the indexes,
		// which loadDataPage keeps in c.pIndex.
		size = len(c.dictBytes)
		c.indexed = true
	}
	for _, i := range indexes {
		if uint(i) >= uint(size) {
			return fmt.Errorf("dictionary index %d is out of range for a dictionary of %d values", i, size)
		}
	}
	return nil
}

func lookupValues[T any](dst, dict []T, indexes []int32) []T {
	dst = resize(dst, len(indexes))
	for k, i := range indexes {
		if uint(i) < uint(len(dict)) {
			dst[k] = dict[i]
		}
	}
	return dst
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, n+n/4)
	}
	return s[:n]
}

// convert decodes n plain values of the column's fixed-size physical type
// from raw into the p* slice of the column's storage. With own set, INT96
// and FIXED_LEN_BYTE_ARRAY values are copied into memory owned by the
// cursor; otherwise they point into raw.
func (c *cursor) convert(raw []byte, n int, own bool) error {
	col := c.col
	if col.Physical == format.Boolean {
		if len(raw)*8 < n {
			return fmt.Errorf("the page has %d bytes of booleans for %d values", len(raw), n)
		}
		c.pBool = resize(c.pBool, n)
		for k := range n {
			c.pBool[k] = raw[k>>3]>>(k&7)&1 != 0
		}
		return nil
	}
	size := width(col)
	if len(raw) != n*size {
		return fmt.Errorf("the page has %d bytes for %d values of %d bytes", len(raw), n, size)
	}

	switch {
	case col.Physical == format.Int32 && col.Kind == KindUint:
		c.pInt = resize(c.pInt, n)
		for k := range n {
			c.pInt[k] = int64(binary.LittleEndian.Uint32(raw[4*k:]))
		}
	case col.Physical == format.Int32:
		c.pInt = resize(c.pInt, n)
		for k := range n {
			c.pInt[k] = int64(int32(binary.LittleEndian.Uint32(raw[4*k:])))
		}
	case col.Physical == format.Int64:
		c.pInt = resize(c.pInt, n)
		for k := range n {
			c.pInt[k] = int64(binary.LittleEndian.Uint64(raw[8*k:]))
		}
	case col.Physical == format.Float:
		c.pFloat = resize(c.pFloat, n)
		for k := range n {
			c.pFloat[k] = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*k:])))
		}
	case col.Physical == format.Double:
		c.pFloat = resize(c.pFloat, n)
		for k := range n {
			c.pFloat[k] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*k:]))
		}
	case col.Kind == KindFloat16:
		c.pFloat = resize(c.pFloat, n)
		for k := range n {
			c.pFloat[k] = Float16(binary.LittleEndian.Uint16(raw[2*k:]))
		}
	default: // INT96 and FIXED_LEN_BYTE_ARRAY
		if own {
			raw = append([]byte(nil), raw...)
		}
		c.pBytes = resize(c.pBytes, n)
		for k := range n {
			c.pBytes[k] = raw[k*size : (k+1)*size : (k+1)*size]
		}
	}
	return nil
}

// convertByteArray checks the offsets of n byte arrays that parquet-go
// decoded into raw, value k from offsets[k] to offsets[k+1], and sets
// pBytes to them.
func (c *cursor) convertByteArray(raw []byte, offsets []uint32, n int) error {
	if len(offsets) != n+1 {
		return fmt.Errorf("the page has %d byte-array offsets for %d values", len(offsets), n)
	}
	c.pBytes = resize(c.pBytes, n)
	for k := range n {
		i, j := offsets[k], offsets[k+1]
		if i > j || int(j) > len(raw) {
			return fmt.Errorf("byte-array value %d has invalid offsets %d..%d in %d bytes", k, i, j, len(raw))
		}
		c.pBytes[k] = raw[i:j:j]
	}
	return nil
}

// Float16 converts an IEEE 754 half-precision value, given as its bits, to
// float64 exactly.
func Float16(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0: // zero or subnormal
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	}
	return sign * math.Ldexp(1024+frac, exp-25)
}
