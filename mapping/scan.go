package mapping

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sprigsync/sprigsync/snapshot"
)

// Scan reads the snapshot at location and calls h for every row, in a stable
// order: files in lexical order of their paths, rows in file order.
//
// location is one Parquet file, a directory of part files, or a glob pattern
// (see [snapshot.Files]). In a directory or a glob's matches, only names
// ending in ".parquet" are read. Hidden files, names starting with "_" such
// as _SUCCESS, subdirectories and other files are skipped.
//
// Before calling h at all, Scan reads the footer of every file and checks cfg
// against each schema: a missing or unsupported column, or files that give a
// mapped column different types, fail with an error wrapping
// ErrInvalidConfig that names the file, the column and the fix. A file that
// cannot be read fails with an error wrapping ErrInvalidSnapshot that names
// the file and the problem; such an error can also come after h has received
// rows of earlier files or row groups, and the caller must then discard what
// it received. Both kinds are permanent: retrying gives the same result.
//
// Rows without a usable user id, with an invalid email address, with an
// invalid value (such as invalid UTF-8 in a string column) or with more than
// MaxAttributes non-null attributes go to h.Invalid; all others go to h.User
// with the exact request body (see docs/type-mapping.md). An error returned by
// h, or the cancellation of ctx, stops the scan and is returned wrapped.
// Stats count what was read until then.
func Scan(ctx context.Context, location string, cfg Config, h Handler) (Stats, error) {
	var st Stats
	if err := checkConfig(cfg); err != nil {
		return st, err
	}
	files, err := snapshot.Files(location)
	if err != nil {
		return st, fmt.Errorf("%w: %w", ErrInvalidSnapshot, err)
	}
	if len(files) == 0 {
		return st, fmt.Errorf("%w: no Parquet files found at %q: the location must be a .parquet"+
			" file, a directory holding .parquet files, or a glob matching them",
			ErrInvalidSnapshot, location)
	}

	plans, err := planFiles(ctx, files, cfg)
	if err != nil {
		return st, err
	}
	for _, p := range plans {
		if err := scanFile(ctx, p, cfg, h, &st); err != nil {
			return st, err
		}
		st.Files++
	}
	return st, nil
}

// planFiles reads the footer of every file and resolves cfg against it.
func planFiles(ctx context.Context, files []string, cfg Config) ([]*filePlan, error) {
	plans := make([]*filePlan, 0, len(files))
	for _, path := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f, err := snapshot.Open(path)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidSnapshot, err)
		}
		p, err := planFile(f, cfg)
		f.Close()
		if err != nil {
			return nil, err
		}
		if len(plans) > 0 {
			if err := checkSameTypes(plans[0], p); err != nil {
				return nil, err
			}
		}
		plans = append(plans, p)
	}
	return plans, nil
}

// scanFile reads one file and sends its rows to h. planned is the plan made
// when all footers were checked; the file is planned again in case it
// changed since.
func scanFile(ctx context.Context, planned *filePlan, cfg Config, h Handler, st *Stats) error {
	f, err := snapshot.Open(planned.path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSnapshot, err)
	}
	defer f.Close()
	p, err := planFile(f, cfg)
	if err == nil {
		err = checkSameTypes(planned, p)
	}
	if err == nil && p.rows != planned.rows {
		err = fmt.Errorf("%w: file %q now has %d rows instead of %d", ErrInvalidSnapshot,
			p.path, p.rows, planned.rows)
	}
	if err != nil {
		return fmt.Errorf("file %q changed while the snapshot was read; snapshot files must not"+
			" change during a run: %w", planned.path, err)
	}

	columns := []int{p.id.index}
	if p.email != nil {
		columns = append(columns, p.email.index)
	}
	for _, a := range p.attrs {
		columns = append(columns, a.index)
	}
	r, err := f.NewReader(columns, 0)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSnapshot, err)
	}
	defer r.Close()

	e := newEncoder(p, h)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidSnapshot, err)
		}
		if err := e.batch(b, st); err != nil {
			return fmt.Errorf("handler failed on %q: %w", p.path, err)
		}
	}
}
