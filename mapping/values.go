package mapping

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/sprigsync/sprigsync/snapshot"
)

// maxExactInt is 2^53. Integers with an absolute value up to it are sent as
// JSON numbers, because consumers that read JSON numbers as IEEE doubles,
// such as JavaScript, read them exactly. Larger ones are sent as strings.
const maxExactInt = 1 << 53

// maxExactIntText is maxExactInt in decimal digits.
const maxExactIntText = "9007199254740992"

// maxNumberDigits is the largest count of digits of a decimal's unscaled
// value that is sent as a JSON number: any decimal text of at most 15
// significant digits survives a round trip through a double.
const maxNumberDigits = 15

func appendInt(dst []byte, v int64) []byte {
	if v >= -maxExactInt && v <= maxExactInt {
		return appendSigned(dst, v)
	}
	dst = append(dst, '"')
	dst = appendSigned(dst, v)
	return append(dst, '"')
}

func appendUint(dst []byte, v uint64) []byte {
	if v <= maxExactInt {
		return appendDigits(dst, v)
	}
	dst = append(dst, '"')
	dst = appendDigits(dst, v)
	return append(dst, '"')
}

// appendSigned appends v in decimal, as strconv.AppendInt does.
func appendSigned(dst []byte, v int64) []byte {
	abs := uint64(v)
	if v < 0 {
		dst = append(dst, '-')
		abs = -abs
	}
	return appendDigits(dst, abs)
}

// appendFloat appends f as a JSON number in the shortest text that parses
// back to the same float of the given bit size, in the format of
// encoding/json (and ECMAScript): plain digits for 1e-6 <= |f| < 1e21,
// exponent form otherwise. -0 becomes 0. It returns false, appending
// nothing, for NaN and infinities, which JSON cannot represent.
func appendFloat(dst []byte, f float64, bitSize int) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, false
	}
	if f == 0 {
		return append(dst, '0'), true
	}
	abs := math.Abs(f)
	exponent := abs < 1e-6 || abs >= 1e21
	if bitSize == 32 {
		// The bounds as float32 values, as encoding/json compares them.
		exponent = float32(abs) < 1e-6 || float32(abs) >= 1e21
	}
	if exponent {
		dst = strconv.AppendFloat(dst, f, 'e', -1, bitSize)
		// strconv writes at least two exponent digits (1e-07); JSON
		// producers following ECMAScript write 1e-7.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
		return dst, true
	}
	var digits uint64
	var exp int
	ok := false
	if bitSize == 64 {
		digits, exp, ok = shortestDecimal(abs)
	}
	if !ok {
		// strconv's exponent form costs less than its plain form for the
		// same shortest digits.
		var buf [32]byte
		digits, exp = exponentForm(strconv.AppendFloat(buf[:0], abs, 'e', -1, bitSize))
	}
	if f < 0 {
		dst = append(dst, '-')
	}
	return appendPlainDecimal(dst, digits, exp), true
}

// exponentForm returns the digits of a positive number that strconv wrote in
// exponent form, "d[.ddd]e±X...", and the power of ten of the last digit. The
// number has at most 19 significant digits.
func exponentForm(text []byte) (digits uint64, exp int) {
	e := bytes.IndexByte(text, 'e')
	fractionDigits := 0
	for i, c := range text[:e] {
		if c == '.' {
			fractionDigits = e - i - 1
			continue
		}
		digits = digits*10 + uint64(c-'0')
	}
	for _, c := range text[e+2:] {
		exp = exp*10 + int(c-'0')
	}
	if text[e+1] == '-' {
		exp = -exp
	}
	return digits, exp - fractionDigits
}

// appendFloat16 appends a FLOAT16 value, widened exactly to f, in the
// shortest decimal text that converts back to the same half-precision value.
func appendFloat16(dst []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, false
	}
	if f == 0 {
		return append(dst, '0'), true
	}
	m := float16Bits(f) & 0x7fff // magnitude bits, > 0
	a := math.Abs(f)
	below := snapshot.Float16(m - 1)
	above := 65520.0 // halfway to the first value past the largest finite half
	if m+1 < 0x7c00 {
		above = snapshot.Float16(m + 1)
	}
	even := m&1 == 0
	var c float64
	for p := 1; p <= 17; p++ {
		text := strconv.FormatFloat(a, 'e', p-1, 64)
		c, _ = strconv.ParseFloat(text, 64)
		if roundsToHalf(c, a, below, above, even) {
			break
		}
		// The p-digit decimal on a's other side can still round to a: at
		// a power of two the interval below a is half as wide as above.
		if other, ok := nextDecimal(text, c < a); ok && roundsToHalf(other, a, below, above, even) {
			c = other
			break
		}
	}
	if f < 0 {
		c = -c
	}
	return appendFloat(dst, c, 64)
}

// nextDecimal returns the decimal one unit in the last digit above (up) or
// below the positive number that strconv wrote in exponent form as text,
// with the same number of digits. ok is false when that decimal is zero.
func nextDecimal(text string, up bool) (float64, bool) {
	digits, exp := exponentForm([]byte(text))
	if up {
		digits++
	} else {
		digits--
	}
	if digits == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(strconv.FormatUint(digits, 10)+"e"+strconv.Itoa(exp), 64)
	return v, err == nil
}

// float16Bits returns the bits of f, which must be a finite value that a
// FLOAT16 represents exactly.
func float16Bits(f float64) uint16 {
	var sign uint16
	if math.Signbit(f) {
		sign, f = 0x8000, -f
	}
	if f < 0x1p-14 { // zero or subnormal: f = m * 2^-24
		return sign | uint16(f*0x1p24)
	}
	frac, exp := math.Frexp(f) // f = frac * 2^exp with frac in [0.5, 1)
	return sign | uint16(exp+14)<<10 | uint16((frac*2-1)*1024)
}

// roundsToHalf reports whether c rounds to the half-precision value a whose
// neighbours are below and above, with ties going to the even one.
func roundsToHalf(c, a, below, above float64, even bool) bool {
	switch {
	case c == a:
		return true
	case c > a:
		half := (above - a) / 2
		return c-a < half || (c-a == half && even)
	default:
		half := (a - below) / 2
		return a-c < half || (a-c == half && even)
	}
}

// appendDecimalInt appends a decimal with an int64 unscaled value.
func appendDecimalInt(dst []byte, unscaled int64, scale int) []byte {
	neg := unscaled < 0
	abs := uint64(unscaled)
	if neg {
		abs = -abs
	}
	if scale == 2 && abs < 1e15 { // at most maxNumberDigits digits
		// The common scale of money, without the digits' detour through
		// a buffer: whole units, then two digits of cents.
		if neg {
			dst = append(dst, '-')
		}
		dst = appendDigits(dst, abs/100)
		cents := abs % 100
		return append(dst, '.', digitPairs[2*cents], digitPairs[2*cents+1])
	}
	var tmp [20]byte
	digits := strconv.AppendUint(tmp[:0], abs, 10)
	return appendDecimalDigits(dst, neg, digits, scale)
}

// appendDecimalDigits appends a decimal given as the digits of its unscaled
// absolute value: a JSON number with exactly scale fraction digits when the
// digits are few enough to survive a double, else a JSON string of the same
// text. With scale 0 the decimal is an integer and follows the integer rule
// (a number up to 2^53), so that an INT64 column and a DECIMAL(38,0) column
// give the same text for the same value.
func appendDecimalDigits(dst []byte, neg bool, digits []byte, scale int) []byte {
	quote := len(digits) > maxNumberDigits
	if scale == 0 {
		quote = len(digits) > len(maxExactIntText) ||
			len(digits) == len(maxExactIntText) && string(digits) > maxExactIntText
	}
	if quote {
		dst = append(dst, '"')
	}
	if neg {
		dst = append(dst, '-')
	}
	if scale == 0 {
		dst = append(dst, digits...)
	} else {
		intLen := len(digits) - scale
		if intLen <= 0 {
			dst = append(dst, '0', '.')
			for range -intLen {
				dst = append(dst, '0')
			}
			dst = append(dst, digits...)
		} else {
			dst = append(dst, digits[:intLen]...)
			dst = append(dst, '.')
			dst = append(dst, digits[intLen:]...)
		}
	}
	if quote {
		dst = append(dst, '"')
	}
	return dst
}

// decimalBytes converts a big-endian two's complement unscaled decimal into
// the digits of its absolute value, appended to tmp. ok is false for an
// empty value.
func decimalBytes(b []byte, tmp []byte, z *big.Int) (digits []byte, neg, ok bool) {
	if len(b) == 0 {
		return tmp, false, false
	}
	neg = b[0]&0x80 != 0
	// Skip sign-extension bytes so that the common short values take the
	// int64 path.
	i := 0
	for i < len(b)-1 && ((b[i] == 0 && b[i+1]&0x80 == 0) || (b[i] == 0xff && b[i+1]&0x80 != 0)) {
		i++
	}
	b = b[i:]
	if len(b) <= 8 {
		var v int64
		if neg {
			v = -1
		}
		for _, x := range b {
			v = v<<8 | int64(x)
		}
		abs := uint64(v)
		if neg {
			abs = -abs
		}
		return strconv.AppendUint(tmp[:0], abs, 10), neg, true
	}
	z.SetBytes(b)
	if neg {
		// The value is z - 2^(8*len(b)); its absolute value is the
		// difference the other way round.
		var m big.Int
		m.Lsh(big.NewInt(1), uint(8*len(b)))
		z.Sub(&m, z)
	}
	return z.Append(tmp[:0], 10), neg, true
}

// appendString appends s as a JSON string. It escapes '"', '\\', control
// characters (\b \f \n \r \t in short form, others as \u00XX) and U+2028,
// U+2029 (so the text is also valid JavaScript), and writes everything else
// as UTF-8. It returns false when s is not valid UTF-8.
func appendString(dst []byte, s []byte) ([]byte, bool) {
	dst = append(dst, '"')
	if plainASCII(s) {
		dst = append(dst, s...)
		return append(dst, '"'), true
	}
	start := 0
	i := 0
	for i < len(s) {
		b := s[i]
		if jsonSafe[b] {
			i++
			// Skip 8 bytes at a time while none of them needs a closer look.
			for i+8 <= len(s) && !needsCheck(binary.LittleEndian.Uint64(s[i:])) {
				i += 8
			}
			continue
		}
		if b >= 0xc2 && b <= 0xdf && i+1 < len(s) && s[i+1]&0xc0 == 0x80 {
			i += 2 // a valid two-byte character, such as a Latin letter with an accent
			continue
		}
		if b >= 0xe0 && b <= 0xef && i+2 < len(s) && threeByteChar(b, s[i+1], s[i+2]) {
			i += 3 // a valid three-byte character other than U+2028 and U+2029
			continue
		}
		if b >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				return dst, false
			}
			if r == '\u2028' || r == '\u2029' {
				dst = append(dst, s[start:i]...)
				dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
				start = i + size
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		switch b {
		case '"', '\\':
			dst = append(dst, '\\', b)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), true
}

// plainASCII reports whether s is all ASCII that JSON takes as it is: no
// control characters, '"' or '\\'.
func plainASCII(s []byte) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if needsCheck(binary.LittleEndian.Uint64(s[i:])) {
			return false
		}
	}
	return i == len(s) || !needsCheck(paddedWord(s[i:]))
}

// threeByteChar reports whether b0 (0xe0 to 0xef), b1 and b2 encode a
// valid UTF-8 character, neither overlong nor a surrogate, other than the
// line and paragraph separators U+2028 and U+2029.
func threeByteChar(b0, b1, b2 byte) bool {
	lo, hi := byte(0x80), byte(0xbf)
	switch b0 {
	case 0xe0:
		lo = 0xa0
	case 0xed:
		hi = 0x9f
	case 0xe2:
		if b1 == 0x80 && b2&^1 == 0xa8 {
			return false
		}
	}
	return b1 >= lo && b1 <= hi && b2&0xc0 == 0x80
}

// jsonSafe[b] is true for the ASCII bytes appendString copies as they are:
// all but control characters, '"' and '\\'.
var jsonSafe = func() (t [256]bool) {
	for b := range utf8.RuneSelf {
		t[b] = b >= 0x20 && b != '"' && b != '\\'
	}
	return t
}()

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// needsCheck reports whether any of the 8 bytes in x may be a control
// character, '"', '\\' or a non-ASCII byte. It may also report true for
// bytes next to such a byte, which only costs a byte-wise look.
func needsCheck(x uint64) bool {
	control := x - 0x20*ones
	quote := (x ^ '"'*ones) - ones
	backslash := (x ^ '\\'*ones) - ones
	return (control|quote|backslash|x)&highs != 0
}

const hexDigits = "0123456789abcdef"

// appendUUID appends 16 bytes as a JSON string in the canonical 8-4-4-4-12
// lower-case hexadecimal form.
func appendUUID(dst []byte, b []byte) []byte {
	dst = append(dst, '"')
	for i, x := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[x>>4], hexDigits[x&0xf])
	}
	return append(dst, '"')
}

// validEmail reports whether s, already trimmed, is an email address by the
// rule in docs/type-mapping.md. The rule requires valid UTF-8 with exactly
// one '@' and a non-empty local part, a domain of at least two non-empty
// dot-separated labels, and no white space or control characters anywhere.
// plain is true when s has no '"' or '\\', so it needs no JSON escaping.
//
// It reads s eight bytes at a time. An address with a byte other than
// printable ASCII, or with '!', '"' or '\\', is checked byte by byte instead.
func validEmail(s []byte) (valid, plain bool) {
	at := -1              // index of the '@'
	var afterAt uint64    // highs once the word holding the '@' has been read
	var domainDots uint64 // markers of dots in the domain, ORed over the words
	var before uint64     // markers of the previous word's last byte, moved to byte 0
	for i := 0; i < len(s); i += 8 {
		var x uint64
		if i+8 <= len(s) {
			x = binary.LittleEndian.Uint64(s[i:])
		} else {
			x = paddedWord(s[i:])
		}
		// Bytes from 0x7f up, bytes below '#' (space, controls, '!' and
		// '"') and '\\' take the byte-by-byte check. '!' is valid but rare.
		if ((x&^highs+ones)|x)&highs|bytesBelow(x, '#')|bytesEqual(x, '\\') != 0 {
			return validEmailBytewise(s)
		}
		ats, dotMarks := bytesEqual(x, '@'), bytesEqual(x, '.')
		domain := afterAt // the bytes of this word after the '@'
		if ats != 0 {
			if at >= 0 || ats&(ats-1) != 0 {
				return false, false
			}
			at = i + bits.TrailingZeros64(ats)/8
			domain = ^(ats<<1 - 1) & highs
			afterAt = highs
		}
		// A dot right after the '@' or after another dot leaves a label
		// empty.
		previous := (ats|dotMarks)<<8 | before
		if dotMarks&domain&previous != 0 {
			return false, false
		}
		domainDots |= dotMarks & domain
		before = (ats | dotMarks) >> 56
	}
	if at <= 0 || domainDots == 0 || s[len(s)-1] == '.' {
		return false, false
	}
	return true, true
}

// paddedWord returns the 0 to 7 bytes of s as a word, padded with 'a',
// which both validEmail and needsCheck pass over. It reads s in at most two
// overlapping loads, without a call of memmove.
func paddedWord(s []byte) uint64 {
	n := uint(len(s))
	var x uint64
	switch {
	case n >= 4:
		x = uint64(binary.LittleEndian.Uint32(s)) | uint64(binary.LittleEndian.Uint32(s[n-4:]))<<(8*(n-4))
	case n > 0:
		x = uint64(s[0]) | uint64(s[n/2])<<(8*(n/2)) | uint64(s[n-1])<<(8*(n-1))
	}
	return x | ones*'a'<<(8*n)
}

// bytesEqual returns the high bit of each byte of x that equals c, and no
// other bit.
func bytesEqual(x uint64, c byte) uint64 {
	y := x ^ (ones * uint64(c))
	return ^((y&^highs + ones*0x7f) | y) & highs
}

// bytesBelow returns the high bit of each ASCII byte of x below c, which must
// be at most 0x80, and no other bit.
func bytesBelow(x uint64, c byte) uint64 {
	return ^((x&^highs + ones*uint64(0x80-c)) | x) & highs
}

// validEmailBytewise is validEmail one byte at a time, for addresses with
// bytes that need a closer look.
func validEmailBytewise(s []byte) (valid, plain bool) {
	at, lastDot, dots := -1, -1, 0
	plain = true
	for i := 0; i < len(s); i++ {
		switch emailClass[s[i]] {
		case emailOther:
		case emailAt:
			if at >= 0 {
				return false, false
			}
			at = i
		case emailDot:
			if at >= 0 {
				if i == at+1 || i == lastDot+1 {
					return false, false // empty domain label
				}
				lastDot = i
				dots++
			}
		case emailQuote:
			plain = false
		case emailInvalid:
			return false, false
		case emailNonASCII:
			r, size := utf8.DecodeRune(s[i:])
			if (r == utf8.RuneError && size == 1) || unicode.IsSpace(r) || unicode.IsControl(r) {
				return false, false
			}
			i += size - 1
		}
	}
	if at <= 0 || dots == 0 || lastDot == len(s)-1 {
		return false, false
	}
	return true, plain
}

// Classes of bytes for validEmail.
const (
	emailOther    = iota // any other ASCII byte
	emailAt              // '@'
	emailDot             // '.'
	emailQuote           // '"' or '\\': valid, but escaped in JSON
	emailInvalid         // space, control character
	emailNonASCII        // first or later byte of a multi-byte character
)

var emailClass = func() (t [256]uint8) {
	for b := range t {
		switch {
		case b >= utf8.RuneSelf:
			t[b] = emailNonASCII
		case b <= ' ' || b == 0x7f:
			t[b] = emailInvalid
		case b == '@':
			t[b] = emailAt
		case b == '.':
			t[b] = emailDot
		case b == '"' || b == '\\':
			t[b] = emailQuote
		}
	}
	return t
}()

// isBlank reports whether s is empty or only white space.
func isBlank(s []byte) bool {
	return len(bytes.TrimSpace(s)) == 0
}

// civil returns the proleptic Gregorian date of a day count since
// 1970-01-01, which must lie in [minDay, maxDay]. It uses the algorithm of
// C. Neri and L. Schneider, "Euclidean Affine Functions and Applications to
// Calendar Algorithms" (arXiv:2102.06959), which divides only by constants.
// TestCivilAllDays checks it on every day of years 0000 to 9999.
func civil(days int64) (year int64, month, day int) {
	const (
		shift = 82 // 400-year cycles added to keep every value unsigned
		k     = 719468 + 146097*shift
		l     = 400 * shift
	)
	n := uint32(days + k)

	// Century and day of the century.
	n1 := 4*n + 3
	c := n1 / 146097
	nc := n1 % 146097 / 4

	// Year of the century and day of the year, in a calendar whose years
	// start on March 1.
	n2 := 4*nc + 3
	p2 := uint64(2939745) * uint64(n2)
	z := uint32(p2 >> 32)
	ny := uint32(p2) / 2939745 / 4
	y := 100*c + z

	// Month and day, with March as month 3 and February as month 14.
	n3 := 2141*ny + 197913
	m := n3 >> 16
	d := n3 & 0xffff / 2141

	if ny >= 306 { // January or February: the next Gregorian year
		return int64(y) - l + 1, int(m) - 12, int(d) + 1
	}
	return int64(y) - l, int(m), int(d) + 1
}

// Day counts of 0000-01-01 and 9999-12-31 relative to 1970-01-01.
const (
	minDay = -719528
	maxDay = 2932896
)

// dateSlots is the number of days dateTexts holds: a direct-mapped table
// indexed by the day count's low bits, so any 4,096 consecutive days (about
// eleven years) fit without evicting each other.
const dateSlots = 4096

// dateTexts caches the "YYYY-MM-DD" text of recently formatted days. The
// dates and timestamps of a user table cluster in a few years, so most
// values find their day here instead of converting it again.
type dateTexts struct {
	key  [dateSlots]int32 // days - minDay + 1 of the text in each slot; 0 when empty
	text [dateSlots][10]byte
}

// of returns the text of a day count in [minDay, maxDay].
func (c *dateTexts) of(days int64) *[10]byte {
	slot := uint64(days) % dateSlots
	key := int32(days - minDay + 1)
	t := &c.text[slot]
	if c.key[slot] != key {
		y, m, d := civil(days)
		t[0], t[1] = digitPairs[2*(y/100)], digitPairs[2*(y/100)+1]
		t[2], t[3] = digitPairs[2*(y%100)], digitPairs[2*(y%100)+1]
		t[4], t[7] = '-', '-'
		t[5], t[6] = digitPairs[2*m], digitPairs[2*m+1]
		t[8], t[9] = digitPairs[2*d], digitPairs[2*d+1]
		c.key[slot] = key
	}
	return t
}

// digitPairs holds the two-digit texts of 00 to 99 back to back.
const digitPairs = "00010203040506070809" + "10111213141516171819" + "20212223242526272829" +
	"30313233343536373839" + "40414243444546474849" + "50515253545556575859" +
	"60616263646566676869" + "70717273747576777879" + "80818283848586878889" +
	"90919293949596979899"

// appendDate appends a day count since 1970-01-01 as "YYYY-MM-DD"
// (quoted). It returns false for dates outside years 0000 to 9999.
func appendDate(dst []byte, days int64, dates *dateTexts) ([]byte, bool) {
	if days < minDay || days > maxDay {
		return dst, false
	}
	dst = roomFor(dst, 12)
	k := len(dst)
	b := dst[k : k+12]
	date := dates.of(days)
	b[0] = '"'
	binary.LittleEndian.PutUint64(b[1:], binary.LittleEndian.Uint64(date[:]))
	binary.LittleEndian.PutUint16(b[9:], binary.LittleEndian.Uint16(date[8:]))
	b[11] = '"'
	return dst[:k+12], true
}

// putClock writes "HH:MM:SS" for a second of the day.
func putClock(b *[8]byte, sod int64) {
	h, m, s := sod/3600, sod/60%60, sod%60
	b[0], b[1], b[2] = digitPairs[2*h], digitPairs[2*h+1], ':'
	b[3], b[4], b[5] = digitPairs[2*m], digitPairs[2*m+1], ':'
	b[6], b[7] = digitPairs[2*s], digitPairs[2*s+1]
}

// putFraction writes "." and the digits of frac into b, without trailing
// zeros, and returns how many bytes it wrote (none when frac is 0). frac is
// a fraction of a second in units of 10^-digits seconds, digits 3, 6 or 9.
func putFraction(b *[10]byte, frac int64, digits int) int {
	if frac == 0 {
		return 0
	}
	if digits == 6 {
		// Microseconds, the unit of most warehouse timestamps, unrolled:
		// about 1% of a scan's instructions fewer than the loop below.
		hi, mid, lo := frac/10000, frac/100%100, frac%100
		b[1], b[2] = digitPairs[2*hi], digitPairs[2*hi+1]
		b[3], b[4] = digitPairs[2*mid], digitPairs[2*mid+1]
		b[5], b[6] = digitPairs[2*lo], digitPairs[2*lo+1]
	} else {
		for k := digits; k > 1; k -= 2 {
			p := frac % 100
			frac /= 100
			b[k-1], b[k] = digitPairs[2*p], digitPairs[2*p+1]
		}
		if digits%2 == 1 {
			b[1] = byte('0' + frac)
		}
	}
	b[0] = '.'
	n := digits
	for b[n] == '0' {
		n--
	}
	return n + 1
}

func floorDivMod(a, b int64) (q, r int64) {
	q, r = a/b, a%b
	if r < 0 {
		q--
		r += b
	}
	return q, r
}

// appendTimestamp appends an instant, given as seconds and a fraction of
// frac units of 10^-digits seconds since 1970-01-01T00:00:00Z, as a quoted
// RFC 3339 UTC text with only the needed fraction digits. It returns false
// outside years 0000 to 9999.
func appendTimestamp(dst []byte, secs, frac int64, digits int, dates *dateTexts) ([]byte, bool) {
	days, sod := floorDivMod(secs, 86400)
	if days < minDay || days > maxDay {
		return dst, false
	}
	// "YYYY-MM-DDTHH:MM:SS.fffffffffZ", quoted: 32 bytes at most, written
	// into the spare capacity (see digits.go).
	dst = roomFor(dst, 32)
	k := len(dst)
	b := (*[32]byte)(dst[k : k+32])
	b[0] = '"'
	date := dates.of(days)
	binary.LittleEndian.PutUint64(b[1:], binary.LittleEndian.Uint64(date[:]))
	binary.LittleEndian.PutUint16(b[9:], binary.LittleEndian.Uint16(date[8:]))
	b[11] = 'T'
	putClock((*[8]byte)(b[12:20]), sod)
	n := 20 + putFraction((*[10]byte)(b[20:30]), frac, digits)
	b[n], b[n+1] = 'Z', '"'
	return dst[:k+n+2], true
}

// unitsPerSecond is the number of a time unit's ticks in a second, indexed
// by snapshot.Unit (millis, micros, nanos).
var unitsPerSecond = [...]int64{1: 1e3, 2: 1e6, 3: 1e9}

// fractionDigits returns the number of fraction digits of a unit with
// perSecond ticks in a second.
func fractionDigits(perSecond int64) int {
	switch perSecond {
	case 1e3:
		return 3
	case 1e6:
		return 6
	}
	return 9
}

// appendTimestampUnits appends a timestamp of v ticks of a unit (see
// unitsPerSecond) since the epoch.
func appendTimestampUnits(dst []byte, v, perSecond int64, dates *dateTexts) ([]byte, bool) {
	// Constant divisors let the compiler replace the divisions with
	// multiplications.
	var secs, frac int64
	switch perSecond {
	case 1e3:
		secs, frac = floorDivMod(v, 1e3)
	case 1e6:
		secs, frac = floorDivMod(v, 1e6)
	default:
		secs, frac = floorDivMod(v, 1e9)
	}
	return appendTimestamp(dst, secs, frac, fractionDigits(perSecond), dates)
}

// julianEpoch is the Julian day number of 1970-01-01.
const julianEpoch = 2440588

// appendInt96 appends an INT96 timestamp: 8 bytes of nanoseconds within the
// day, then 4 bytes of Julian day number, both little-endian.
func appendInt96(dst []byte, b []byte, dates *dateTexts) ([]byte, bool) {
	if len(b) != 12 {
		return dst, false
	}
	nod := int64(binary.LittleEndian.Uint64(b))
	julian := int64(int32(binary.LittleEndian.Uint32(b[8:])))
	extraSecs, nanos := floorDivMod(nod, 1e9)
	secs := (julian-julianEpoch)*86400 + extraSecs
	return appendTimestamp(dst, secs, nanos, 9, dates)
}

// appendTime appends a time of day of v ticks of a unit as "HH:MM:SS[.f]",
// quoted. It returns false outside 00:00:00 to 23:59:59.999999999.
func appendTime(dst []byte, v, perSecond int64) ([]byte, bool) {
	if v < 0 || v >= 86400*perSecond {
		return dst, false
	}
	var b [20]byte // "HH:MM:SS.fffffffff", quoted
	b[0] = '"'
	putClock((*[8]byte)(b[1:9]), v/perSecond)
	n := 9 + putFraction((*[10]byte)(b[9:19]), v%perSecond, fractionDigits(perSecond))
	b[n] = '"'
	return append(dst, b[:n+1]...), true
}
