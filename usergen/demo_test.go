package usergen

import (
	"bytes"
	"os"
	"testing"
)

// TestDemoFiles checks that the files in ../demo are what the commands in
// ../demo/README.md make, byte for byte. When the generator changes on
// purpose, run those commands again and update the README's lists.
func TestDemoFiles(t *testing.T) {
	base := Options{Rows: 500, Seed: 1}
	ch := Changes{ChangedShare: 0.02, AddedShare: 0.006, RemovedShare: 0.004, Seed: 1}
	var first, second bytes.Buffer
	if err := Write(&first, base); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if _, err := WriteNext(&second, base, ch); err != nil {
		t.Fatalf("WriteNext: %v", err)
	}
	for _, f := range []struct {
		path string
		want []byte
	}{{"../demo/users-1.parquet", first.Bytes()}, {"../demo/users-2.parquet", second.Bytes()}} {
		got, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatalf("reading the demo file: %v", err)
		}
		if !bytes.Equal(got, f.want) {
			t.Errorf("%s (%d bytes) differs from what the generator makes now (%d bytes);"+
				" regenerate it with the commands in ../demo/README.md", f.path, len(got), len(f.want))
		}
	}
}
