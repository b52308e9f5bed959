package report

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"clusterbench/internal/visible"
	"clusterbench/results"
)

// Each destination's escaping, exactly: what a hostile name becomes.
func TestEscapingGolden(t *testing.T) {
	for _, tt := range []struct {
		in, markdown, terminal, bench, file string
	}{
		{"max-c32", "max-c32", "max-c32", "max-c32", "max-c32"},
		{"http_502 (net/http, go1.26; x)", "http_502 (net/http, go1.26; x)", "http_502 (net/http, go1.26; x)", "http_502_(net-http,_go1.26;_x)", "http_502--net-http--go1.26--x-"},
		{"a\n## b", `a\n\#\# b`, `a\n## b`, "a_##_b", "a----b"},
		{"a|b", `a\|b`, "a|b", "a|b", "a-b"},
		{"![x](http://example.invalid/a.png)", `!\[x\](http://example.invalid/a.png)`, "![x](http://example.invalid/a.png)", "![x](http:--example.invalid-a.png)", "--x--http---example.invalid-a.png-"},
		{"red\x1b[31m", `red\x1b\[31m`, `red\x1b[31m`, "red_[31m", "red--31m"},
		{"<img src=x>`code`*", `\<img src=x\>\` + "`code\\`" + `\*`, "<img src=x>`code`*", "<img_src-x>`code`*", "-img-src-x--code--"},
		{"bidi\u202eevil\r", `bidi\u202eevil\r`, `bidi\u202eevil\r`, "bidi_evil_", "bidi-evil-"},
		{"a=b/c d", "a=b/c d", "a=b/c d", "a-b-c_d", "a-b-c-d"},
		{"cpu-200µs", "cpu-200µs", "cpu-200µs", "cpu-200µs", "cpu-200-s"},
	} {
		if got := markdownText(tt.in); got != tt.markdown {
			t.Errorf("markdownText(%q) = %q; want %q", tt.in, got, tt.markdown)
		}
		if got := visible.Text(tt.in); got != tt.terminal {
			t.Errorf("visible.Text(%q) = %q; want %q", tt.in, got, tt.terminal)
		}
		if got := benchKey(tt.in); got != tt.bench {
			t.Errorf("benchKey(%q) = %q; want %q", tt.in, got, tt.bench)
		}
		if got := fileSafe(tt.in); got != tt.file {
			t.Errorf("fileSafe(%q) = %q; want %q", tt.in, got, tt.file)
		}
	}
}

// hostile is the fixture as a hand-edited (or older) record may have it:
// names that would reshape every output, and two experiments whose
// 5,000-byte names differ only at the end. plain gives the same record
// with harmless names, to compare with.
func hostile(t *testing.T, plain bool) *results.Run {
	r := fixture(t)
	long := strings.Repeat("x", 5000)
	for i := range r.Trials {
		tr := &r.Trials[i]
		if plain {
			tr.Warnings = append(tr.Warnings, "first line, second line")
			continue
		}
		if tr.Experiment == "quick" {
			tr.Experiment = long + "1\n# injected heading\n![x](http://example.invalid/a.png) | cell |\x1b[31mred"
		} else {
			tr.Experiment = long + "2"
		}
		tr.Load.Name = "load with spaces\nBenchmarkFake 1 1 ns/op"
		tr.Handler.Name = "h|`x`"
		tr.Warnings = append(tr.Warnings, "first line\nsecond line\x1b[2J")
	}
	return r
}

// cellBorders counts the unescaped '|' of a line.
func cellBorders(l string) int { return strings.Count(l, "|") - strings.Count(l, `\|`) }

func TestHostileNamesKeepTheirPlace(t *testing.T) {
	r := hostile(t, false)
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	var clean bytes.Buffer
	if err := WriteMarkdown(&clean, hostile(t, true)); err != nil {
		t.Fatal(err)
	}
	count := func(b []byte, prefix string) int {
		n := 0
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, prefix) {
				n++
			}
		}
		return n
	}
	for _, prefix := range []string{"#", "|", "- ", "!["} {
		if got, want := count(md.Bytes(), prefix), count(clean.Bytes(), prefix); got != want {
			t.Errorf("report.md has %d lines starting %q; want %d, as without the hostile names", got, prefix, want)
		}
	}
	borders := map[int]bool{}
	for _, l := range strings.Split(clean.String(), "\n") {
		if strings.HasPrefix(l, "|") {
			borders[cellBorders(l)] = true
		}
	}
	for _, l := range strings.Split(md.String(), "\n") {
		if strings.HasPrefix(l, "|") && !borders[cellBorders(l)] {
			t.Errorf("a table row of %d cell borders: %.120q", cellBorders(l), l)
		}
	}
	if regexp.MustCompile(`[^\\]\]\(http`).MatchString(md.String()) || strings.ContainsRune(md.String(), '\x1b') {
		t.Error("report.md links the remote image or carries an escape code")
	}

	var term bytes.Buffer
	if err := WriteTerminal(&term, r); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsRune(term.String(), '\x1b') {
		t.Error("the terminal output carries an escape code")
	}
	for _, l := range strings.Split(term.String(), "\n") {
		if strings.Contains(l, "second line") && !strings.HasPrefix(l, "warning: ") {
			t.Errorf("a line of a warning without its prefix: %.120q", l)
		}
	}

	var bench bytes.Buffer
	if err := WriteBench(&bench, r); err != nil {
		t.Fatal(err)
	}
	read := 0
	for rd := benchfmt.NewReader(&bench, "bench.txt"); rd.Scan(); {
		switch rec := rd.Result().(type) {
		case *benchfmt.Result:
			read++
		case *benchfmt.SyntaxError:
			t.Errorf("bench.txt: %v", rec)
		}
	}
	if measured := len(r.Trials) - countFailed(r); read != measured {
		t.Errorf("benchstat reads %d results; want one per measured trial, %d", read, measured)
	}
}

func countFailed(r *results.Run) int {
	n := 0
	for _, t := range r.Trials {
		if t.Failed() {
			n++
		}
	}
	return n
}

// A 5,000-byte experiment name is a file name the system refuses: the
// plots get bounded, distinct names, and report.md links them.
func TestLongNamesWriteEveryFile(t *testing.T) {
	dir := t.TempDir()
	r := hostile(t, false)
	if err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	plots := Plots(r)
	seen := map[string]bool{}
	md, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plots {
		if len(p.File) > 255 || seen[p.File] {
			t.Errorf("plot file %q: too long or used twice", p.File)
		}
		seen[p.File] = true
		if _, err := os.Stat(filepath.Join(dir, p.File)); err != nil {
			t.Error(err)
		}
		if !strings.Contains(string(md), "]("+p.File+")") {
			t.Errorf("report.md does not link %s", p.File)
		}
	}
	if len(plots) < 8 {
		t.Errorf("%d plots; want those of both experiments", len(plots))
	}
	if _, err := os.Stat(filepath.Join(dir, BenchFileName)); err != nil {
		t.Error(err)
	}
}
