package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"
)

// decompressor decompresses the pages of one codec into buffers of the exact
// size their header gives. parquet-go's codecs grow their output to whatever
// the data decompresses to. A corrupt LZ4 page made them double the buffer
// until the process ran out of memory, and a page of zeros compresses more
// than a thousand times. Here a page that decompresses to more or fewer bytes
// than its header gives is an error, and no more than that is allocated.
type decompressor struct {
	codec format.CompressionCodec
	gzip  *gzip.Reader
	input bytes.Reader
}

// zstdDecoders contains decoders that stop at the capacity of their output,
// which is the page size the header gives.
var zstdDecoders = sync.Pool{New: func() any {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecodeAllCapLimit(true),
		zstd.WithDecoderMaxMemory(maxPageSize))
	if err != nil {
		panic(fmt.Sprintf("creating a zstd decoder failed: %v", err)) // only for invalid options
	}
	return d
}}

// pageSlack is the spare capacity a page buffer needs past the page. The
// zstd decoder copies 16 or 32 bytes at a time only when that much room is
// left past the output. Without it, reading the benchmark table took 1.4%
// more instructions.
const pageSlack = 64

// decode decompresses src into dst, whose length is the page's uncompressed
// size and whose capacity is at least pageSlack more, and returns dst.
func (d *decompressor) decode(dst, src []byte) ([]byte, error) {
	size := len(dst)
	var n int
	var err error
	switch d.codec {
	case format.Snappy:
		var want int
		if want, err = snappy.DecodedLen(src); err == nil && want != size {
			return nil, sizeError(want, size)
		}
		if err == nil {
			var out []byte
			out, err = snappy.Decode(dst, src)
			n = len(out)
		}
	case format.Zstd:
		dec := zstdDecoders.Get().(*zstd.Decoder)
		var out []byte
		// DecodeAll stops with an error at the capacity of its output.
		out, err = dec.DecodeAll(src, dst[:0:min(cap(dst), size+pageSlack)])
		zstdDecoders.Put(dec)
		n = len(out)
	case format.Lz4Raw:
		n, err = lz4.UncompressBlock(src, dst)
	case format.Gzip:
		d.input.Reset(src)
		if d.gzip == nil {
			d.gzip, err = gzip.NewReader(&d.input)
		} else {
			err = d.gzip.Reset(&d.input)
		}
		if err == nil {
			n, err = readExactly(d.gzip, dst)
		}
	case format.Brotli:
		d.input.Reset(src)
		n, err = readExactly(brotli.NewReader(&d.input), dst)
	default:
		return nil, fmt.Errorf("the compression codec %s is not supported", d.codec)
	}
	if err != nil {
		return nil, fmt.Errorf("decompressing the page with %s failed: %w", d.codec, err)
	}
	if n != size {
		return nil, sizeError(n, size)
	}
	return dst, nil
}

// readExactly fills dst from r and checks that r ends there, which for
// gzip also checks the stream's CRC-32 and length.
func readExactly(r io.Reader, dst []byte) (int, error) {
	n, err := io.ReadFull(r, dst)
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return n, nil // fewer bytes: reported by the caller
	}
	if err != nil {
		return n, err
	}
	var extra [1]byte
	for range 100 { // a reader may return no bytes and no error a few times
		k, err := r.Read(extra[:])
		switch {
		case k > 0:
			return n + 1, nil // more bytes: reported by the caller
		case errors.Is(err, io.EOF):
			return n, nil
		case err != nil:
			return n, err
		}
	}
	return n, errors.New("the stream does not end after the page")
}

func sizeError(got, want int) error {
	if got > want {
		return fmt.Errorf("the page decompresses to more than the %d bytes its header gives:"+
			" the file is corrupt", want)
	}
	return fmt.Errorf("the page decompresses to %d bytes but its header gives %d:"+
		" the file is corrupt", got, want)
}
