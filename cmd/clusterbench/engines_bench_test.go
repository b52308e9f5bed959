package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"clusterbench/analysis"
	"clusterbench/internal/nstest"
	"clusterbench/loadgen"
	"clusterbench/results"
)

// BenchmarkEngines measures what each load generator gets out of one
// deployment (scenarios/engines.yaml: reuseport, 8 workers, keep-alive,
// maximum rate): vegeta, the wrk engine, and plain wrk, without the
// script, against `clusterbench serve` of the same deployment. Rounds
// interleave the three so that the machine's drift hits them alike.
// Targets: the wrk engine gets at least 0.90× plain wrk, and every vegeta
// trial is flagged loadgen_bound. Run it with
//
//	go test -run '^$' -bench Engines -benchtime 1x ./cmd/clusterbench
func BenchmarkEngines(b *testing.B) {
	median := func(xs []float64) float64 { return analysis.Summarize(xs).Median }
	nstest.Require(b, "the wrk engine", loadgen.WrkAvailable())
	const rounds = 3
	scenario, err := os.ReadFile(filepath.Join("..", "..", "scenarios", "engines.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	oneRep := writeFile(b, "engines.yaml", strings.Replace(string(scenario), "reps: 3", "reps: 1", 1))
	var vegeta, engine, plain []float64
	bound := 0
	for round := range rounds {
		dir := filepath.Join(b.TempDir(), fmt.Sprint(round))
		if code, stdout, stderr := runCLI(b, "run", "-o", dir, oneRep); code != exitOK {
			b.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
		}
		run, err := results.Read(dir)
		if err != nil {
			b.Fatal(err)
		}
		threads := 0
		for _, t := range run.Trials {
			switch t.Load.Engine {
			case "vegeta":
				vegeta = append(vegeta, t.ThroughputRPS)
				if t.LoadgenBound {
					bound++
				}
			case "wrk":
				engine = append(engine, t.ThroughputRPS)
				threads = t.Load.Threads
			}
		}
		// The same warm-up, threads, connections and duration, in a
		// private network namespace like a trial's.
		wrk := fmt.Sprintf("wrk -t%d -c32 -d1s $CLUSTERBENCH_URL >/dev/null && wrk -t%d -c32 -d5s $CLUSTERBENCH_URL", threads, threads)
		code, stdout, stderr := runCLI(b, "serve", "--mode", "reuseport", "--workers", "8", "--addr", "127.0.0.1:8080", "--netns", "--", "sh", "-c", wrk)
		m := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindStringSubmatch(stdout)
		if code != exitOK || m == nil {
			b.Fatalf("plain wrk: exit %d\n%s\n%s", code, stdout, stderr)
		}
		rps, _ := strconv.ParseFloat(m[1], 64)
		plain = append(plain, rps)
	}
	ratio := median(engine) / median(plain)
	b.ReportMetric(median(vegeta), "vegeta-req/s")
	b.ReportMetric(median(engine), "wrk-engine-req/s")
	b.ReportMetric(median(plain), "plain-wrk-req/s")
	b.ReportMetric(ratio, "engine/plain")
	b.Logf("rounds: vegeta %.0f, wrk engine %.0f, plain wrk %.0f; vegeta loadgen_bound in %d of %d", vegeta, engine, plain, bound, rounds)
	if ratio < 0.90 {
		b.Errorf("the wrk engine got %.2f× plain wrk; the target is at least 0.90×", ratio)
	}
	if bound != rounds {
		b.Errorf("vegeta was flagged loadgen_bound in %d of %d rounds; want all", bound, rounds)
	}
}
