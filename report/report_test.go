package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"clusterbench/analysis"
	"clusterbench/results"
)

func trial(mode string, rep int, thr float64, perWorker ...uint64) results.Trial {
	t := results.Trial{
		Experiment: "e", Rep: rep, Mode: mode, Workers: len(perWorker), KeepAlive: true,
		Handler: results.Handler{Name: "trivial", BodyBytes: 64}, Load: results.Load{Name: "max-c32", Engine: "vegeta", Concurrency: 32, DurationSeconds: 5},
		ThroughputRPS: thr, CountsAgree: true,
	}
	for i, c := range perWorker {
		t.PerWorker = append(t.PerWorker, results.WorkerCounts{Index: i, Requests: c, Connections: c, WorkerRequests: c, WorkerConnections: c})
		t.Successes += c
	}
	t.Requests = t.Successes
	t.Fairness = results.FairnessPair{Requests: analysis.FairnessOf(t.RequestCounts()), Connections: analysis.FairnessOf(t.ConnectionCounts())}
	return t
}

func TestMarkdownReport(t *testing.T) {
	r := &results.Run{
		Schema: results.Schema, Scenario: "scenarios/x.yaml", Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Host:   results.Host{CPUModel: "Test CPU", CPUs: 2, Kernel: "6.1", GoVersion: "go1.26", WorkerApp: "test app", Isolation: "host loopback"},
		Trials: []results.Trial{trial("shared", 1, 1234, 6, 2), trial("reuseport", 1, 1000, 4, 4)},
	}
	r.Trials[0].Mismatches = []string{"worker 1: client counted 2 requests, worker 3"}
	r.Trials[0].CountsAgree = false
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"# clusterbench report: scenarios/x.yaml",
		"> **Partial run**", // Complete is false
		"Test CPU × 2 CPUs, Linux 6.1, go1.26",
		"| shared ", "| 1234 (n=1)", // one repetition: no spread, said plainly
		"| 0.800 ", // Jain of 6,2 is 64/80
		"| reuseport ", "| 1.000 ",
		"## Warnings", "count mismatch: worker 1: client counted 2 requests, worker 3",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	r.Complete = true
	b.Reset()
	WriteMarkdown(&b, r)
	if strings.Contains(b.String(), "Partial run") {
		t.Error("a complete run is marked partial")
	}
}

// TestOlderSchemaIsReadAndSaysSo: a schema 1 record still renders, and the
// report says its CPU figures span more than the measured phase.
func TestOlderSchemaIsReadAndSaysSo(t *testing.T) {
	dir := t.TempDir()
	r := fixture(t)
	r.Schema = results.OldestSchema
	if err := results.Save(dir, r); err != nil {
		t.Fatal(err)
	}
	old, err := results.Read(dir)
	if err != nil {
		t.Fatalf("Read of schema %d: %v", results.OldestSchema, err)
	}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, old); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "This record is schema 1: its CPU figures span the deployment's life") {
		t.Error("the report of a schema 1 record does not say what its CPU figures cover")
	}
}

// TestLoadgenBoundIsNeverSilent: one bound trial marks its point, names
// the trial in the warnings and changes the finding.
func TestLoadgenBoundIsNeverSilent(t *testing.T) {
	r := fixture(t)
	for i := range r.Trials {
		r.Trials[i].LoadgenBound, r.Trials[i].LoadgenBoundReason = false, ""
	}
	render := func() string {
		var b bytes.Buffer
		if err := WriteMarkdown(&b, r); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if got := render(); strings.Contains(got, "(50%) †") || strings.Contains(got, "quick/max-c32: the load generator") {
		t.Error("a run without a bound trial is marked bound")
	}
	r.Trials[1].LoadgenBound, r.Trials[1].LoadgenBoundReason = true, "it sent 10 req/s of the 20 requested"
	got := render()
	for _, want := range []string{
		"7363 [6975, 7750] (50%) †", // two repetitions: their range, at 50%
		"quick/max-c32: the load generator (vegeta), not the server, was the limit in 1 of 16 trials (reuseport; e.g. reuseport, rep 1: it sent 10 req/s of the 20 requested)",
		"The load generator was the limit (†) for `reuseport`",
		"- CPU placement: load generator on CPUs 0, server (master, proxy and workers) on CPUs 1, pinned with sched_setaffinity",
		"- CPU placement: none: the load generator and the server share all 2 CPUs",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// The findings follow the data: change the counts or the throughput and
// the statement changes with them.
func TestFindingsFollowTheData(t *testing.T) {
	// findingsHave checks that r's findings say each of wants.
	findingsHave := func(r *results.Run, wants ...string) string {
		got := markdownFindings(r)
		for _, want := range wants {
			if !strings.Contains(got, want) {
				t.Errorf("findings lack %q:\n%s", want, got)
			}
		}
		return got
	}

	skewed := &results.Run{Trials: []results.Trial{
		trial("shared", 1, 900, 40, 38, 3, 3, 3, 3, 3, 3), // top two: 78 of 96
		trial("reuseport", 1, 1000, 12, 12, 12, 12, 12, 12, 12, 12),
		trial("shared", 2, 950, 20, 18, 10, 10, 10, 10, 10, 10), // top two: 38 of 98
		trial("reuseport", 2, 1100, 12, 12, 12, 12, 12, 12, 12, 12),
	}}
	findingsHave(skewed,
		"took more than 70% of connections in 1 of 4 trials",
		"`shared` in experiment e with 8 workers, keep-alive on, handler trivial, load max-c32, in 1 of 2 repetitions (95% interval 1.3%–99%; top two: 81% of 96, 39% of 98 connections).",
		"Chance alone gives two of 8 workers more than 70% of 96 connections in fewer than one in a million random spreads.",
		"fastest `reuseport` (1050 req/s), 1.14× the throughput of `shared` (their confidence intervals do not overlap)",
		"Even (Jain ≥ 0.99 in every repetition): `reuseport`; uneven (medians): `shared` (Jain 0.639 per request, 0.639 per connection; top two 60% of 97 connections, beyond chance (p < 0.01) in 1 of 2 repetitions)",
		"Client and worker counts agreed** in all 4 measured trials",
	)

	even := &results.Run{Trials: []results.Trial{
		trial("shared", 1, 1200, 12, 11, 12, 12, 12, 12, 12, 12),
		trial("reuseport", 1, 1000, 12, 12, 12, 12, 12, 12, 12, 12),
	}}
	got := findingsHave(even,
		"never took more than 70% of connections**, in any of the 2 trials",
		"fastest `shared` (1200 req/s), 1.20× the throughput of `reuseport`",
	)
	if strings.Contains(got, "intervals") {
		t.Errorf("one repetition has no interval to compare, yet:\n%s", got)
	}

	// Five of six connections in two workers is chance, not a finding.
	few := &results.Run{Trials: []results.Trial{trial("shared", 1, 100, 3, 2, 1, 0, 0, 0, 0, 0)}}
	findingsHave(few,
		"No trial had enough connections to tell whether two workers take more than 70% of them.",
		"Left out: 1 trial with fewer than 4 connections per worker, where two workers hold a large share by chance alone (`shared` e rep 1: 6)",
	)
}

// A mode whose every repetition failed still has its row, marked failed,
// with as many cells as the header.
func TestFailedPointRow(t *testing.T) {
	r := &results.Run{Trials: []results.Trial{trial("shared", 1, 100, 5, 5), trial("nginx", 1, 0, 0, 0), trial("nginx", 2, 0, 0, 0)}}
	r.Trials[1].Error, r.Trials[2].Error = "nginx: did not start", "nginx: did not start"
	points := analysis.Points(r)
	row := summaryRow(points[1])
	if len(row) != len(summaryHeader) || row[5] != "0 (+2 failed)" || row[6] != "failed" {
		t.Errorf("row %q; want %d cells, reps \"0 (+2 failed)\" and throughput \"failed\"", row, len(summaryHeader))
	}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "2 trials could not be measured") {
		t.Errorf("findings do not say that trials failed:\n%s", b.String())
	}
}

// markdownFindings is the findings of r as the report states them, one
// per line.
func markdownFindings(r *results.Run) string {
	return strings.Join(findingLines(analysis.FindingsOf(r), style{markdown: true}), "\n")
}

// On a terminal the findings read as in the report, without the Markdown
// marks: the plain style must drop exactly those, in every committed run.
func TestPlainFindingsAreTheMarkdownWithoutMarks(t *testing.T) {
	paths := referenceRunPaths(t)
	paths = append(paths, filepath.Join("testdata", results.FileName))
	unmark := strings.NewReplacer("**", "", "`", "")
	for _, path := range paths {
		r, err := results.Read(path)
		if err != nil {
			t.Fatal(err)
		}
		f := analysis.FindingsOf(r)
		md, plain := findingLines(f, style{markdown: true}), findingLines(f, style{})
		if len(md) == 0 || len(md) != len(plain) {
			t.Fatalf("%s: %d Markdown findings, %d plain; want the same, and some", path, len(md), len(plain))
		}
		for i := range md {
			if want := unmark.Replace(md[i]); plain[i] != want {
				t.Errorf("%s: plain finding\n%s\nwant\n%s", path, plain[i], want)
			}
		}
	}
}
