package snapshot

import (
	"bytes"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// TestDecompressExactSize compresses a page with each codec's parquet-go
// encoder and checks that it decompresses to the same bytes at its size,
// and fails at one byte more or less, or at a fraction of a page of zeros.
func TestDecompressExactSize(t *testing.T) {
	page := bytes.Repeat([]byte("user-42@example.com,pro,"), 500)
	zeros := make([]byte, 1<<20)
	codecs := []format.CompressionCodec{format.Snappy, format.Gzip, format.Brotli, format.Zstd,
		format.Lz4Raw}
	for _, codec := range codecs {
		t.Run(codec.String(), func(t *testing.T) {
			enc := parquet.LookupCompressionCodec(codec)
			packed, err := enc.Encode(nil, page)
			if err != nil {
				t.Fatal(err)
			}
			packedZeros, err := enc.Encode(nil, zeros)
			if err != nil {
				t.Fatal(err)
			}
			d := decompressor{codec: codec}

			got, err := d.decode(make([]byte, len(page)), packed)
			if err != nil {
				t.Fatalf("decoding at the right size failed: %v", err)
			}
			if !bytes.Equal(got, page) {
				t.Errorf("decoded %d bytes that differ from the page", len(got))
			}
			for _, size := range []int{len(page) - 1, len(page) + 1} {
				_, err := d.decode(make([]byte, size), packed)
				if err == nil || !strings.Contains(err.Error(), "the file is corrupt") &&
					!strings.Contains(err.Error(), "failed") {
					t.Errorf("decoding %d bytes as %d: error %v, want a corrupt page", len(page), size, err)
				}
			}
			if _, err := d.decode(make([]byte, 1000), packedZeros); err == nil {
				t.Errorf("decoding 1 MiB of zeros as 1000 bytes succeeded")
			}
		})
	}
}
