package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"clusterbench/report"
	"clusterbench/results"
)

// runDir makes a run directory holding results.json with content.
func runDir(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, results.FileName), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A record without figures is bad input for every command that reads one:
// exit 2, the file and the trial named, and nothing written.
func TestBadRecordsAreRefused(t *testing.T) {
	good := filepath.Join("..", "..", "report", "testdata", results.FileName)
	emptyTrials := runDir(t, `{"schema": 2, "complete": true, "trials": [{}, {}]}`)
	noTrials := runDir(t, `{"schema": 2, "complete": true, "trials": []}`)
	allFailed := runDir(t, `{"schema": 2, "complete": true, "trials": [{"experiment": "quick", "mode": "shared", "workers": 8, "error": "connection refused"}]}`)
	empty := runDir(t, ``)
	corrupt := runDir(t, `{"schema": 2, "trials": [{"experiment": "quick",`)
	zeroSecond := runDir(t, `{"schema": 2, "complete": true, "trials": [{"experiment": "serve", "mode": "shared", "workers": 2, "origin": "serve", "requests": 5,
		"served": {"seconds": [{"t": 0, "seconds": 0, "requests": [3, 2], "connections": [1, 1]}]}}]}`)
	for _, tt := range []struct {
		name     string
		args     []string
		inStderr string
	}{
		{"report of empty trials", []string{"report", emptyTrials}, filepath.Join(emptyTrials, results.FileName) + ": trial 1: no mode"},
		{"compare of empty trials", []string{"compare", emptyTrials, emptyTrials}, "BASE: results: " + filepath.Join(emptyTrials, results.FileName) + ": trial 1: no mode"},
		{"compare with empty trials as HEAD", []string{"compare", good, emptyTrials}, "HEAD: results: " + filepath.Join(emptyTrials, results.FileName) + ": trial 1: no mode"},
		{"compare of no trials", []string{"compare", noTrials, noTrials}, "nothing to compare"},
		{"compare of a BASE that measured nothing", []string{"compare", allFailed, good}, "measured nothing"},
		{"compare of an empty file", []string{"compare", empty, good}, "BASE: results:"},
		{"compare of a corrupt file", []string{"compare", good, corrupt}, "HEAD: results:"},
		{"report of a corrupt file", []string{"report", corrupt}, "unexpected end of JSON input"},
		{"report of a second of no time", []string{"report", zeroSecond}, "trial 1: served second 1 lasts 0 s, want more than 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.inStderr) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("exit code %d, stderr %q; want %d and one line containing %q", code, stderr, exitUsage, tt.inStderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q; want nothing", stdout)
			}
			if _, err := os.Stat(filepath.Join(tt.args[1], report.FileName)); err == nil {
				t.Errorf("a report was written from a bad record")
			}
		})
	}
}

// A scenario's names are checked with their line before anything runs.
func TestBadNamesAreRefused(t *testing.T) {
	long := writeFile(t, "long.yaml", "experiments:\n  - modes: [shared]\n    name: "+strings.Repeat("x", 5000)+"\n")
	markdown := writeFile(t, "markdown.yaml", "experiments:\n  - modes: [shared]\n    load: {name: \"![x](http://example.invalid/a.png)\"}\n")
	for _, tt := range []struct{ file, want string }{
		{long, long + ":3: name: name of 5000 bytes, at most 64 allowed"},
		{markdown, markdown + ":3: name: name \"![x](http://example.invalid/a.png)\""},
	} {
		out := filepath.Join(t.TempDir(), "out")
		code, _, stderr := runCLI(t, "run", "-o", out, tt.file)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("exit code %d, stderr %q; want %d and %q", code, stderr, exitUsage, tt.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("a bad name still created the output directory")
		}
	}
}

// A record with hostile names (hand-edited, or from an older version) is
// rendered: every file is written, and the names cannot reshape them.
func TestReportOfHostileNames(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "report", "testdata", results.FileName))
	if err != nil {
		t.Fatal(err)
	}
	hostile := strings.ReplaceAll(string(data), `"experiment": "quick"`,
		`"experiment": "`+strings.Repeat("q", 5000)+`\n# heading\n![x](http://example.invalid/a.png)|\u001b[31m"`)
	hostile = strings.ReplaceAll(hostile, `"name": "max-c32"`, `"name": "max c32\nBenchmarkX 1 1 ns/op"`)
	dir := runDir(t, hostile)
	code, stdout, stderr := runCLI(t, "report", dir)
	if code != exitOK {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	for _, path := range strings.Fields(stdout) {
		if len(filepath.Base(path)) > 255 {
			t.Errorf("file name of %d bytes", len(filepath.Base(path)))
		}
		if _, err := os.Stat(path); err != nil {
			t.Error(err)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, report.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(md), "\n# heading") || strings.Contains(string(md), "[x](") || strings.ContainsRune(string(md), '\x1b') {
		t.Errorf("report.md is reshaped by a name")
	}
	exported := filepath.Join(t.TempDir(), "compare.md")
	code, stdout, stderr = runCLI(t, "compare", "--export-markdown", exported, dir, dir)
	summary, err := os.ReadFile(exported)
	if code != exitOK || err != nil {
		t.Fatalf("compare of the record with itself: exit code %d, %v, stderr %q", code, err, stderr)
	}
	if strings.Contains(stdout, "\n# heading") || strings.ContainsRune(stdout, '\x1b') {
		t.Errorf("compare's terminal output is reshaped by a name: %.300q", stdout)
	}
	if strings.Contains(string(summary), "\n# heading") || strings.Contains(string(summary), "[x](") || strings.ContainsRune(string(summary), '\x1b') {
		t.Errorf("compare's Markdown is reshaped by a name: %.300q", summary)
	}
	f, err := os.Open(filepath.Join(dir, report.BenchFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	measured, read := 0, 0
	for _, tr := range r.Trials {
		if !tr.Failed() {
			measured++
		}
	}
	for rd := benchfmt.NewReader(f, report.BenchFileName); rd.Scan(); {
		if _, ok := rd.Result().(*benchfmt.Result); ok {
			read++
		}
	}
	if read != measured {
		t.Errorf("benchstat reads %d results of bench.txt; want %d, one per measured trial", read, measured)
	}
}
