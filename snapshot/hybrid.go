package snapshot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// This file decodes Parquet's RLE/bit-packed hybrid encoding, used for
// definition levels, dictionary indexes and RLE booleans. parquet-go's
// decoders expand every run to the length its header gives, so a page of a
// few hundred bytes whose header claims a run of two billion values took
// gigabytes, or ended the process. Here decoding stops at the number of
// values the page contains, and a run may claim more without costing more.

// errHybridEnd reports hybrid-encoded data that ends before the values do.
var errHybridEnd = errors.New("the run-length encoded data ends before its last value")

// bitsOfByte contains, for each byte, its eight bits as eight bytes of 0 or 1,
// the lowest bit first: the levels of eight rows of a bit-packed run.
var bitsOfByte = func() (t [256]uint64) {
	for b := range t {
		for i := range 8 {
			t[b] |= uint64(b>>i&1) << (8 * i)
		}
	}
	return t
}()

// decodeHybrid appends n values of width bits (0 to 32) decoded from src to
// dst[:0] and returns them. Runs past the n-th value are ignored, and so
// is anything after the run that contains it.
func decodeHybrid[T uint8 | int32](dst []T, src []byte, width uint, n int) ([]T, error) {
	if width > 32 {
		return nil, fmt.Errorf("the bit width %d is above 32", width)
	}
	// dst grows with the values actually decoded, not to n at once.
	//
	// NOTE: n comes from the page header, checked only against the row
	// group's row count in the footer. A corrupt file that claims billions
	// of rows in both places still makes the reader decode, and allocate
	// for, that many levels. Decoding them in batch-sized pieces would
	// bound that too.
	dst = dst[:0]
	byteWidth := int(width+7) / 8
	pos := 0
	for len(dst) < n {
		if pos >= len(src) {
			return nil, fmt.Errorf("%w (%d of %d values)", errHybridEnd, len(dst), n)
		}
		header, k := binary.Uvarint(src[pos:])
		if k <= 0 {
			return nil, errors.New("a run header of the run-length encoded data is corrupt")
		}
		pos += k
		if header&1 == 0 { // a run of one repeated value
			if byteWidth > len(src)-pos {
				return nil, fmt.Errorf("%w (%d of %d values)", errHybridEnd, len(dst), n)
			}
			var v uint32
			for i := range byteWidth {
				v |= uint32(src[pos+i]) << (8 * i)
			}
			pos += byteWidth
			count := int(min(header>>1, uint64(n-len(dst))))
			start := len(dst)
			dst = slices.Grow(dst, count)[:start+count]
			value := T(v)
			for i := start; i < len(dst); i++ {
				dst[i] = value
			}
			continue
		}

		// A bit-packed run of groups of eight values, width bytes a group.
		groups := header >> 1
		if width > 0 && groups > uint64(len(src)-pos)/uint64(width) {
			return nil, fmt.Errorf("%w (%d of %d values)", errHybridEnd, len(dst), n)
		}
		run := src[pos : pos+int(groups)*int(width)]
		pos += len(run)
		count := int(min(groups*8, uint64(n-len(dst))))
		dst = slices.Grow(dst, count)
		if levels, ok := any(dst).([]uint8); ok && width == 1 {
			dst = any(unpackBits(levels, run, count)).([]T)
			continue
		}
		start := len(dst)
		dst = dst[:start+count]
		mask := uint64(1)<<width - 1
		for i := range count {
			bit := uint(i) * width
			at := int(bit >> 3)
			var w uint64
			if at+8 <= len(run) {
				w = binary.LittleEndian.Uint64(run[at:])
			} else {
				for j := at; j < len(run); j++ {
					w |= uint64(run[j]) << (8 * (j - at))
				}
			}
			dst[start+i] = T(w >> (bit & 7) & mask)
		}
	}
	return dst, nil
}

// unpackBits appends the first count bits of run to dst, whose capacity
// has room for them, as values of 0 or 1, eight at a time.
func unpackBits(dst []uint8, run []byte, count int) []uint8 {
	start := len(dst)
	full := count / 8
	out := dst[start : start+count]
	for i := range full {
		binary.LittleEndian.PutUint64(out[8*i:], bitsOfByte[run[i]])
	}
	for j := 8 * full; j < count; j++ {
		out[j] = run[j/8] >> (j % 8) & 1
	}
	return dst[:start+count]
}
