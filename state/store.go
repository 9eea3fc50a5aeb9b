// Package state keeps what a sync remembers between runs and what one run
// writes for its later steps: the baseline (every user Sprig accepted, as a
// key and a fingerprint), each run's changeset, batch results and run record.
//
// Everything is stored as named objects in a Store. Names are slash-separated
// paths such as "syncs/nightly/baseline". The local implementation keeps each
// object as a file; an object store (S3, GCS) can implement the same
// interface.
package state

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrNotFound is returned (wrapped) when a named object does not exist.
var ErrNotFound = errors.New("object not found")

// Store holds named objects. Objects are written whole: a Writer's content
// becomes visible under its name only when Commit succeeds, so a crash never
// leaves a half-written object behind a name.
type Store interface {
	// Create starts writing the object name. Nothing is visible until the
	// returned writer's Commit; Abort discards it.
	Create(name string) (Writer, error)

	// Open opens the object name for reading. It returns an error wrapping
	// ErrNotFound when the object does not exist.
	Open(name string) (Reader, error)

	// Append opens the object name for appending, creating it if needed,
	// after truncating it to size bytes. Appended data is durable after Sync.
	Append(name string, size int64) (Appender, error)

	// Remove deletes the object name; a missing object is not an error.
	Remove(name string) error

	// List returns the names of the objects below prefix, sorted.
	List(prefix string) ([]string, error)
}

// Writer writes one object. Exactly one of Commit or Abort must be called.
type Writer interface {
	io.Writer
	Commit() error
	Abort() error
}

// Reader reads one object with random access.
type Reader interface {
	io.ReadCloser
	io.ReaderAt
	Size() int64
}

// Appender appends to an object that survives a crash up to the last Sync.
type Appender interface {
	io.Writer
	Sync() error
	Close() error
}

// Local is a Store in a directory of the local file system.
type Local struct {
	root string
}

// NewLocal returns a Store rooted at dir, creating dir if it is missing.
func NewLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, errors.New("state directory is empty: set it to a writable directory")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create state directory %q: %w", dir, err)
	}
	return &Local{root: dir}, nil
}

func (l *Local) path(name string) (string, error) {
	clean := filepath.ToSlash(filepath.Clean("/" + name))
	if name == "" || clean != "/"+name {
		return "", fmt.Errorf("invalid object name %q: use a clean relative path", name)
	}
	return filepath.Join(l.root, filepath.FromSlash(name)), nil
}

// Create implements Store. The object is written to a temporary file in the
// same directory and renamed into place on Commit, after an fsync.
func (l *Local) Create(name string) (Writer, error) {
	p, err := l.path(name)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return nil, fmt.Errorf("create directory for %q: %w", name, err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create %q: %w", name, err)
	}
	return &localWriter{f: f, final: p}, nil
}

type localWriter struct {
	f     *os.File
	final string
	done  bool
}

func (w *localWriter) Write(p []byte) (int, error) { return w.f.Write(p) }

func (w *localWriter) Commit() error {
	if w.done {
		return errors.New("object already committed or aborted")
	}
	w.done = true
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		os.Remove(w.f.Name())
		return fmt.Errorf("sync %q: %w", w.final, err)
	}
	if err := w.f.Close(); err != nil {
		os.Remove(w.f.Name())
		return fmt.Errorf("close %q: %w", w.final, err)
	}
	if err := os.Rename(w.f.Name(), w.final); err != nil {
		os.Remove(w.f.Name())
		return fmt.Errorf("rename into %q: %w", w.final, err)
	}
	return syncDir(filepath.Dir(w.final))
}

func (w *localWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	return os.Remove(w.f.Name())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %q: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %q: %w", dir, err)
	}
	return nil
}

// Open implements Store.
func (l *Local) Open(name string) (Reader, error) {
	p, err := l.path(name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open %q: %w", name, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %q: %w", name, err)
	}
	return &localReader{File: f, size: st.Size()}, nil
}

type localReader struct {
	*os.File
	size int64
}

func (r *localReader) Size() int64 { return r.size }

// Append implements Store.
func (l *Local) Append(name string, size int64) (Appender, error) {
	p, err := l.path(name)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return nil, fmt.Errorf("create directory for %q: %w", name, err)
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open %q for append: %w", name, err)
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return nil, fmt.Errorf("truncate %q to %d bytes: %w", name, size, err)
	}
	if _, err := f.Seek(size, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("seek %q: %w", name, err)
	}
	return f, nil
}

// Remove implements Store.
func (l *Local) Remove(name string) error {
	p, err := l.path(name)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(p); err != nil {
		return fmt.Errorf("remove %q: %w", name, err)
	}
	return nil
}

// List implements Store. Temporary files of uncommitted writers are left out.
func (l *Local) List(prefix string) ([]string, error) {
	p, err := l.path(prefix)
	if err != nil {
		return nil, err
	}
	var names []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		rel, err := filepath.Rel(l.root, path)
		if err != nil {
			return err
		}
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	sort.Strings(names)
	return names, nil
}
