package mapping

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sprigsync/sprigsync/snapshot"
)

// TestAppendStringRoundTrip checks on random strings that appendString
// writes JSON that decodes to the same string, escapes every control
// character, and rejects exactly the strings that are not valid UTF-8.
func TestAppendStringRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", " ", "\"", "\\", "\n", "\x00", "\x1f", "\x7f", "é", "日", "😀",
		"\u2028", "\u2029", "\xe2", "\x80", "\xff", "\xc2", "\xc0\x80", "\xdf", "/", "<", "&",
		"abcdefgh", "ß", "’", "\xe0\xa0\x80", "\xe0\x9f\xbf", "\xed\x9f\xbf", "\xed\xa0\x80",
		"\xef\xbf\xbf", "\xe2\x80\xa7", "\xe2\x80\xaa", "\xe2\x80"}
	for range 20000 {
		var s []byte
		for range r.IntN(40) {
			s = append(s, alphabet[r.IntN(len(alphabet))]...)
		}
		got, ok := appendString(nil, s)
		if ok != utf8.Valid(s) {
			t.Fatalf("appendString(%q) ok = %v, want %v", s, ok, !ok)
		}
		if !ok {
			continue
		}
		for _, b := range got {
			if b < 0x20 {
				t.Fatalf("appendString(%q) = %q has a raw control character", s, got)
			}
		}
		if strings.ContainsAny(string(got), "\u2028\u2029") {
			t.Fatalf("appendString(%q) = %q has a raw line or paragraph separator", s, got)
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil || back != string(s) {
			t.Fatalf("appendString(%q) = %q decodes to %q, %v", s, got, back, err)
		}
	}
}

// TestAppendFloatMatchesJSON checks that doubles are written exactly as
// encoding/json writes them.
func TestAppendFloatMatchesJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		f := math.Float64frombits(r.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		if g := math.Round(f*1e6) / 1e6; r.IntN(2) == 0 && !math.IsInf(g, 0) && !math.IsNaN(g) {
			f = g // short decimals too
		}
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if f == 0 {
			want = []byte("0")
		}
		got, ok := appendFloat(nil, f, 64)
		if !ok || string(got) != string(want) {
			t.Fatalf("appendFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

// TestCivilAllDays checks the date of every day from 0000-01-01 to
// 9999-12-31 against the time package.
func TestCivilAllDays(t *testing.T) {
	for days := int64(minDay); days <= maxDay; days++ {
		y, m, d := civil(days)
		want := unixDay(days)
		if y != int64(want.Year()) || m != int(want.Month()) || d != want.Day() {
			t.Fatalf("civil(%d) = %d-%d-%d, want %s", days, y, m, d, want.Format("2006-01-02"))
		}
	}
}

func TestDecimalText(t *testing.T) {
	tests := []struct {
		unscaled int64
		scale    int
		want     string
	}{
		{0, 0, "0"}, {0, 3, "0.000"}, {-1, 2, "-0.01"}, {123, 0, "123"}, {123, 5, "0.00123"},
		{999999999999999, 2, "9999999999999.99"}, {1000000000000000, 2, `"10000000000000.00"`},
		{math.MinInt64, 0, `"-9223372036854775808"`}, {math.MaxInt64, 18, `"9.223372036854775807"`},
		{-5, 2, "-0.05"}, {12345, 2, "123.45"}, {-100, 2, "-1.00"}, {0, 2, "0.00"},
		{-999999999999999, 2, "-9999999999999.99"}, {-1000000000000000, 2, `"-10000000000000.00"`},
		{math.MinInt64, 2, `"-92233720368547758.08"`},
	}
	for _, tt := range tests {
		if got := appendDecimalInt(nil, tt.unscaled, tt.scale); string(got) != tt.want {
			t.Errorf("decimal %d scale %d = %s, want %s", tt.unscaled, tt.scale, got, tt.want)
		}
	}
}

// unixDay returns the UTC midnight of a day count since 1970-01-01.
func unixDay(days int64) time.Time {
	return time.Unix(days*86400, 0).UTC()
}

// TestTimestampText checks timestamps of every unit, and dates, against the
// time package. Days far apart share slots of the day-text cache, so the
// values also check that a slot's text is replaced when its day changes.
func TestTimestampText(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	dates := new(dateTexts)
	const layout = `"2006-01-02T15:04:05.999999999Z07:00"`
	for i := range 300000 {
		days := minDay + r.Int64N(maxDay-minDay+1)
		if i%3 == 0 {
			days = 18000 + r.Int64N(3)*dateSlots // same slot, different days
		}
		secs := days*86400 + r.Int64N(86400)
		want := time.Unix(secs, 0).UTC()
		var v, perSecond int64
		switch i % 4 {
		case 0:
			perSecond = 1e3
			v = secs*1e3 + r.Int64N(1e3)
		case 1:
			perSecond = 1e6
			v = secs*1e6 + r.Int64N(1e6)
		case 2:
			perSecond = 1e6
			v = secs * 1e6 // no fraction
		default:
			perSecond = 1e9
			secs %= 1 << 33 // int64 nanoseconds reach years 1677 to 2262
			want = time.Unix(secs, 0).UTC()
			v = secs*1e9 + r.Int64N(1e9)
		}
		frac := v - secs*perSecond
		want = want.Add(time.Duration(frac * (1e9 / perSecond)))
		got, ok := appendTimestampUnits(nil, v, perSecond, dates)
		if !ok || string(got) != want.Format(layout) {
			t.Fatalf("timestamp %d at %d per second = %s, %v; want %s", v, perSecond, got, ok,
				want.Format(layout))
		}
		gotDate, ok := appendDate(nil, days, dates)
		if wantDate := unixDay(days).Format(`"2006-01-02"`); !ok || string(gotDate) != wantDate {
			t.Fatalf("date %d = %s, %v; want %s", days, gotDate, ok, wantDate)
		}
	}
}

// TestValidEmailWordwise compares validEmail, which reads eight bytes at a
// time, with the byte-by-byte check on random strings made of the bytes
// that matter to the rule, at every length up to 40.
func TestValidEmailWordwise(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	alphabet := []string{"a", "a", "a", "Z", "9", "@", ".", ".", "-", "+", "!", "~", "\"", "\\", " ", "\t",
		"\x7f", "\x00", "é", "\u00a0", "\xff"}
	valid := 0
	for i := range 400000 {
		var s []byte
		n := i % 41
		for len(s) < n {
			s = append(s, alphabet[r.IntN(len(alphabet))]...)
		}
		if i%2 == 0 && n > 4 {
			// Mostly well-formed addresses, with one byte replaced.
			s = []byte("first.last@mail.example.com"[:min(n, 27)])
			s[r.IntN(len(s))] = alphabet[r.IntN(len(alphabet))][0]
		}
		gotValid, gotPlain := validEmail(s)
		wantValid, wantPlain := validEmailBytewise(s)
		if gotValid != wantValid || gotPlain != wantPlain {
			t.Fatalf("validEmail(%q) = %v, %v; byte by byte %v, %v", s, gotValid, gotPlain,
				wantValid, wantPlain)
		}
		if gotValid {
			valid++
		}
	}
	if valid < 10000 {
		t.Fatalf("only %d valid addresses among the random strings; the test needs more", valid)
	}
}

func TestValidEmail(t *testing.T) {
	tests := []struct {
		addr         string
		valid, plain bool
	}{
		{"a@b.co", true, true},
		{"first.last@mail.example.com", true, true},
		{"a..b@example.com", true, true},
		{"12345678@example.com", true, true},
		{"1234567@example.co", true, true},
		{`"quoted"@example.com`, true, false},
		{"zoë@exämple.com", true, true},
		{"", false, false},
		{"@example.com", false, false},
		{"a@example", false, false},
		{"a@.example.com", false, false},
		{"a@example..com", false, false},
		{"a@example.com.", false, false},
		{"a@b@example.com", false, false},
		{"a b@example.com", false, false},
		{"a@exam\x7fple.com", false, false},
		{"a@example.c\xffm", false, false},
		{"abcdefg@.example.com", false, false}, // '@' ends a word, dot starts the next
		{"abcdef.@example.com", true, true},
		{"abcdefgh@example.co.", false, false},
	}
	for _, tt := range tests {
		valid, plain := validEmail([]byte(tt.addr))
		if valid != tt.valid || plain != tt.plain {
			t.Errorf("validEmail(%q) = %v, %v; want %v, %v", tt.addr, valid, plain, tt.valid, tt.plain)
		}
	}
}

// TestAppendFloatPlainRange checks doubles and floats around the plain
// form's range, 1e-6 to 1e21, against encoding/json, with magnitudes
// spread evenly over the exponents.
func TestAppendFloatPlainRange(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	values := []float64{1e-6, 9.99e-7, 1e21, 9.99e20, 1e20, 123456789012345680000, 0.1, 1, 10,
		-1e-6, -5e-7, 0.000123, 100, 1.5}
	for range 200000 {
		f := math.Pow(10, r.Float64()*30-8) * (1 + r.Float64())
		if r.IntN(2) == 0 {
			f = -f
		}
		values = append(values, f)
	}
	for _, f := range values {
		for _, bits := range []int{64, 32} {
			var want []byte
			var err error
			if bits == 32 {
				want, err = json.Marshal(float32(f))
			} else {
				want, err = json.Marshal(f)
			}
			if err != nil {
				t.Fatal(err)
			}
			x := f
			if bits == 32 {
				x = float64(float32(f))
			}
			got, ok := appendFloat(nil, x, bits)
			if !ok || string(got) != string(want) {
				t.Fatalf("appendFloat(%v, %d) = %s, want %s", x, bits, got, want)
			}
		}
	}
}

func TestPaddedWord(t *testing.T) {
	for n := range 8 {
		s := []byte("12345678")[:n]
		want := []byte("aaaaaaaa")
		copy(want, s)
		if got := paddedWord(s); got != binary.LittleEndian.Uint64(want) {
			t.Errorf("paddedWord(%q) = %#x, want the bytes %q", s, got, want)
		}
	}
}

// TestDecimalScaleZeroMatchesInteger checks that a DECIMAL with scale 0, on
// INT64 or as big-endian bytes, gives the same text as an INT64 column for
// the same value, around 10^15 and 2^53 where the two rules for numbers
// differ.
func TestDecimalScaleZeroMatchesInteger(t *testing.T) {
	for _, v := range []int64{0, 42, -42, 999999999999999, 1000000000000000, -1000000000000000,
		9007199254740991, 9007199254740992, 9007199254740993, -9007199254740992, -9007199254740993,
		math.MaxInt64, math.MinInt64} {
		want := string(appendInt(nil, v))
		if got := string(appendDecimalInt(nil, v, 0)); got != want {
			t.Errorf("INT64 DECIMAL(18,0) %d = %s, INT64 gives %s", v, got, want)
		}
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(v))
		digits, neg, ok := decimalBytes(b[:], nil, new(big.Int))
		if !ok {
			t.Fatalf("decimalBytes(%x) failed", b)
		}
		if got := string(appendDecimalDigits(nil, neg, digits, 0)); got != want {
			t.Errorf("BYTE_ARRAY DECIMAL(38,0) %d = %s, INT64 gives %s", v, got, want)
		}
	}
}

// TestFloat16Shortest checks every finite half against the shortest decimal
// found with exact rational arithmetic: the fewest significant digits that
// round back to the half (ties to even), and of those the closest.
func TestFloat16Shortest(t *testing.T) {
	half := func(m uint16) *big.Rat { return new(big.Rat).SetFloat64(snapshot.Float16(m)) }
	for m := uint16(1); m < 0x7c00; m++ {
		a := half(m)
		var low, high *big.Rat // the ends of the interval that rounds to a
		if m == 1 {
			low = new(big.Rat).Quo(a, big.NewRat(2, 1))
		} else {
			low = new(big.Rat).Quo(new(big.Rat).Add(a, half(m-1)), big.NewRat(2, 1))
		}
		next := big.NewRat(65536, 1) // where the largest half rounds to infinity
		if m+1 < 0x7c00 {
			next = half(m + 1)
		}
		high = new(big.Rat).Quo(new(big.Rat).Add(a, next), big.NewRat(2, 1))
		inside := func(c *big.Rat) bool {
			lo, hi := c.Cmp(low), c.Cmp(high)
			if m%2 == 0 {
				return lo >= 0 && hi <= 0
			}
			return lo > 0 && hi < 0
		}

		want := shortestRat(a, inside)
		got, ok := appendFloat16(nil, snapshot.Float16(m))
		gotRat, parsed := new(big.Rat).SetString(string(got))
		if !ok || !parsed || gotRat.Cmp(want) != 0 {
			t.Fatalf("FLOAT16 %#04x (%v): got %s, want %s", m, snapshot.Float16(m), got,
				want.FloatString(12))
		}
	}
}

// shortestRat returns the decimal with the fewest significant digits for
// which inside is true, and of those the closest to a, on a tie the one with
// an even last digit. At each length it is a rounded down or up to that many
// digits.
func shortestRat(a *big.Rat, inside func(*big.Rat) bool) *big.Rat {
	f, _ := a.Float64()
	exp := int(math.Floor(math.Log10(f))) // a is about 10^exp
	distance := func(c *big.Rat) *big.Rat { return new(big.Rat).Abs(new(big.Rat).Sub(c, a)) }
	for digits := 1; ; digits++ {
		shift := digits - 1 - exp // a·10^shift has digits digits before the point
		pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(max(shift, -shift))), nil)
		scale := new(big.Rat).SetInt(pow)
		if shift < 0 {
			scale.Inv(scale)
		}
		scaled := new(big.Rat).Mul(a, scale)
		down := new(big.Int).Quo(scaled.Num(), scaled.Denom())
		up := new(big.Int).Add(down, big.NewInt(1))

		var best *big.Rat
		for _, n := range []*big.Int{down, up} {
			c := new(big.Rat).Quo(new(big.Rat).SetInt(n), scale)
			if n.Sign() == 0 || !inside(c) {
				continue
			}
			if best == nil {
				best = c
				continue
			}
			// The closer one, or on a tie the one with an even last digit,
			// as strconv rounds.
			if d := distance(c).Cmp(distance(best)); d < 0 || d == 0 && n.Bit(0) == 0 {
				best = c
			}
		}
		if best != nil {
			return best
		}
	}
}
