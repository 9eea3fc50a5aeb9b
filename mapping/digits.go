package mapping

import (
	"encoding/binary"
	"math/bits"
)

// This file writes numbers straight into the spare capacity of the body.
// Numbers are the most common values of a body. Formatting each one into a
// local buffer and appending it cost a call of runtime.memmove per number,
// and reading the buffer right after writing it two bytes at a time stalled
// the processor's store forwarding. So the digits are built in registers,
// eight to a 64-bit word, and each word is stored once. The bytes written
// past a number's end lie in the spare capacity, and the next append
// overwrites them.

// pairs contains the texts "00" to "99" as little-endian 16-bit words.
var pairs = func() (t [100]uint16) {
	for i := range t {
		t[i] = uint16('0'+i/10) | uint16('0'+i%10)<<8
	}
	return t
}()

// allZeros is eight '0' digits as a little-endian word.
const allZeros = 0x3030303030303030

// pow10 contains the powers of ten from 10^0 to 10^19.
var pow10 = func() (t [20]uint64) {
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 10
	}
	return t
}()

// copy32 copies block to the start of dst as four words: a copy of the array
// would call runtime.memmove, because the compiler cannot tell that the two
// do not overlap.
func copy32(dst []byte, block *[32]byte) {
	dst = dst[:32]
	binary.LittleEndian.PutUint64(dst[0:], binary.LittleEndian.Uint64(block[0:]))
	binary.LittleEndian.PutUint64(dst[8:], binary.LittleEndian.Uint64(block[8:]))
	binary.LittleEndian.PutUint64(dst[16:], binary.LittleEndian.Uint64(block[16:]))
	binary.LittleEndian.PutUint64(dst[24:], binary.LittleEndian.Uint64(block[24:]))
}

// roomFor returns dst with at least n bytes of spare capacity.
func roomFor(dst []byte, n int) []byte {
	if cap(dst)-len(dst) < n {
		dst = append(dst, make([]byte, n)...)[:len(dst)]
	}
	return dst
}

// eightDigits returns the eight decimal digits of x < 1e8, with leading
// zeros, as the bytes of a little-endian word: the first digit is the
// lowest byte.
func eightDigits(x uint32) uint64 {
	hi, lo := x/10000, x%10000
	return uint64(pairs[hi/100]) | uint64(pairs[hi%100])<<16 |
		uint64(pairs[lo/100])<<32 | uint64(pairs[lo%100])<<48
}

// significant returns w, eight digits from eightDigits, without its leading
// zeros (shifted to the low bytes), and how many digits remain: at least
// one, so that zero is "0".
func significant(w uint64) (uint64, int) {
	n := max(8-bits.TrailingZeros64(w^allZeros)/8, 1)
	return w >> (64 - 8*n), n
}

// decimalLen returns the number of decimal digits of v (1 for zero).
func decimalLen(v uint64) int {
	t := (bits.Len64(v|1) * 1233) >> 12 // floor(log10(v)) or one more
	if t > 0 && v < pow10[t] {
		return t
	}
	return t + 1
}

// appendDigits appends the decimal digits of v.
func appendDigits(dst []byte, v uint64) []byte {
	dst = roomFor(dst, 24)
	k := len(dst)
	out := dst[k : k+24]
	if v < 1e8 {
		w, n := significant(eightDigits(uint32(v)))
		binary.LittleEndian.PutUint64(out, w)
		return dst[:k+n]
	}
	hi, lo := v/1e8, uint32(v%1e8)
	if hi < 1e8 {
		w, n := significant(eightDigits(uint32(hi)))
		binary.LittleEndian.PutUint64(out, w)
		binary.LittleEndian.PutUint64(out[n:], eightDigits(lo))
		return dst[:k+n+8]
	}
	w, n := significant(eightDigits(uint32(hi / 1e8))) // hi / 1e8 < 1845
	binary.LittleEndian.PutUint64(out, w)
	binary.LittleEndian.PutUint64(out[n:], eightDigits(uint32(hi%1e8)))
	binary.LittleEndian.PutUint64(out[n+8:], eightDigits(lo))
	return dst[:k+n+16]
}

// appendZeros appends n <= 24 '0' digits.
func appendZeros(dst []byte, n int) []byte {
	dst = roomFor(dst, 24)
	k := len(dst)
	out := dst[k : k+24]
	binary.LittleEndian.PutUint64(out[0:], allZeros)
	binary.LittleEndian.PutUint64(out[8:], allZeros)
	binary.LittleEndian.PutUint64(out[16:], allZeros)
	return dst[:k+n]
}

// appendPlainDecimal appends digits · 10^exp, a number in [1e-6, 1e21), in
// plain form as strconv's 'f' format with precision -1 writes it. Trailing
// zeros are dropped and a point is added where needed.
func appendPlainDecimal(dst []byte, digits uint64, exp int) []byte {
	for digits%10 == 0 {
		digits /= 10
		exp++
	}
	if exp >= 0 {
		return appendZeros(appendDigits(dst, digits), exp)
	}

	// digits has at most 17 digits, so the fraction has at most 22 (below 1e-5).
	fracLen := -exp
	whole, frac := uint64(0), digits
	if fracLen < len(pow10) {
		whole, frac = digits/pow10[fracLen], digits%pow10[fracLen]
	}
	dst = appendDigits(dst, whole)
	dst = append(dst, '.')
	dst = appendZeros(dst, fracLen-decimalLen(frac))
	return appendDigits(dst, frac)
}
