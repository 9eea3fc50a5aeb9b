package snapshot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// cursor reads one column chunk page by page. Each page's non-null values
// are first converted into the dense slice of the column's storage (pInt,
// pFloat, pBool or pBytes), then spread over the batch rows by the
// definition levels.
type cursor struct {
	col   *Column
	path  string
	pages parquet.Pages
	page  int // index of the current data page in the chunk
	// current is the page whose values are being delivered. Byte arrays
	// point into the memory of their page, which parquet-go reuses once the
	// page is released. So a page is kept until the values it delivered
	// have been used. retained lists the earlier pages that the current batch
	// may point into, and fill releases them when it fills the next batch.
	current  parquet.Page
	retained []parquet.Page

	// The current page.
	rows int    // rows in the page
	pos  int    // next row of the page to deliver
	defs []byte // definition levels, nil for a REQUIRED column
	vpos int    // next non-null value to deliver

	pInt   []int64
	pFloat []float64
	pBool  []bool
	pBytes [][]byte
	// A page of plain byte arrays is kept as its values back to back in
	// pRaw, value k from pOffsets[k] to pOffsets[k+1], instead of in
	// pBytes. pOffsets is nil for other pages.
	pRaw     []byte
	pOffsets []uint32
	pIndex   []int32 // dictionary indexes of the page's byte arrays, when indexed
	indexed  bool    // the page is dictionary-encoded

	// The dictionary of the current chunk, converted once.
	dict      parquet.Dictionary
	dictInt   []int64
	dictFloat []float64
	dictBool  []bool
	dictBytes [][]byte
	dictID    uint64 // counts the dictionaries loaded, for Values.DictID
}

func (c *cursor) start(pages parquet.Pages) {
	c.close()
	c.pages = pages
	c.page = 0
	c.rows, c.pos, c.vpos = 0, 0, 0
	c.defs = nil
	c.dict = nil
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

// close releases the pages and closes the chunk's page reader.
func (c *cursor) close() {
	c.releaseRetained()
	if c.current != nil {
		parquet.Release(c.current)
		c.current = nil
	}
	if c.pages != nil {
		c.pages.Close()
		c.pages = nil
	}
}

// releaseRetained releases the pages that only earlier batches pointed into.
func (c *cursor) releaseRetained() {
	for i, p := range c.retained {
		parquet.Release(p)
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
			if c.pOffsets != nil {
				c.vpos = spreadOffsets(dst, null, defs, c.pRaw, c.pOffsets, c.vpos)
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

// spreadOffsets is spread for byte arrays held as values back to back in
// raw, value k from offsets[k] to offsets[k+1].
func spreadOffsets(dst [][]byte, null []bool, defs []byte, raw []byte, offsets []uint32, next int) int {
	if defs == nil {
		for j := range dst {
			i, k := offsets[next+j], offsets[next+j+1]
			dst[j] = raw[i:k:k]
		}
		clear(null)
		return next + len(dst)
	}
	for j, d := range defs {
		if d != 0 {
			i, k := offsets[next], offsets[next+1]
			dst[j], null[j] = raw[i:k:k], false
			next++
		} else {
			dst[j], null[j] = nil, true
		}
	}
	return next
}

func fillMinusOne(s []int32) {
	for j := range s {
		s[j] = -1
	}
}

// loadPage reads the next data page and converts its values. It returns an
// error wrapping io.EOF at the end of the chunk.
func (c *cursor) loadPage() error {
	if c.pages == nil {
		return io.EOF
	}
	// The previous page's values have all been delivered, but the batch
	// being filled may still point into it.
	if c.current != nil {
		c.retained = append(c.retained, c.current)
		c.current = nil
	}
	page, err := c.pages.ReadPage()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		return err
	}
	c.page++
	c.current = page

	if len(page.RepetitionLevels()) > 0 {
		return errors.New("the page has repetition levels, which a top-level column cannot have")
	}
	nonNull := int(page.NumValues())
	c.defs = nil
	if c.col.Optional {
		c.defs = page.DefinitionLevels()
		if len(c.defs) != int(page.NumValues()) {
			return fmt.Errorf("the page has %d definition levels for %d values",
				len(c.defs), page.NumValues())
		}
		nonNull = 0
		for _, d := range c.defs {
			if d > 1 {
				return fmt.Errorf("the page has definition level %d; a top-level column has at most 1", d)
			}
			nonNull += int(d)
		}
	}
	c.rows = int(page.NumValues())
	c.pos, c.vpos = 0, 0

	if dict := page.Dictionary(); dict != nil {
		if dict != c.dict {
			if err := c.loadDictionary(dict); err != nil {
				return fmt.Errorf("dictionary: %w", err)
			}
		}
		data := page.Data()
		return c.lookup(data.Int32(), nonNull)
	}
	data := page.Data()
	raw, offsets := data.Data()
	c.indexed = false
	c.pRaw, c.pOffsets = nil, nil
	return c.convert(raw, offsets, nonNull, false)
}

// loadDictionary converts a chunk's dictionary into the dict* slices,
// copying byte arrays so they stay valid for the whole chunk.
func (c *cursor) loadDictionary(dict parquet.Dictionary) error {
	data := dict.Page().Data()
	raw, offsets := data.Data()
	if err := c.convert(raw, offsets, dict.Len(), true); err != nil {
		return err
	}
	c.dictInt, c.dictFloat, c.dictBool, c.dictBytes = c.pInt, c.pFloat, c.pBool, c.pBytes
	c.pInt, c.pFloat, c.pBool, c.pBytes = nil, nil, nil, nil
	c.dict = dict
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
		// fill reads the values from the dictionary through the indexes.
		size = len(c.dictBytes)
		c.pIndex = append(c.pIndex[:0], indexes...)
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

// convert decodes n plain values of the column's physical type from raw (and
// offsets for BYTE_ARRAY) into the p* slice of the column's storage. With
// own set, byte arrays are copied into memory owned by the cursor.
func (c *cursor) convert(raw []byte, offsets []uint32, n int, own bool) error {
	col := c.col
	width := 0
	switch col.Physical {
	case format.Boolean:
		if len(raw)*8 < n {
			return fmt.Errorf("the page has %d bytes of booleans for %d values", len(raw), n)
		}
		c.pBool = resize(c.pBool, n)
		for k := range n {
			c.pBool[k] = raw[k>>3]>>(k&7)&1 != 0
		}
		return nil
	case format.Int32, format.Float:
		width = 4
	case format.Int64, format.Double:
		width = 8
	case format.Int96:
		width = 12
	case format.FixedLenByteArray:
		width = col.Length
	case format.ByteArray:
		return c.convertByteArray(raw, offsets, n, own)
	}
	if len(raw) != n*width {
		return fmt.Errorf("the page has %d bytes for %d values of %d bytes", len(raw), n, width)
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
			c.pBytes[k] = raw[k*width : (k+1)*width : (k+1)*width]
		}
	}
	return nil
}

// convertByteArray checks the offsets of n byte arrays in raw. With own set
// (a dictionary), it copies them into pBytes; otherwise fill slices them
// out of raw, which is page memory, through pRaw and pOffsets.
func (c *cursor) convertByteArray(raw []byte, offsets []uint32, n int, own bool) error {
	if len(offsets) != n+1 {
		return fmt.Errorf("the page has %d byte-array offsets for %d values", len(offsets), n)
	}
	for k := range n {
		if i, j := offsets[k], offsets[k+1]; i > j || int(j) > len(raw) {
			return fmt.Errorf("byte-array value %d has invalid offsets %d..%d in %d bytes", k, i, j, len(raw))
		}
	}
	if !own {
		c.pRaw, c.pOffsets = raw, offsets
		return nil
	}
	raw = append([]byte(nil), raw...)
	c.pBytes = resize(c.pBytes, n)
	for k := range n {
		i, j := offsets[k], offsets[k+1]
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
