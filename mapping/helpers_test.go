package mapping

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// testdata is the folder of Parquet test files; see its README.md.
const testdata = "../testdata/parquet"

// record is what a handler received for one row.
type record struct {
	File    string
	Row     int64
	UserID  string
	Body    string // empty for invalid rows
	Invalid string // the reason, for invalid rows
}

// collector is a Handler that keeps every row.
type collector struct {
	records []record
}

func (c *collector) User(u *User) error {
	c.records = append(c.records, record{File: u.File, Row: u.Row, UserID: u.UserID, Body: string(u.Body)})
	return nil
}

func (c *collector) Invalid(r InvalidRow) error {
	c.records = append(c.records, record{File: r.File, Row: r.Row, UserID: r.UserID, Invalid: r.Reason})
	return nil
}

// scanAll scans location and returns what the handler received.
func scanAll(t *testing.T, location string, cfg Config) ([]record, Stats) {
	t.Helper()
	var c collector
	st, err := Scan(context.Background(), location, cfg, &c)
	if err != nil {
		t.Fatalf("Scan(%q): %v", location, err)
	}
	return c.records, st
}

// column is one column of a test file: a schema node and one value per row,
// where a zero parquet.Value is a null.
type testColumn struct {
	name   string
	node   parquet.Node
	values []parquet.Value
}

// writeParquet writes a Parquet file with parquet-go's writer.
func writeParquet(t *testing.T, path string, cols []testColumn, options ...parquet.WriterOption) {
	t.Helper()
	group := parquet.Group{}
	for _, c := range cols {
		group[c.name] = c.node
	}
	schema := parquet.NewSchema("test", group)

	rows := make([]parquet.Row, len(cols[0].values))
	for i := range rows {
		row := make(parquet.Row, len(cols))
		for _, c := range cols {
			leaf, ok := schema.Lookup(c.name)
			if !ok {
				t.Fatalf("column %q not in the schema", c.name)
			}
			v := c.values[i]
			switch {
			case v.IsNull():
				v = parquet.NullValue().Level(0, 0, leaf.ColumnIndex)
			case leaf.Node.Optional():
				v = v.Level(0, 1, leaf.ColumnIndex)
			default:
				v = v.Level(0, 0, leaf.ColumnIndex)
			}
			row[leaf.ColumnIndex] = v
		}
		rows[i] = row
	}

	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := parquet.NewWriter(f, append([]parquet.WriterOption{schema}, options...)...)
	if _, err := w.WriteRows(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// idColumn is a REQUIRED INT64 user_id column with the ids 1, 2, 3, ...
func idColumn(n int) testColumn {
	values := make([]parquet.Value, n)
	for i := range values {
		values[i] = parquet.Int64Value(int64(i + 1))
	}
	return testColumn{name: "user_id", node: parquet.Required(parquet.Leaf(parquet.Int64Type)), values: values}
}

func tempPath(t *testing.T, name string) string {
	return filepath.Join(t.TempDir(), name)
}
