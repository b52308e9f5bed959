package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"clusterbench/analysis"
	"clusterbench/plan"
	"clusterbench/report"
	"clusterbench/results"
)

// TestLatencyFiguresWithBothEngines: with vegeta and with wrk, a trial
// records latency's p99.9, maximum and standard deviation and each
// worker's CPU time, and report.md shows them in its latency table.
func TestLatencyFiguresWithBothEngines(t *testing.T) {
	for _, engine := range plan.Engines {
		t.Run(engine.String(), func(t *testing.T) {
			if engine == plan.Wrk {
				requireWrk(t)
			}
			dir := filepath.Join(t.TempDir(), "run")
			code, stdout, stderr := runCLI(t, "run", "-o", dir, "--mode", "reuseport", "--workers", "2", "--keepalive=false",
				"--duration", "1s", "--warmup", "0s", "--concurrency", "4", "--loadgen", engine.String())
			if code != exitOK {
				t.Fatalf("exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			r, err := results.Read(dir)
			if err != nil {
				t.Fatal(err)
			}
			tr := r.Trials[0]
			l := tr.Latency
			if tr.Failed() || l.Stddev == nil || *l.Stddev <= 0 || l.P999 < l.P99 || l.Max < l.P999 || *l.Stddev > l.Max {
				t.Errorf("error %q, latency %+v (stddev %v); want p99 ≤ p99.9 ≤ max and a standard deviation", tr.Error, l, l.Stddev)
			}
			busy := analysis.BusyFairness(&tr)
			if busy.Jain <= 0 || busy.MaxShare+busy.MinShare > 1+1e-9 {
				t.Errorf("busy time %+v from CPU seconds %v; want shares of two workers", busy, analysis.BusySeconds(&tr))
			}
			md, err := os.ReadFile(filepath.Join(dir, report.FileName))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(md), "### Latency and busy time") || !strings.Contains(string(md), "| p99.9 ms | max ms | stddev ms |") {
				t.Errorf("report.md has no latency table:\n%s", md)
			}
			// The terminal shows a summary; the latency table is in report.md only.
			if !strings.Contains(stdout, "p99 ms") || strings.Contains(stdout, "stddev ms") {
				t.Errorf("the terminal shows no summary, or the full latency table:\n%s", stdout)
			}
		})
	}
}
