// Package snapshot reads the Parquet files of a user-table snapshot. It
// checks each file's footer when the file is opened, and reads the selected
// top-level columns in batches of rows into typed, reused buffers (see
// [Reader]), checking every row count against the footer.
//
// The package reads the footer with github.com/parquet-go/parquet-go, and
// the pages itself. It decodes page headers with parquet-go's Thrift
// decoder and decompresses with the codec libraries parquet-go uses. It
// decodes levels, plain and dictionary-encoded values and RLE booleans on
// its own, and leaves the DELTA encodings and BYTE_STREAM_SPLIT to
// parquet-go. It adds the checks, the type classification and the
// conversion to typed buffers.
package snapshot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// ErrNotFound marks a snapshot location that does not exist.
var ErrNotFound = errors.New("snapshot not found")

// ErrUnreadable marks a file that cannot be read: not Parquet, truncated,
// corrupt, encrypted, or using a feature this package does not decode.
var ErrUnreadable = errors.New("Parquet file cannot be read")

// FileError is the error for a file that cannot be read. It unwraps to
// [ErrUnreadable] and to the underlying error, if any.
type FileError struct {
	Path   string // the file
	Column string // the column, when the problem is in one column
	Reason string // what is wrong and what to do, in plain words
	Err    error  // the underlying error, or nil
}

func (e *FileError) Error() string {
	msg := fmt.Sprintf("Parquet file %q cannot be read", e.Path)
	if e.Column != "" {
		msg += fmt.Sprintf(": column %q", e.Column)
	}
	msg += ": " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns ErrUnreadable and the underlying error.
func (e *FileError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrUnreadable}
	}
	return []error{ErrUnreadable, e.Err}
}

// File is an open Parquet file whose footer has been read and checked.
type File struct {
	Path      string
	NumRows   int64    // row count in the footer, equal to the sum over row groups
	RowGroups int      // number of row groups
	CreatedBy string   // the writer named in the footer, for messages
	Columns   []Column // top-level fields in schema order

	osFile *os.File
	pf     *parquet.File
}

// Open opens the Parquet file at path and checks its footer: magic bytes,
// encryption, schema, row counts, and that every column chunk lies inside
// the file. Errors are [*FileError] values naming the file and the problem.
// The caller must Close the file.
func Open(path string) (*File, error) {
	// Opening a named pipe blocks until something writes to it, so only a
	// regular file or a directory (rejected below) is opened.
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() && !st.IsDir() {
		return nil, &FileError{Path: path, Reason: fmt.Sprintf("it is %s, not a regular file;"+
			" the snapshot must be Parquet files", fileKind(st.Mode()))}
	}
	osFile, err := os.Open(path)
	if err != nil {
		return nil, &FileError{Path: path, Reason: "opening failed", Err: err}
	}
	f, err := open(path, osFile)
	if err != nil {
		osFile.Close()
		return nil, err
	}
	return f, nil
}

// fileKind names the kind of a file that is not regular, for messages.
func fileKind(mode os.FileMode) string {
	switch {
	case mode&os.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case mode&os.ModeSocket != 0:
		return "a socket"
	case mode&os.ModeDevice != 0:
		return "a device"
	}
	return "a special file (" + mode.Type().String() + ")"
}

func open(path string, osFile *os.File) (f *File, err error) {
	fail := func(reason string, cause error) (*File, error) {
		return nil, &FileError{Path: path, Reason: reason, Err: cause}
	}

	st, err := osFile.Stat()
	if err != nil {
		return fail("reading the file size failed", err)
	}
	size := st.Size()
	if st.IsDir() {
		return fail("it is a directory, not a file", nil)
	}
	if size == 0 {
		return fail("the file is empty (0 bytes), for example after an interrupted upload;"+
			" export the snapshot again", nil)
	}
	if size < 12 {
		return fail(fmt.Sprintf("the file has %d bytes, too few for a Parquet file;"+
			" export the snapshot again", size), nil)
	}

	var head, tail [4]byte
	if _, err := osFile.ReadAt(head[:], 0); err != nil {
		return fail("reading the first bytes failed", err)
	}
	if _, err := osFile.ReadAt(tail[:], size-4); err != nil {
		return fail("reading the last bytes failed", err)
	}
	switch {
	case string(head[:]) == "PARE" || string(tail[:]) == "PARE":
		return fail("the file uses Parquet modular encryption (magic bytes \"PARE\");"+
			" encrypted files are not supported, export the snapshot without encryption", nil)
	case string(head[:]) != "PAR1":
		return fail(fmt.Sprintf("not a Parquet file: it starts with %q instead of the magic"+
			" bytes \"PAR1\"; make sure the snapshot location holds only Parquet files", head[:]), nil)
	case string(tail[:]) != "PAR1":
		return fail("the file does not end with the magic bytes \"PAR1\", so it is truncated"+
			" or still being written; export the snapshot again", nil)
	}

	var footerLen [4]byte
	if _, err := osFile.ReadAt(footerLen[:], size-8); err != nil {
		return fail("reading the footer's length failed", err)
	}
	n := int64(binary.LittleEndian.Uint32(footerLen[:]))
	if n > size-12 {
		return fail(fmt.Sprintf("the footer's length is %d bytes, more than the file's %d:"+
			" the file is corrupt or truncated; export the snapshot again", n, size), nil)
	}
	footer := make([]byte, n)
	if _, err := osFile.ReadAt(footer, size-8-n); err != nil {
		return fail("reading the footer failed", err)
	}
	if err := checkFooter(footer); err != nil {
		return fail("the footer is corrupt", err)
	}

	defer func() {
		if r := recover(); r != nil {
			f, err = fail("the footer is corrupt", fmt.Errorf("parquet-go panicked: %v", r))
		}
	}()
	pf, err := parquet.OpenFile(osFile, size,
		parquet.SkipPageIndex(true),
		parquet.SkipBloomFilters(true),
	)
	if err != nil {
		return fail("the footer is corrupt or cannot be decoded", err)
	}

	md := pf.Metadata()
	if md.EncryptionAlgorithm.Value != nil {
		return fail("the file uses Parquet modular encryption with a plaintext footer;"+
			" encrypted files are not supported, export the snapshot without encryption", nil)
	}

	f = &File{
		Path:      path,
		NumRows:   md.NumRows,
		RowGroups: len(md.RowGroups),
		CreatedBy: md.CreatedBy,
		osFile:    osFile,
		pf:        pf,
	}
	numLeaves, err := f.readSchema(md.Schema)
	if err != nil {
		return fail("the schema in the footer is corrupt", err)
	}
	if err := f.checkRowGroups(md, numLeaves, size); err != nil {
		return nil, err
	}
	return f, nil
}

// readSchema fills f.Columns from the flattened schema tree and returns the
// number of leaf columns.
func (f *File) readSchema(schema []format.SchemaElement) (int, error) {
	if len(schema) == 0 {
		return 0, errors.New("the schema has no root element")
	}
	leaf := 0
	i := 1
	for child := 0; child < int(schema[0].NumChildren.V); child++ {
		if i >= len(schema) {
			return 0, errors.New("the schema lists fewer fields than the root declares")
		}
		se := &schema[i]
		c := Column{Name: se.Name, leaf: -1}
		c.Optional = se.RepetitionType.Valid && se.RepetitionType.V == format.Optional
		isGroup := se.NumChildren.V > 0 || !se.Type.Valid

		switch {
		case isGroup:
			c.Kind, c.Storage = KindUnsupported, StorageNone
			c.Type = "group"
			if a := annotationName(se); a != "" {
				c.Type += " " + a
			}
			c.Unsupported = "nested columns (" + c.Type + ") are not supported;" +
				" Sprig attributes are strings, numbers or booleans"
			next, leaves, err := skipSubtree(schema, i)
			if err != nil {
				return 0, err
			}
			i, leaf = next, leaf+leaves
		default:
			if se.Type.V < format.Boolean || se.Type.V > format.FixedLenByteArray {
				return 0, fmt.Errorf("field %q has the invalid physical type %d", se.Name, se.Type.V)
			}
			classify(&c, se)
			if se.RepetitionType.Valid && se.RepetitionType.V == format.Repeated {
				c.Kind, c.Storage = KindUnsupported, StorageNone
				c.Unsupported = "repeated fields (lists) are not supported;" +
					" Sprig attributes are strings, numbers or booleans"
			}
			c.leaf = leaf
			leaf++
			i++
		}
		f.Columns = append(f.Columns, c)
	}
	if i != len(schema) {
		return 0, fmt.Errorf("the schema has %d elements but the root's fields use %d", len(schema), i)
	}
	return leaf, nil
}

// skipSubtree returns the index of the element after the group at schema[i]
// and the number of leaves in the group.
func skipSubtree(schema []format.SchemaElement, i int) (next, leaves int, err error) {
	pending := 1 // elements still to visit
	for pending > 0 {
		if i >= len(schema) {
			return 0, 0, errors.New("a group lists more fields than the schema has")
		}
		se := &schema[i]
		pending--
		if se.NumChildren.V > 0 {
			pending += int(se.NumChildren.V)
		} else if se.Type.Valid {
			leaves++
		}
		i++
	}
	return i, leaves, nil
}

// supportedCodecs are the compression codecs parquet-go v0.32 decodes.
var supportedCodecs = map[format.CompressionCodec]bool{
	format.Uncompressed: true,
	format.Snappy:       true,
	format.Gzip:         true,
	format.Brotli:       true,
	format.Zstd:         true,
	format.Lz4Raw:       true,
}

// knownEncodings are the encodings of the Parquet format that the reader
// decodes or rejects by name.
var knownEncodings = map[format.Encoding]bool{
	format.Plain: true, format.PlainDictionary: true, format.RLE: true, format.BitPacked: true,
	format.DeltaBinaryPacked: true, format.DeltaLengthByteArray: true, format.DeltaByteArray: true,
	format.RLEDictionary: true, format.ByteStreamSplit: true,
}

// checkRowGroups checks the row counts and column chunk offsets of every row
// group, and marks columns whose chunks use an unsupported codec.
func (f *File) checkRowGroups(md *format.FileMetaData, numLeaves int, size int64) error {
	leafColumn := make([]*Column, numLeaves)
	for i := range f.Columns {
		if l := f.Columns[i].leaf; l >= 0 {
			leafColumn[l] = &f.Columns[i]
		}
	}

	var total int64
	for g := range md.RowGroups {
		rg := &md.RowGroups[g]
		if rg.NumRows < 0 {
			return &FileError{Path: f.Path, Reason: fmt.Sprintf(
				"row group %d has a negative row count (%d): the footer is corrupt", g, rg.NumRows)}
		}
		total += rg.NumRows
		if len(rg.Columns) != numLeaves {
			return &FileError{Path: f.Path, Reason: fmt.Sprintf(
				"row group %d has %d column chunks but the schema has %d leaf columns:"+
					" the footer is corrupt", g, len(rg.Columns), numLeaves)}
		}
		for l := range rg.Columns {
			if err := f.checkChunk(g, &rg.Columns[l], rg.NumRows, leafColumn[l], size); err != nil {
				return err
			}
		}
	}
	if md.NumRows == 0 && total > 0 {
		// Some old writers leave the footer's row count at 0 (for example
		// parquet-testing's repeated_no_annotation.parquet); DuckDB and
		// arrow then trust the row groups, and so does this package.
		f.NumRows = total
		return nil
	}
	if total != md.NumRows {
		return &FileError{Path: f.Path, Reason: fmt.Sprintf(
			"the footer's row count is %d but its row groups hold %d rows: the footer is corrupt",
			md.NumRows, total)}
	}
	return nil
}

func (f *File) checkChunk(g int, cc *format.ColumnChunk, rows int64, col *Column, size int64) error {
	name := ""
	if col != nil {
		name = col.Name
	}
	fail := func(format string, args ...any) error {
		return &FileError{Path: f.Path, Column: name,
			Reason: fmt.Sprintf("row group %d: ", g) + fmt.Sprintf(format, args...)}
	}
	if cc.FilePath != "" {
		return fail("the column chunk is stored in another file (%q), which is not supported",
			cc.FilePath)
	}
	if cc.CryptoMetadata.Value != nil || len(cc.EncryptedColumnMetadata) > 0 {
		return fail("the column is encrypted; encrypted files are not supported," +
			" export the snapshot without encryption")
	}

	m := &cc.MetaData
	if rows == 0 && m.NumValues == 0 {
		return nil // nothing to read; arrow-go leaves such chunks at offset 0
	}
	start := m.DataPageOffset
	if m.DictionaryPageOffset > 0 && m.DictionaryPageOffset < start {
		start = m.DictionaryPageOffset
	}
	if start < 4 || m.TotalCompressedSize < 0 || start+m.TotalCompressedSize > size-8 {
		return fail("the column chunk (offset %d, %d bytes) lies outside the file's %d bytes:"+
			" the file is corrupt or truncated", start, m.TotalCompressedSize, size)
	}

	if col == nil || col.leaf < 0 || col.Kind == KindUnsupported {
		return nil // nested or unsupported: never read
	}
	if m.NumValues != rows {
		return fail("the column chunk has %d values but the row group has %d rows:"+
			" the footer is corrupt", m.NumValues, rows)
	}
	for _, enc := range m.Encoding {
		if !knownEncodings[enc] && col.Unreadable == "" {
			col.Unreadable = fmt.Sprintf("the column uses the encoding number %d, which this reader"+
				" does not know (arrow-go writes ALP as number 10); write the column with PLAIN,"+
				" dictionary, DELTA or BYTE_STREAM_SPLIT encoding", int32(enc))
		}
	}
	if !supportedCodecs[m.Codec] && col.Unreadable == "" {
		col.Unreadable = fmt.Sprintf("the compression codec %s is not supported (supported:"+
			" UNCOMPRESSED, SNAPPY, GZIP, BROTLI, ZSTD, LZ4_RAW); write the file with one of these",
			m.Codec)
	}
	return nil
}

// Column returns the index in f.Columns of the column named name, or -1.
// Names are compared exactly, case included.
func (f *File) Column(name string) int {
	for i := range f.Columns {
		if f.Columns[i].Name == name {
			return i
		}
	}
	return -1
}

// Close closes the file.
func (f *File) Close() error {
	return f.osFile.Close()
}
