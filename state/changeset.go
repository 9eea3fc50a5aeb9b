package state

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// Change is one user of a changeset: the request to send and what the
// baseline records once Sprig accepts it.
type Change struct {
	Key         Key
	Fingerprint Fingerprint
	UserID      string
	Body        []byte
}

// ChangesetWriter writes a changeset: the records, then an index of their
// offsets so that a batch reads only its own range.
type ChangesetWriter struct {
	data    Writer
	index   Writer
	buf     *bufio.Writer
	offsets []uint64
	offset  uint64
	scratch []byte
}

// NewChangesetWriter starts the changeset named name in store.
func NewChangesetWriter(store Store, name string) (*ChangesetWriter, error) {
	data, err := store.Create(name)
	if err != nil {
		return nil, err
	}
	index, err := store.Create(name + ".index")
	if err != nil {
		data.Abort()
		return nil, err
	}
	return &ChangesetWriter{data: data, index: index, buf: bufio.NewWriterSize(data, 1<<20)}, nil
}

// Add appends one change. Body is copied.
func (w *ChangesetWriter) Add(c Change) error {
	b := w.scratch[:0]
	b = binary.LittleEndian.AppendUint64(b, c.Key.Hi)
	b = binary.LittleEndian.AppendUint64(b, c.Key.Lo)
	b = binary.LittleEndian.AppendUint64(b, uint64(c.Fingerprint))
	b = binary.AppendUvarint(b, uint64(len(c.UserID)))
	b = append(b, c.UserID...)
	b = binary.AppendUvarint(b, uint64(len(c.Body)))
	b = append(b, c.Body...)
	w.scratch = b
	w.offsets = append(w.offsets, w.offset)
	w.offset += uint64(len(b))
	_, err := w.buf.Write(b)
	return err
}

// Len returns the number of changes added so far.
func (w *ChangesetWriter) Len() int { return len(w.offsets) }

// Commit makes the changeset visible.
func (w *ChangesetWriter) Commit() error {
	if err := w.buf.Flush(); err != nil {
		w.Abort()
		return fmt.Errorf("write changeset: %w", err)
	}
	ib := bufio.NewWriterSize(w.index, 1<<20)
	var b [8]byte
	for _, off := range append(w.offsets, w.offset) {
		binary.LittleEndian.PutUint64(b[:], off)
		ib.Write(b[:])
	}
	if err := ib.Flush(); err != nil {
		w.Abort()
		return fmt.Errorf("write changeset index: %w", err)
	}
	if err := w.data.Commit(); err != nil {
		w.index.Abort()
		return err
	}
	return w.index.Commit()
}

// Abort discards the changeset.
func (w *ChangesetWriter) Abort() {
	w.data.Abort()
	w.index.Abort()
}

// ReadChanges calls fn for the changes with indexes in [start, end) of the
// changeset named name, in order. The Change passed to fn is reused.
func ReadChanges(store Store, name string, start, end int, fn func(i int, c *Change) error) error {
	if start >= end {
		return nil
	}
	index, err := store.Open(name + ".index")
	if err != nil {
		return err
	}
	defer index.Close()
	count := int(index.Size()/8) - 1
	if start < 0 || end > count {
		return fmt.Errorf("changeset %q has %d changes, range [%d, %d) is outside it",
			name, count, start, end)
	}
	var b [16]byte
	if _, err := index.ReadAt(b[:8], int64(start)*8); err != nil {
		return fmt.Errorf("read changeset index: %w", err)
	}
	if _, err := index.ReadAt(b[8:], int64(end)*8); err != nil {
		return fmt.Errorf("read changeset index: %w", err)
	}
	from := int64(binary.LittleEndian.Uint64(b[:8]))
	to := int64(binary.LittleEndian.Uint64(b[8:]))

	data, err := store.Open(name)
	if err != nil {
		return err
	}
	defer data.Close()
	r := bufio.NewReaderSize(io.NewSectionReader(data, from, to-from), 1<<16)
	var c Change
	var head [24]byte
	for i := start; i < end; i++ {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return fmt.Errorf("read change %d of %q: %w", i, name, err)
		}
		e := getEntry(head[:])
		c.Key, c.Fingerprint = e.Key, e.Fingerprint
		id, err := readBytes(r, c.Body[:0])
		if err != nil {
			return fmt.Errorf("read change %d of %q: %w", i, name, err)
		}
		c.UserID = string(id)
		c.Body, err = readBytes(r, id[:0])
		if err != nil {
			return fmt.Errorf("read change %d of %q: %w", i, name, err)
		}
		if err := fn(i, &c); err != nil {
			return err
		}
	}
	return nil
}

// byteReader is the reader type of readBytes.
type byteReader interface {
	io.Reader
	io.ByteReader
}

func readBytes(r byteReader, buf []byte) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > 1<<26 {
		return nil, fmt.Errorf("record length %d is implausible: the changeset is damaged", n)
	}
	buf = resize(buf, int(n))
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

func resize(buf []byte, n int) []byte {
	if cap(buf) < n {
		return make([]byte, n)
	}
	return buf[:n]
}
