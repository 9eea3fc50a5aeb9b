package state

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Result is Sprig's decision on one user of a changeset.
type Result uint8

// Results of an upsert.
const (
	// Accepted means Sprig returned 2xx, so the baseline may advance.
	Accepted Result = 1
	// Rejected means Sprig returned 400 or 422 (or the planner refused to
	// send the user): the baseline keeps its old entry, so the next run
	// sends the user again.
	Rejected Result = 2
)

// Outcome is the settled result of one change.
type Outcome struct {
	Index       int // the change's index in the changeset
	Result      Result
	Key         Key
	Fingerprint Fingerprint
	Status      int    // HTTP status of a rejection; 0 when accepted
	UserID      string // set for rejections
	Reason      string // Sprig's error text for rejections
}

// OutcomeLog appends outcomes to a store object. After Sync returns size S,
// every outcome appended before it survives a crash, and reopening the log
// with NewOutcomeLog(store, name, S) continues after them.
type OutcomeLog struct {
	a    Appender
	buf  *bufio.Writer
	size int64
	rec  []byte
}

// NewOutcomeLog opens the outcome log name, keeping its first size bytes.
func NewOutcomeLog(store Store, name string, size int64) (*OutcomeLog, error) {
	a, err := store.Append(name, size)
	if err != nil {
		return nil, err
	}
	return &OutcomeLog{a: a, buf: bufio.NewWriterSize(a, 64<<10), size: size}, nil
}

// Add appends one outcome.
func (l *OutcomeLog) Add(o Outcome) error {
	b := l.rec[:0]
	b = binary.AppendUvarint(b, uint64(o.Index))
	b = append(b, byte(o.Result))
	b = binary.LittleEndian.AppendUint64(b, o.Key.Hi)
	b = binary.LittleEndian.AppendUint64(b, o.Key.Lo)
	b = binary.LittleEndian.AppendUint64(b, uint64(o.Fingerprint))
	if o.Result == Rejected {
		b = binary.AppendUvarint(b, uint64(o.Status))
		b = binary.AppendUvarint(b, uint64(len(o.UserID)))
		b = append(b, o.UserID...)
		b = binary.AppendUvarint(b, uint64(len(o.Reason)))
		b = append(b, o.Reason...)
	}
	l.rec = b
	l.size += int64(len(b))
	_, err := l.buf.Write(b)
	return err
}

// Sync makes every added outcome durable and returns the log's size.
func (l *OutcomeLog) Sync() (int64, error) {
	if err := l.buf.Flush(); err != nil {
		return 0, fmt.Errorf("write outcomes: %w", err)
	}
	if err := l.a.Sync(); err != nil {
		return 0, fmt.Errorf("sync outcomes: %w", err)
	}
	return l.size, nil
}

// Close syncs and closes the log.
func (l *OutcomeLog) Close() error {
	_, err := l.Sync()
	return errors.Join(err, l.a.Close())
}

// ReadOutcomes calls fn for every outcome in the first size bytes of the
// log name (all of it when size is negative), in the order they were added.
// It returns the size of the complete records it read: a record cut short
// at the end, as a crash during a write leaves it, is ignored, and appending
// after that size continues the log. A missing log has no outcomes.
func ReadOutcomes(store Store, name string, size int64, fn func(o *Outcome) error) (int64, error) {
	r, err := store.Open(name)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer r.Close()
	if size < 0 || size > r.Size() {
		size = r.Size()
	}
	cr := &countingReader{r: bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 64<<10)}
	var complete int64
	var head [25]byte
	for {
		o, err := readOutcome(cr, head[:])
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return complete, nil
			}
			return complete, fmt.Errorf("read outcomes %q: %w", name, err)
		}
		complete = cr.n
		if err := fn(&o); err != nil {
			return complete, err
		}
	}
}

func readOutcome(r *countingReader, head []byte) (Outcome, error) {
	idx, err := binary.ReadUvarint(r)
	if err != nil {
		return Outcome{}, err
	}
	if _, err := io.ReadFull(r, head); err != nil {
		return Outcome{}, err
	}
	e := getEntry(head[1:])
	o := Outcome{Index: int(idx), Result: Result(head[0]), Key: e.Key, Fingerprint: e.Fingerprint}
	switch o.Result {
	case Accepted:
		return o, nil
	case Rejected:
	default:
		return o, fmt.Errorf("the log is damaged: unknown result %d", o.Result)
	}
	status, err := binary.ReadUvarint(r)
	if err != nil {
		return o, err
	}
	o.Status = int(status)
	id, err := readBytes(r, nil)
	if err != nil {
		return o, err
	}
	reason, err := readBytes(r, nil)
	if err != nil {
		return o, err
	}
	o.UserID, o.Reason = string(id), string(reason)
	return o, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}
