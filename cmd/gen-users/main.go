// Command gen-users writes a deterministic user table as a Parquet file, or
// a second snapshot of such a table with a known set of changed, added and
// removed users (see package usergen).
//
//	gen-users -rows 500 -seed 1 -out users-1.parquet
//	gen-users -next-of users-1.parquet -changed 0.02 -added 0.006 -removed 0.004 \
//	    -out users-2.parquet
//
// The second form reads the row count and seed of the base table from the
// footer of the -next-of file, and prints the counts of changed, added and
// removed users (with -ids, also their user ids).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sprigsync/sprigsync/usergen"
)

func main() {
	err := run(os.Args[1:], os.Stdout)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage): // the flag package has printed the problem and the usage
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "gen-users:", err)
		os.Exit(1)
	}
}

// errUsage marks invalid command-line flags.
var errUsage = errors.New("invalid flags")

const usage = `Usage:
  gen-users -rows N [-seed S] -out FILE [flags]
  gen-users -next-of FILE [-changed SHARE] [-added SHARE] [-removed SHARE] -out FILE [flags]

Flags:
`

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gen-users", flag.ContinueOnError)
	var opts usergen.Options
	var ch usergen.Changes
	fs.IntVar(&opts.Rows, "rows", 0, "number of users (rows) in the table; required without -next-of")
	fs.Uint64Var(&opts.Seed, "seed", 1, "seed of the table: equal seeds give equal values")
	out := fs.String("out", "", "path of the Parquet file to write (required); an existing file"+
		" is replaced")
	fs.StringVar(&opts.Compression, "compression", "snappy", "page codec: snappy, zstd, gzip or none")
	fs.IntVar(&opts.RowGroupRows, "row-group-rows", usergen.DefaultRowGroupRows,
		"rows per row group; the writer keeps one row group in memory, so this bounds memory use")
	nextOf := fs.String("next-of", "", "write a second snapshot of the table in this file,"+
		" which gen-users wrote; its row count and seed are read from it")
	fs.Float64Var(&ch.ChangedShare, "changed", 0.01,
		"with -next-of: share of users (0 to 1) that get a new value in one column")
	fs.Float64Var(&ch.AddedShare, "added", 0.001,
		"with -next-of: users appended, as a share of the base row count")
	fs.Float64Var(&ch.RemovedShare, "removed", 0.001,
		"with -next-of: share of users (0 to 1) left out")
	fs.Uint64Var(&ch.Seed, "change-seed", 1, "with -next-of: seed that picks the users and new values")
	printIDs := fs.Bool("ids", false, "with -next-of: also print the user ids of every change")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: all settings are flags (see -help)", fs.Arg(0))
	}
	if *out == "" {
		return errors.New("missing -out: give the path of the Parquet file to write")
	}
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	start := time.Now()
	if *nextOf == "" {
		for _, name := range []string{"changed", "added", "removed", "change-seed", "ids"} {
			if set[name] {
				return fmt.Errorf("-%s applies only with -next-of: remove it, or add -next-of", name)
			}
		}
		if !set["rows"] {
			return errors.New("missing -rows: give the number of users to generate")
		}
		if err := usergen.WriteFile(*out, opts); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s: %d rows in %s\n", *out, opts.Rows, elapsed(start, opts.Rows))
		return nil
	}

	for _, name := range []string{"rows", "seed"} {
		if set[name] {
			return fmt.Errorf("-%s cannot be used with -next-of, which reads it from %s: remove it",
				name, *nextOf)
		}
	}
	meta, err := usergen.ReadMetadata(*nextOf)
	if err != nil {
		return err
	}
	if meta.Next != nil {
		return fmt.Errorf("%s is itself a second snapshot; pass the base table it was made from"+
			" (rows %d, seed %d) to -next-of", *nextOf, meta.Rows, meta.Seed)
	}
	opts.Rows, opts.Seed = meta.Rows, meta.Seed
	s, err := usergen.WriteNextFile(*out, opts, ch)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d rows in %s; changed %d, added %d, removed %d\n",
		*out, s.Rows, elapsed(start, s.Rows), len(s.Changed), len(s.Added), len(s.Removed))
	if *printIDs {
		printSummaryIDs(stdout, s)
	}
	return nil
}

// elapsed returns the time since start and the rate in rows per second.
func elapsed(start time.Time, rows int) string {
	d := time.Since(start)
	return fmt.Sprintf("%s (%.0f rows/s)", d.Round(time.Millisecond), float64(rows)/d.Seconds())
}

func printSummaryIDs(w io.Writer, s usergen.Summary) {
	changed := make([]string, len(s.Changed))
	for i, id := range s.Changed {
		changed[i] = fmt.Sprintf("%d (%s)", id, s.ChangedColumn[id])
	}
	fmt.Fprintln(w, "changed:", strings.Join(changed, ", "))
	fmt.Fprintln(w, "added:", joinIDs(s.Added))
	fmt.Fprintln(w, "removed:", joinIDs(s.Removed))
}

func joinIDs(ids []int64) string {
	texts := make([]string, len(ids))
	for i, id := range ids {
		texts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(texts, ", ")
}
