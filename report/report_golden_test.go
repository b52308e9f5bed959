package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"clusterbench/results"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata, and re-render the committed reference runs in place")

// fixture is a real quick run, repeated with the busiest workers in
// another order, plus a failed trial, an open-loop experiment and a count
// mismatch, so that every part of the report has something to show.
func fixture(t *testing.T) *results.Run {
	t.Helper()
	r, err := results.Read(filepath.Join("testdata", results.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestMarkdownGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, fixture(t)); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "report.golden.md")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("report differs from %s (go test ./report -update rewrites it after a deliberate change):\n%s", golden, b.String())
	}
}
