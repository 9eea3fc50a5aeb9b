package snapshot

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/parquet-go/parquet-go/encoding/delta"
	"github.com/parquet-go/parquet-go/format"
)

// TestDeltaHeaderEnd checks that the skip over DELTA_BINARY_PACKED data ends
// exactly where parquet-go's encoding of the values ends, for counts that
// fill no block, one mini-block, part of a block and many blocks.
func TestDeltaHeaderEnd(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name   string
		values []int32
	}{
		{"no values", nil},
		{"one value", []int32{7}},
		{"33 steps of one", steps(33)},
		{"129 small values", randomInt32s(rng, 129, 1000)},
		{"1000 wide values", randomInt32s(rng, 1000, 1<<30)},
		{"5000 zeros", make([]int32, 5000)},
	}
	tail := []byte{0xff, 0xff, 0xff}
	for _, tt := range tests {
		encoded, err := new(delta.BinaryPackedEncoding).EncodeInt32(nil, tt.values)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		data := append(encoded, tail...)
		h, err := readDeltaHeader(data)
		if err != nil {
			t.Errorf("%s: reading the header failed: %v", tt.name, err)
			continue
		}
		end, ok := h.end(data)
		if !ok || end != len(encoded) {
			t.Errorf("%s: end %d, %v; want %d, true", tt.name, end, ok, len(encoded))
		}
	}
}

// TestDeltaHeaderEndIgnoresUnusedWidths checks that the bit widths of the
// mini-blocks past the last value are not skipped over: the format lets
// writers leave any value there and writes no data for them.
func TestDeltaHeaderEndIgnoresUnusedWidths(t *testing.T) {
	encoded, err := new(delta.BinaryPackedEncoding).EncodeInt32(nil, steps(33))
	if err != nil {
		t.Fatal(err)
	}
	h, err := readDeltaHeader(encoded)
	if err != nil {
		t.Fatal(err)
	}
	_, k := binary.Varint(encoded[h.size:]) // the block's minimum delta
	widths := encoded[h.size+k : h.size+k+4]
	// 32 deltas fill the first mini-block, so the other three are unused.
	for i := 1; i < 4; i++ {
		widths[i] = 9
	}
	data := append(encoded, make([]byte, 200)...)
	end, ok := h.end(data)
	if !ok || end != len(encoded) {
		t.Errorf("end %d, %v; want %d, true", end, ok, len(encoded))
	}
}

// TestCheckDeltaCountSuffixes checks both counts of DELTA_BYTE_ARRAY data:
// parquet-go's own encoding passes, and a suffix-length header that claims
// 2^31-1 values after valid prefix lengths is rejected.
func TestCheckDeltaCountSuffixes(t *testing.T) {
	const n = 300
	var values []byte
	offsets := []uint32{0}
	for i := range n {
		values = fmt.Appendf(values, "user-%06d@example.com", i*7)
		offsets = append(offsets, uint32(len(values)))
	}
	valid, err := new(delta.ByteArrayEncoding).EncodeByteArray(nil, values, offsets)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkDeltaCount(format.DeltaByteArray, valid, n); err != nil {
		t.Errorf("valid data: %v", err)
	}

	prefixes, err := new(delta.BinaryPackedEncoding).EncodeInt32(nil, make([]int32, n))
	if err != nil {
		t.Fatal(err)
	}
	hostile := binary.AppendUvarint(prefixes, 128)
	hostile = binary.AppendUvarint(hostile, 4)
	hostile = binary.AppendUvarint(hostile, 1<<31-1)
	hostile = binary.AppendVarint(hostile, 0)
	err = checkDeltaCount(format.DeltaByteArray, hostile, n)
	want := "the DELTA_BYTE_ARRAY header of the suffix lengths gives 2147483647 values for a page of 300"
	if err == nil || err.Error() != want {
		t.Errorf("hostile suffix count: error %v, want %q", err, want)
	}
}

func steps(n int) []int32 {
	values := make([]int32, n)
	for i := range values {
		values[i] = int32(i)
	}
	return values
}

func randomInt32s(rng *rand.Rand, n int, limit int32) []int32 {
	values := make([]int32, n)
	for i := range values {
		values[i] = rng.Int32N(limit)
	}
	return values
}
