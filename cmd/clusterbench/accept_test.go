package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"clusterbench/results"
)

// TestSharedAcceptPolicies runs shared with each accept policy, keep-alive
// off and on, with both load generators: every trial is measured under its
// policy, and the client's counts per worker equal the workers' own.
func TestSharedAcceptPolicies(t *testing.T) {
	policies := []string{"shared:race", "shared:exclusive", "shared:blocking"}
	for _, m := range policies {
		requireMode(t, m)
	}
	for _, engine := range []string{"vegeta", "wrk"} {
		t.Run(engine, func(t *testing.T) {
			duration, warmup := "700ms", "200ms"
			if engine == "wrk" {
				requireWrk(t)
				duration, warmup = "1s", "1s" // wrk runs for whole seconds
			}
			dir := filepath.Join(t.TempDir(), "run")
			code, stdout, stderr := runCLI(t, "run", "-o", dir, "--mode", strings.Join(policies, ","), "--workers", "4",
				"--keepalive=false,true", "--duration", duration, "--warmup", warmup, "--concurrency", "8", "--loadgen", engine)
			if code != exitOK {
				t.Fatalf("exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			run, err := results.Read(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(run.Trials) != 2*len(policies) {
				t.Fatalf("%d trials; want %d (skipped: %+v)", len(run.Trials), 2*len(policies), run.Skipped)
			}
			var labels []string
			for _, tr := range run.Trials {
				name := fmt.Sprintf("%s keep-alive=%v", tr.Label(), tr.KeepAlive)
				labels = append(labels, tr.Label())
				if tr.Failed() || tr.Successes == 0 || tr.Errors != 0 {
					t.Errorf("%s: error %q, %d successes, %d errors %v", name, tr.Error, tr.Successes, tr.Errors, tr.ErrorKinds)
					continue
				}
				if !tr.CountsAgree || len(tr.Mismatches) > 0 {
					t.Errorf("%s: client and workers disagree: %v", name, tr.Mismatches)
				}
				var served uint64
				for _, w := range tr.PerWorker {
					served += w.WorkerRequests
				}
				if served == 0 || len(tr.PerWorker) != 4 {
					t.Errorf("%s: %d workers served %d requests; want 4 workers serving", name, len(tr.PerWorker), served)
				}
				t.Logf("%s: connections per worker %v", name, tr.ConnectionCounts())
			}
			for _, want := range policies {
				if !slices.Contains(labels, want) {
					t.Errorf("trials %v; want one of %s", labels, want)
				}
			}
			md, err := os.ReadFile(filepath.Join(dir, "report.md"))
			if err != nil || !strings.Contains(string(md), "shared:exclusive") {
				t.Errorf("report.md (%v) does not name shared:exclusive", err)
			}
		})
	}
}
