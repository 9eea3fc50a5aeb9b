// Package usergen generates a deterministic user table as a Parquet file,
// with the columns of the project's user-table test files, and a second
// snapshot of it with a known set of changed, added and removed users.
//
// Every value of a row is derived from the seed and the row number alone,
// through the splitmix64 hash, so any row can be computed without the rows
// before it. The same Options give the same bytes, as long as this package
// and the compression libraries are at the same versions. All values
// are valid: ids are unique and increase from [FirstUserID], every email
// address is a valid, unique address at a reserved domain (RFC 2606), and
// plan is never null. Nulls appear in seats, mrr, score, is_admin and
// utm.source only.
//
// Files are written with github.com/xitongsys/parquet-go v1.6.2, PLAIN
// encoded without dictionaries. That version writes a null count one too
// low for a page that starts with a null, and no null counts in the column
// index. This package corrects both before the pages are written.
package usergen

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/parquet-go/parquet-go"
)

// DefaultRowGroupRows is the row-group size used when Options.RowGroupRows
// is 0. The writer keeps the compressed pages of one row group in memory:
// about 50 MB at this size with snappy, 125 MB with no compression. Writing
// 4 million rows with snappy, gen-users peaked at about 240 MB of resident
// memory with this size and 70 MB with 100,000 (measured on 2 cores).
const DefaultRowGroupRows = 1_000_000

// MetadataKey is the key of the Parquet footer's key-value metadata entry
// that records how a file was generated, as JSON (see [Metadata]).
const MetadataKey = "sprigsync.usergen"

// Options selects a table and sets how it is written. The zero value of
// each field other than Rows means its documented default.
type Options struct {
	// Rows is the number of users (rows). It must not be negative.
	Rows int

	// Seed selects the table: the same seed and row number always give the
	// same values.
	Seed uint64

	// RowGroupRows is the number of rows per row group; the last row group
	// holds the rest. Default DefaultRowGroupRows. The writer keeps one row
	// group in memory, so this bounds memory use.
	RowGroupRows int

	// Compression is the codec of every page: "snappy" (default), "zstd",
	// "gzip" or "none".
	Compression string
}

// Metadata is the JSON stored under MetadataKey in every generated file.
type Metadata struct {
	Rows int    `json:"rows"` // Options.Rows of the base table
	Seed uint64 `json:"seed"` // Options.Seed of the base table

	// Next is the Changes applied to the base table, or nil in a base table.
	Next *Changes `json:"next,omitempty"`
}

// withDefaults checks opts and fills in the defaults.
func (opts Options) withDefaults() (Options, error) {
	if opts.Rows < 0 {
		return opts, fmt.Errorf("invalid Rows %d: the row count must be 0 or more", opts.Rows)
	}
	if opts.RowGroupRows < 0 {
		return opts, fmt.Errorf("invalid RowGroupRows %d: use a positive row count, or 0 for"+
			" the default of %d", opts.RowGroupRows, DefaultRowGroupRows)
	}
	if opts.RowGroupRows == 0 {
		opts.RowGroupRows = DefaultRowGroupRows
	}
	if _, err := compressionCodec(opts.Compression); err != nil {
		return opts, err
	}
	return opts, nil
}

// Write writes the table that opts selects to w as one Parquet file. It
// does not close w. On error, w may hold part of a file.
func Write(w io.Writer, opts Options) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	meta, err := metadataJSON(Metadata{Rows: opts.Rows, Seed: opts.Seed})
	if err != nil {
		return err
	}
	rows := func(yield func(int64) bool) {
		for i := range int64(opts.Rows) {
			if !yield(i) {
				return
			}
		}
	}
	userAt := func(row int64) user { return newUser(opts.Seed, row) }
	return writeTable(w, opts, meta, opts.Rows, rows, userAt)
}

// WriteFile writes the table that opts selects to the file at path,
// replacing it atomically: the data goes to a temporary file in the same
// directory, which is renamed to path only when it is complete and synced.
func WriteFile(path string, opts Options) error {
	return writeFileAtomic(path, func(w io.Writer) error { return Write(w, opts) })
}

// writeFileAtomic writes a file with write, through a temporary file in the
// same directory that is renamed to path when write succeeds. The temporary
// name starts with a dot, so readers that skip hidden files, such as
// mapping.Scan on a directory, never read a partial file.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("creating a temporary file for %q failed (does the directory exist"+
			" and is it writable?): %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()

	if err := write(f); err != nil {
		return fmt.Errorf("writing %q failed: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("setting the mode of %q failed: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %q failed: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing %q failed: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("renaming %q to %q failed: %w", f.Name(), path, err)
	}
	return nil
}

func metadataJSON(m Metadata) (map[string]string, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding the file metadata failed: %w", err)
	}
	return map[string]string{MetadataKey: string(b)}, nil
}

// ReadMetadata returns the generation Metadata stored in the footer of the
// Parquet file at path, as written by Write or WriteNext.
func ReadMetadata(path string) (Metadata, error) {
	var m Metadata
	f, err := os.Open(path)
	if err != nil {
		return m, fmt.Errorf("opening %q failed: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return m, fmt.Errorf("reading the size of %q failed: %w", path, err)
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true))
	if err != nil {
		return m, fmt.Errorf("%q is not a readable Parquet file: %w", path, err)
	}
	value, ok := pf.Lookup(MetadataKey)
	if !ok {
		return m, fmt.Errorf("%q has no %q footer metadata, so it was not written by this"+
			" package: pass a file made by Write or WriteFile", path, MetadataKey)
	}
	if err := json.Unmarshal([]byte(value), &m); err != nil {
		return m, fmt.Errorf("the %q footer metadata of %q is invalid (%q): %w", MetadataKey, path,
			value, err)
	}
	if m.Next == nil && pf.NumRows() != int64(m.Rows) {
		return m, fmt.Errorf("%q has %d rows but its metadata records %d; the file was changed after"+
			" it was written: generate it again", path, pf.NumRows(), m.Rows)
	}
	return m, nil
}

// CachedFile returns the path of the table that opts selects in dir,
// writing it first when it is missing. The file name records every option,
// so a cached file always matches the options it is asked for. Benchmarks
// use it to generate large inputs once.
func CachedFile(dir string, opts Options) (string, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create the cache directory %q: %w", dir, err)
	}
	if opts.Compression == "" {
		opts.Compression = "snappy"
	}
	name := fmt.Sprintf("users-%d-seed%d-%s-rg%d.parquet", opts.Rows, opts.Seed,
		opts.Compression, opts.RowGroupRows)
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	return path, WriteFile(path, opts)
}
