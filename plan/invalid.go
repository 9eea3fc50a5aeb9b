package plan

import (
	"bufio"
	"encoding/json"
	"fmt"

	"github.com/sprigsync/sprigsync/mapping"
	"github.com/sprigsync/sprigsync/state"
)

// invalidLog writes every invalid row of a run as one JSON object a line
// and keeps the first SampleSize for the run's result.
type invalidLog struct {
	w      state.Writer
	buf    *bufio.Writer
	enc    *json.Encoder
	sample []mapping.InvalidRow
}

func newInvalidLog(store state.Store, name string) (*invalidLog, error) {
	w, err := store.Create(name)
	if err != nil {
		return nil, err
	}
	buf := bufio.NewWriter(w)
	return &invalidLog{w: w, buf: buf, enc: json.NewEncoder(buf)}, nil
}

func (l *invalidLog) add(r mapping.InvalidRow) error {
	if len(l.sample) < SampleSize {
		l.sample = append(l.sample, r)
	}
	if err := l.enc.Encode(r); err != nil {
		return fmt.Errorf("write invalid rows: %w", err)
	}
	return nil
}

func (l *invalidLog) commit() error {
	if err := l.buf.Flush(); err != nil {
		return fmt.Errorf("write invalid rows: %w", err)
	}
	err := l.w.Commit()
	l.w = nil
	return err
}

func (l *invalidLog) abort() {
	if l.w != nil {
		l.w.Abort()
	}
}
