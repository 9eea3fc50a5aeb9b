package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Files returns the Parquet files of the snapshot at location, sorted in
// lexical order of their paths, so that every scan reads rows in the same
// order.
//
// location is one of:
//   - a file, returned as it is whatever its name;
//   - a directory, whose entries ending in ".parquet" are returned, skipping
//     subdirectories, hidden files (names starting with "." or "_", such as
//     Spark's _SUCCESS marker) and files with other extensions;
//   - a glob pattern in the syntax of [filepath.Match], whose matches are
//     filtered like directory entries.
//
// An empty result is not an error here: the caller decides. Errors wrap
// [ErrNotFound] when location does not exist.
func Files(location string) ([]string, error) {
	if location == "" {
		return nil, fmt.Errorf("snapshot location is empty: %w", ErrNotFound)
	}

	info, err := os.Stat(location)
	switch {
	case err == nil && !info.IsDir():
		return []string{location}, nil
	case err == nil:
		return dirFiles(location)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("reading snapshot location %q: %w", location, err)
	}

	if !hasGlobMeta(location) {
		return nil, fmt.Errorf("snapshot location %q: %w", location, ErrNotFound)
	}
	matches, err := filepath.Glob(location)
	if err != nil {
		return nil, fmt.Errorf("snapshot location %q is not a valid glob pattern: %w", location, err)
	}
	var files []string
	for _, m := range matches {
		if !isPartFile(filepath.Base(m)) {
			continue
		}
		if st, err := os.Stat(m); err != nil || st.IsDir() {
			continue
		}
		files = append(files, m)
	}
	sort.Strings(files)
	return files, nil
}

func dirFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing snapshot directory %q: %w", dir, err)
	}
	var files []string
	for _, e := range entries {
		if e.IsDir() || !isPartFile(e.Name()) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		// Follow symbolic links, and skip those that point to directories.
		if st, err := os.Stat(path); err != nil || st.IsDir() {
			continue
		}
		files = append(files, path)
	}
	sort.Strings(files)
	return files, nil
}

// isPartFile reports whether a directory entry or glob match named name is a
// Parquet part file rather than a marker, checksum or hidden file.
func isPartFile(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
		return false
	}
	return strings.HasSuffix(name, ".parquet")
}

func hasGlobMeta(path string) bool {
	return strings.ContainsAny(path, `*?[`)
}
