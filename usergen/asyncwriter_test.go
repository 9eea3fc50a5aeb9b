package usergen

import (
	"bytes"
	"errors"
	"testing"
)

// TestAsyncWriterOrder checks that asyncWriter passes on every byte in
// order, for writes smaller than, equal to and larger than a block, and
// more blocks than it buffers.
func TestAsyncWriterOrder(t *testing.T) {
	var want, got bytes.Buffer
	a := newAsyncWriter(&got)
	sizes := []int{1, 100, asyncBlockSize - 101, asyncBlockSize, 3*asyncBlockSize + 7, 5}
	for range asyncBlocks / 3 {
		for i, n := range sizes {
			p := bytes.Repeat([]byte{byte(i + n)}, n)
			want.Write(p)
			if k, err := a.Write(p); k != n || err != nil {
				t.Fatalf("Write(%d bytes) = %d, %v; want %d, nil", n, k, err, n)
			}
		}
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !bytes.Equal(want.Bytes(), got.Bytes()) {
		t.Errorf("passed on %d bytes that differ from the %d written", got.Len(), want.Len())
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
}

type failingWriter struct{ err error }

func (f failingWriter) Write(p []byte) (int, error) { return 0, f.err }

// TestAsyncWriterError checks that an error of the underlying writer comes
// back from a later Write and from Close.
func TestAsyncWriterError(t *testing.T) {
	diskFull := errors.New("no space left on device")
	a := newAsyncWriter(failingWriter{diskFull})
	block := make([]byte, asyncBlockSize)
	var writeErr error
	for range 2 * asyncBlocks {
		if _, writeErr = a.Write(block); writeErr != nil {
			break
		}
	}
	if !errors.Is(writeErr, diskFull) {
		t.Errorf("Write after the writer failed = %v, want %v", writeErr, diskFull)
	}
	if err := a.Close(); !errors.Is(err, diskFull) {
		t.Errorf("Close = %v, want %v", err, diskFull)
	}
}
