package mapping

import (
	"math"
	"math/big"
	"math/bits"
)

// This file finds the shortest decimal form of a double with the Schubfach
// algorithm (R. Giulietti, "The Schubfach way to render doubles"), for the
// doubles that JSON writes without an exponent. strconv finds the same
// digits: the shortest that read back as the same double, and of those the
// closest. It took about 45 ns a double on the benchmark machine against
// about 10 ns here, and floats were among the largest costs of a body.

// Decimal exponents covered by the table of scaled powers of ten: enough
// for doubles from 1e-6 to 1e21 with room to spare.
const (
	minPow10Exp = -30
	maxPow10Exp = 10
)

// pow10Table holds, for each k in [minPow10Exp, maxPow10Exp], the 126-bit
// integer g = floor(10^-k · 2^(125-floor(log2 10^-k))) + 1, split into its
// high and low 63 bits. It is computed exactly with math/big.
var pow10Table = func() (t [maxPow10Exp - minPow10Exp + 1][2]uint64) {
	ten := big.NewInt(10)
	for k := minPow10Exp; k <= maxPow10Exp; k++ {
		num := new(big.Int).Exp(ten, big.NewInt(int64(max(-k, 0))), nil)
		den := new(big.Int).Exp(ten, big.NewInt(int64(max(k, 0))), nil)
		if shift := 125 - floorLog2Pow10(-k); shift >= 0 {
			num.Lsh(num, uint(shift))
		} else {
			den.Lsh(den, uint(-shift))
		}
		g := num.Add(num.Quo(num, den), big.NewInt(1))
		low := new(big.Int).And(g, new(big.Int).SetUint64(1<<63-1))
		t[k-minPow10Exp] = [2]uint64{new(big.Int).Rsh(g, 63).Uint64(), low.Uint64()}
	}
	return t
}()

// floorLog10Pow2 returns floor(q · log10 2), floorLog10ThreeQuartersPow2
// floor(log10(3/4 · 2^q)) and floorLog2Pow10 floor(e · log2 10), each by a
// multiplication that is exact for the small exponents used here.
func floorLog10Pow2(q int) int { return int(int64(q) * 661971961083 >> 41) }

func floorLog10ThreeQuartersPow2(q int) int {
	return int((int64(q)*661971961083 - 274743187321) >> 41)
}

func floorLog2Pow10(e int) int { return int(int64(e) * 913124641741 >> 38) }

// roundOdd returns g·cp / 2^127 rounded to odd, where g = hi·2^63 + lo.
func roundOdd(hi, lo, cp uint64) uint64 {
	x, _ := bits.Mul64(lo, cp)
	yHi, yLo := bits.Mul64(hi, cp)
	z := yLo>>1 + x
	return (yHi + z>>63) | ((z&(1<<63-1))+(1<<63-1))>>63
}

// shortestDecimal returns digits and exp such that digits · 10^exp is the
// shortest decimal that reads back as v, and of those the closest to v
// (ties to an even last digit). v must be a positive normal double. ok is
// false when v's scale is outside the table; callers then use strconv.
func shortestDecimal(v float64) (digits uint64, exp int, ok bool) {
	b := math.Float64bits(v)
	biased := int(b>>52) & 0x7ff
	q := biased - 1075               // v = c · 2^q
	c := uint64(1)<<52 | b&(1<<52-1) // the significand with its hidden bit
	odd := c & 1                     // an odd c excludes the interval's ends
	cb, cbr := c<<2, c<<2+2          // v and its upper rounding bound, times 4
	var cbl uint64                   // the lower rounding bound, times 4
	var k int
	if c != 1<<52 || biased == 1 {
		cbl, k = cb-2, floorLog10Pow2(q)
	} else {
		// At a power of two the double below is closer than the one above.
		cbl, k = cb-1, floorLog10ThreeQuartersPow2(q)
	}
	if k < minPow10Exp || k > maxPow10Exp {
		return 0, 0, false
	}
	// Scale the three values by 10^-k, keeping two bits of fraction and
	// a sticky bit.
	h := q + floorLog2Pow10(-k) + 2
	g := &pow10Table[k-minPow10Exp]
	vb := roundOdd(g[0], g[1], cb<<h)
	vbl := roundOdd(g[0], g[1], cbl<<h)
	vbr := roundOdd(g[0], g[1], cbr<<h)

	// alone returns whichever of the candidates low and high, one step
	// apart, lies in the rounding interval when the other does not.
	alone := func(low, high uint64) (uint64, bool) {
		lowIn := vbl+odd <= low<<2
		highIn := high<<2+odd <= vbr
		if lowIn == highIn {
			return 0, false
		}
		if lowIn {
			return low, true
		}
		return high, true
	}

	s := vb >> 2 // v · 10^-k, rounded down
	if s >= 100 {
		// One digit fewer: the multiples of ten around s.
		tenth, _ := bits.Mul64(s, 115292150460684698<<4) // s / 10
		if d, ok := alone(10*tenth, 10*tenth+10); ok {
			return d, k, true
		}
	}
	t := s + 1
	if d, ok := alone(s, t); ok {
		return d, k, true
	}
	// Both candidates are in the interval, so the closer one wins, and the
	// even one on a tie.
	if d := int64(vb - (s+t)<<1); d < 0 || d == 0 && s&1 == 0 {
		return s, k, true
	}
	return t, k, true
}
