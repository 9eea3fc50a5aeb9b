package mapping

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestShortestDecimalMatchesStrconv compares the plain text of doubles from
// 1e-6 to 1e21 with strconv's: powers of two and ten and their neighbours,
// values with few decimals, values spread evenly over the exponents, and
// random bit patterns in the range.
func TestShortestDecimalMatchesStrconv(t *testing.T) {
	var values []float64
	near := func(v float64) {
		values = append(values, v, math.Nextafter(v, 0), math.Nextafter(v, math.Inf(1)))
	}

	for e := -20; e <= 70; e++ {
		near(math.Ldexp(1, e))
		near(math.Ldexp(3, e))
	}
	for p := -6; p <= 21; p++ {
		near(math.Pow(10, float64(p)))
	}
	for _, v := range []float64{0.1, 0.2, 0.3, 1.1, 123.456, 9007199254740991, 9007199254740993,
		5e-324, 2.2250738585072014e-308, math.MaxFloat64} {
		near(v)
	}

	r := rand.New(rand.NewPCG(11, 12))
	for range 2_000_000 {
		values = append(values,
			math.Pow(10, r.Float64()*27-6.5)*(1+r.Float64()),
			r.Float64()*100,
			float64(r.IntN(100_000_000))/100,
			math.Float64frombits(0x3eb0000000000000+r.Uint64N(0x4460000000000000-0x3eb0000000000000)))
	}
	// Integers from 2^54 up, and ones whose rounding interval ends on a
	// multiple of 10^j: c·2^q ± 2^(q-1) = 2^(q-1)·(2c ± 1) is one when
	// j < q and 2c ± 1 is a multiple of 5^j. An odd c excludes the ends,
	// an even one includes them.
	for q := 2; q <= 17; q++ {
		for range 100_000 {
			base := uint64(1)<<52 | r.Uint64N(1<<51)
			values = append(values, math.Ldexp(float64(base), q))
			m := uint64(math.Pow(5, float64(1+r.IntN(min(q-1, 6)))))
			values = append(values,
				math.Ldexp(float64(base-base%m+(m+1)/2+m), q), // lower end
				math.Ldexp(float64(base-base%m+(m-1)/2+m), q)) // upper end
		}
	}

	checked := 0
	for _, v := range values {
		if v < 1e-6 || v >= 1e21 {
			continue
		}
		checked++
		digits, exp, ok := shortestDecimal(v)
		if !ok {
			t.Fatalf("shortestDecimal(%v) is outside the table", v)
		}
		got := string(appendPlainDecimal(nil, digits, exp))
		if want := strconv.FormatFloat(v, 'f', -1, 64); got != want {
			t.Fatalf("%v (bits %#x): got %s, want %s", v, math.Float64bits(v), got, want)
		}
	}
	if checked < 10_000_000 {
		t.Fatalf("only %d values in range; the test needs more", checked)
	}
}
