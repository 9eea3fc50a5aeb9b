package usergen

import (
	"io"
	"sync"
)

// asyncBlockSize and asyncBlocks size the buffer of asyncWriter: 64 blocks
// of 1 MiB hold a row group of the default size (about 50 MB with snappy),
// so the next row group can be encoded while the last one is written.
const (
	asyncBlockSize = 1 << 20
	asyncBlocks    = 64
)

// asyncWriter passes the bytes written to it on to w from another
// goroutine, in blocks and in order, so that writing the file overlaps with
// encoding. Write blocks only when asyncBlocks blocks wait to be written.
// The first error of w is returned by a later Write and by Close.
type asyncWriter struct {
	w         io.Writer
	block     []byte
	full      chan []byte
	free      chan []byte
	allocated int // blocks made so far
	done      chan struct{}
	closed    bool

	mu  sync.Mutex
	err error
}

func newAsyncWriter(w io.Writer) *asyncWriter {
	a := &asyncWriter{
		w:    w,
		full: make(chan []byte, asyncBlocks),
		free: make(chan []byte, asyncBlocks),
		done: make(chan struct{}),
	}
	go a.run()
	return a
}

func (a *asyncWriter) run() {
	defer close(a.done)
	for b := range a.full {
		if a.failed() == nil {
			if _, err := a.w.Write(b); err != nil {
				a.mu.Lock()
				a.err = err
				a.mu.Unlock()
			}
		}
		a.free <- b[:0]
	}
}

func (a *asyncWriter) failed() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// Write copies p into the current block, handing full blocks to the
// writing goroutine.
func (a *asyncWriter) Write(p []byte) (int, error) {
	if err := a.failed(); err != nil {
		return 0, err
	}
	written := 0
	for len(p) > 0 {
		if a.block == nil {
			a.block = a.freeBlock()
		}
		n := copy(a.block[len(a.block):cap(a.block)], p)
		a.block = a.block[:len(a.block)+n]
		p = p[n:]
		written += n
		if len(a.block) == cap(a.block) {
			a.full <- a.block
			a.block = nil
		}
	}
	return written, nil
}

// freeBlock returns an empty block, waiting for one to be written when
// asyncBlocks are in use.
func (a *asyncWriter) freeBlock() []byte {
	select {
	case b := <-a.free:
		return b
	default:
	}
	if a.allocated < asyncBlocks {
		a.allocated++
		return make([]byte, 0, asyncBlockSize)
	}
	return <-a.free
}

// Close writes what is left, waits for the writing goroutine to finish and
// returns the first error of w. It does not close w. Calls after the first
// return the same error.
func (a *asyncWriter) Close() error {
	if a.closed {
		return a.failed()
	}
	a.closed = true
	if len(a.block) > 0 {
		a.full <- a.block
		a.block = nil
	}
	close(a.full)
	<-a.done
	return a.failed()
}
