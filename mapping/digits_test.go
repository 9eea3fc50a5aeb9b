package mapping

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// digitCases returns integers around every power of ten and every power of
// two, the ends of the range and random values of every length.
func digitCases() []uint64 {
	values := []uint64{0, 1, 9, 10, 99, 100, math.MaxUint64, math.MaxUint64 - 1, math.MaxInt64,
		1<<63 + 1}
	for p := uint64(1); p <= 1e19; p *= 10 {
		values = append(values, p-1, p, p+1)
		if p == 1e19 {
			break
		}
	}
	for b := range 64 {
		values = append(values, 1<<b-1, 1<<b, 1<<b+1)
	}
	r := rand.New(rand.NewPCG(21, 22))
	for range 200_000 {
		values = append(values, r.Uint64()>>r.UintN(64))
	}
	return values
}

// TestAppendDigitsMatchesStrconv checks appendDigits, appendSigned and
// decimalLen against strconv, appending after existing text into slices
// with no spare capacity and with some, so that the words written past a
// number's end never reach the text before it.
func TestAppendDigitsMatchesStrconv(t *testing.T) {
	for _, v := range digitCases() {
		want := strconv.FormatUint(v, 10)
		if got := decimalLen(v); got != len(want) {
			t.Fatalf("decimalLen(%d) = %d, want %d", v, got, len(want))
		}
		for _, spare := range []int{0, 3, 30} {
			prefix := make([]byte, 5, 5+spare)
			copy(prefix, "abcde")
			got := appendDigits(prefix, v)
			if string(got) != "abcde"+want {
				t.Fatalf("appendDigits(%q, %d) = %q, want %q", prefix, v, got, "abcde"+want)
			}
		}
		s := int64(v)
		if got, want := string(appendSigned([]byte("x"), s)), "x"+strconv.FormatInt(s, 10); got != want {
			t.Fatalf("appendSigned(%d) = %q, want %q", s, got, want)
		}
	}
}

// TestEightDigitsAll checks eightDigits on every input from 0 to 99,999,999
// against digits found by division.
func TestEightDigitsAll(t *testing.T) {
	for x := range uint32(1e8) {
		var want uint64
		v := x
		for i := 7; i >= 0; i-- {
			want |= uint64('0'+v%10) << (8 * i)
			v /= 10
		}
		if got := eightDigits(x); got != want {
			t.Fatalf("eightDigits(%d) = %#x, want %#x", x, got, want)
		}
	}
}

// TestAppendIntQuotesBeyondDoubles checks the JSON rule for integers: a
// number up to 2^53 in magnitude, a string beyond.
func TestAppendIntQuotesBeyondDoubles(t *testing.T) {
	tests := []struct {
		v    int64
		want string
	}{
		{0, "0"},
		{-7, "-7"},
		{9007199254740992, "9007199254740992"},
		{-9007199254740992, "-9007199254740992"},
		{9007199254740993, `"9007199254740993"`},
		{-9007199254740993, `"-9007199254740993"`},
		{math.MinInt64, `"-9223372036854775808"`},
		{math.MaxInt64, `"9223372036854775807"`},
	}
	for _, tt := range tests {
		if got := string(appendInt(nil, tt.v)); got != tt.want {
			t.Errorf("appendInt(%d) = %s, want %s", tt.v, got, tt.want)
		}
	}
	for _, tt := range []struct {
		v    uint64
		want string
	}{
		{9007199254740992, "9007199254740992"},
		{9007199254740993, `"9007199254740993"`},
		{math.MaxUint64, `"18446744073709551615"`},
	} {
		if got := string(appendUint(nil, tt.v)); got != tt.want {
			t.Errorf("appendUint(%d) = %s, want %s", tt.v, got, tt.want)
		}
	}
}

// TestAppendZeros checks every length appendZeros accepts.
func TestAppendZeros(t *testing.T) {
	for n := range 25 {
		want := "-" + strings.Repeat("0", n)
		if got := string(appendZeros([]byte("-"), n)); got != want {
			t.Errorf("appendZeros(%d) = %q, want %q", n, got, want)
		}
	}
}
