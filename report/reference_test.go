package report

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"clusterbench/results"
)

// TestReferenceRunsRenderUnchanged re-renders every committed reference run
// from its results.json alone and requires report.md, bench.txt and every
// plot to be byte-identical to the committed files (report.html is
// rendered but not committed: it is those files again, inlined, and
// would add megabytes to the history at every re-render): a change that is meant
// to change no output is checked against real runs of every kind, older
// schemas included. A change that means to change the report runs
// `go test ./report -run ReferenceRuns -update` and commits the result.
func TestReferenceRunsRenderUnchanged(t *testing.T) {
	runs := referenceRunPaths(t)
	for _, path := range runs {
		committed := filepath.Dir(path)
		t.Run(filepath.Base(committed), func(t *testing.T) {
			r, err := results.Read(committed)
			if err != nil {
				t.Fatal(err)
			}
			dir := committed
			if !*update {
				dir = t.TempDir()
			}
			if err := Write(dir, r); err != nil {
				t.Fatal(err)
			}
			if *update {
				return
			}
			rendered, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(rendered) < 3 {
				t.Fatalf("rendered only %d files", len(rendered))
			}
			if _, err := os.Stat(filepath.Join(dir, HTMLFileName)); err != nil {
				t.Errorf("no %s rendered: %v", HTMLFileName, err)
			}
			for _, f := range rendered {
				if f.Name() == HTMLFileName {
					continue
				}
				got, err := os.ReadFile(filepath.Join(dir, f.Name()))
				if err != nil {
					t.Fatal(err)
				}
				want, err := os.ReadFile(filepath.Join(committed, f.Name()))
				if err != nil {
					t.Errorf("%s: rendered, but not committed: %v", f.Name(), err)
					continue
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from the committed file (%d bytes, want %d)", f.Name(), len(got), len(want))
				}
			}
		})
	}
}

// referenceRunPaths lists the results.json of every committed reference
// run, for the tests that render or judge them all. Those are
// single-threaded arithmetic that the race detector makes twenty times
// slower (minutes instead of seconds), so they skip under it: make test
// runs this package again without -race.
func referenceRunPaths(t *testing.T) []string {
	t.Helper()
	if raceDetector {
		t.Skip("renders every reference run: run without -race (make test does)")
	}
	paths, err := filepath.Glob("../results/reference/*/results.json")
	// A distributed run keeps its steps' records side by side: serve/, merged/.
	nested, err2 := filepath.Glob("../results/reference/*/*/results.json")
	if err != nil || err2 != nil || len(paths) == 0 {
		t.Fatalf("no reference runs found: %v", errors.Join(err, err2))
	}
	return append(paths, nested...)
}
