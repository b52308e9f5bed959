package report

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"clusterbench/analysis"
	"clusterbench/results"
)

// referenceRuns reads every committed reference run.
func referenceRuns(t *testing.T) map[string]*results.Run {
	t.Helper()
	paths := referenceRunPaths(t)
	runs := map[string]*results.Run{}
	for _, p := range paths {
		r, err := results.Read(filepath.Dir(p))
		if err != nil {
			t.Fatal(err)
		}
		runs[filepath.Base(filepath.Dir(p))] = r
	}
	return runs
}

// The answer opens report.md, right after the title, in at most
// MaxAnswerLines lines, for every committed reference run.
func TestAnswerOpensTheReport(t *testing.T) {
	for name, r := range referenceRuns(t) {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteMarkdown(&b, r); err != nil {
				t.Fatal(err)
			}
			sections := strings.Split(b.String(), "\n## ")
			if len(sections) < 2 || !strings.HasPrefix(sections[1], "Answer\n") {
				t.Fatalf("the first section is not the answer:\n%s", b.String()[:min(b.Len(), 600)])
			}
			lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(sections[1], "Answer\n")), "\n")
			if len(lines) > MaxAnswerLines || len(lines) < 2 {
				t.Errorf("the answer has %d lines; want 2 to %d:\n%s", len(lines), MaxAnswerLines, strings.Join(lines, "\n"))
			}
			if !strings.Contains(sections[1], "70%") {
				t.Errorf("the answer does not say whether two workers took more than 70%%:\n%s", sections[1])
			}
		})
	}
}

// The terminal fits in terminalColumns and begins with the answer, for
// every committed reference run; the findings stay in report.md.
func TestTerminalFitsAndAnswersFirst(t *testing.T) {
	for name, r := range referenceRuns(t) {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteTerminal(&b, r); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if !strings.HasPrefix(out, "answer:\n") {
				t.Errorf("the terminal does not begin with the answer:\n%s", out[:min(len(out), 400)])
			}
			for i, l := range strings.Split(out, "\n") {
				if n := utf8.RuneCountInString(l); n > terminalColumns {
					t.Errorf("line %d is %d columns wide; want at most %d:\n%s", i+1, n, terminalColumns, l)
				}
			}
			answer, _, _ := strings.Cut(out, "\n\n")
			if n := strings.Count(answer, "\n"); n > MaxAnswerLines {
				t.Errorf("the answer takes %d lines on the terminal; want at most %d:\n%s", n, MaxAnswerLines, answer)
			}
			if strings.Contains(out, "findings:") || strings.Contains(out, "CPU cores loadgen/master/proxy/workers") {
				t.Error("the terminal repeats the findings or the full table; they belong in report.md")
			}
			if warnings := strings.Count(out, "\nwarning: "); warnings > maxTerminalWarnings {
				t.Errorf("%d warning lines; want at most %d", warnings, maxTerminalWarnings)
			}
		})
	}
}

// Answer lines that would be too wide are shortened, never wrapped.
func TestAnswerLinesFit(t *testing.T) {
	long := strings.Repeat("x", 90)
	g := analysis.AnswerGroup{Experiment: long, Recommended: []string{"haproxy:roundrobin"}, Choices: make([]analysis.Choice, 1), Wins: 1,
		Value: 1234, P99Low: 4, P99High: 5, Class: analysis.Uneven, BeyondChance: true, SharesApply: true,
		Certainty: analysis.WithinNoise, RunnerUp: "iptables:random"}
	for _, markdown := range []bool{false, true} {
		lines := answerLines(analysis.Answer{Groups: []analysis.AnswerGroup{g}}, style{markdown})
		for _, l := range lines {
			if w := visibleWidth(l, style{markdown}); w > answerColumns {
				t.Errorf("markdown %v: %d columns; want at most %d: %s", markdown, w, answerColumns, l)
			}
		}
		if !strings.HasSuffix(lines[0], "…") {
			t.Errorf("a line cut short does not say so: %s", lines[0])
		}
	}
}

// Warnings come before the findings in report.md: the load generator
// being the limit changes how every finding reads.
func TestWarningsBeforeFindings(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, fixture(t)); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	w, f := strings.Index(md, "\n## Warnings\n"), strings.Index(md, "\n## Findings\n")
	if w < 0 || f < 0 || w > f {
		t.Errorf("warnings at %d, findings at %d; want both, warnings first", w, f)
	}
}

// Many warnings take a few lines on the terminal, one each, and say
// where the rest are.
func TestTerminalWarningsAreFew(t *testing.T) {
	r := fixture(t)
	for i := range r.Trials {
		r.Trials[i].Warnings = append(r.Trials[i].Warnings, strings.Repeat("a long warning ", 20))
	}
	lines := terminalWarnings(r)
	if len(lines) != maxTerminalWarnings+1 { // and a blank line before them
		t.Fatalf("%d lines; want %d:\n%s", len(lines), maxTerminalWarnings+1, strings.Join(lines, "\n"))
	}
	if !strings.HasPrefix(lines[1], "warning: quick/max-c32: the load generator (vegeta) was the limit in 16 of 16 trials") {
		t.Errorf("the load generator's warning is not first and short: %s", lines[1])
	}
	if last := lines[len(lines)-1]; last != "warning: "+fmt.Sprint(len(warnings(r))-(maxTerminalWarnings-1))+" more in report.md" {
		t.Errorf("last line %q; want the count of the rest", last)
	}
	for _, l := range lines {
		if utf8.RuneCountInString(l) > terminalColumns {
			t.Errorf("%d columns: %s", utf8.RuneCountInString(l), l)
		}
	}
}

// The summary table says where each mode's spread falls against chance:
// rare for a skew of 32 connections, common for a random-looking one,
// always for round robin's exact split. The expected figures were
// computed apart, with exact fractions in Python over every split.
func TestChanceColumn(t *testing.T) {
	tests := []struct {
		counts []uint64
		want   string
	}{
		{[]uint64{14, 9, 2, 2, 2, 1, 1, 1}, "0.00043%"}, // Jain 0.44
		{[]uint64{7, 6, 4, 4, 4, 3, 2, 2}, "63%"},       // Jain 0.85: near chance's median
		{[]uint64{4, 4, 4, 4, 4, 4, 4, 4}, "100%"},
	}
	for _, tt := range tests {
		points := analysis.Points(&results.Run{Trials: []results.Trial{trial("m", 1, 100, tt.counts...)}})
		if got := chanceColumn(points[0]); got != tt.want {
			t.Errorf("chanceColumn(%v) = %s; want %s", tt.counts, got, tt.want)
		}
	}
}

// More groups than lines: the answer stays within MaxAnswerLines and says
// where the rest are.
func TestAnswerManyGroups(t *testing.T) {
	var a analysis.Answer
	for i := range 20 {
		a.Groups = append(a.Groups, analysis.AnswerGroup{Experiment: fmt.Sprint("e", i), Recommended: []string{"shared"},
			Choices: make([]analysis.Choice, 1), Wins: 1, Value: 100, SharesApply: true})
	}
	lines := answerLines(a, style{})
	if len(lines) != MaxAnswerLines {
		t.Fatalf("%d lines; want %d:\n%s", len(lines), MaxAnswerLines, strings.Join(lines, "\n"))
	}
	// 12 lines: 9 groups, "… and 11 more", the evenest modes and the 70% claim.
	if got := lines[MaxAnswerLines-3]; got != "… and 11 more: see the findings." {
		t.Errorf("line %d: %q; want the count of the groups left out", MaxAnswerLines-2, got)
	}
}

// The terminal's answer is the Markdown's without its marks.
func TestPlainAnswerIsTheMarkdownWithoutMarks(t *testing.T) {
	a := analysis.AnswerOf(fixture(t))
	md, plain := answerLines(a, style{true}), answerLines(a, style{false})
	if len(md) != len(plain) {
		t.Fatalf("%d Markdown lines, %d plain", len(md), len(plain))
	}
	for i := range md {
		if got := markless.Replace(md[i]); got != plain[i] {
			t.Errorf("line %d:\nMarkdown %s\nplain    %s", i+1, got, plain[i])
		}
	}
}
