package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
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
// interleave them, in alternating order, so that the machine's drift hits
// all alike, and the wrk engine is judged by its ratio to plain wrk in the
// same round. Targets: the median ratio is at least 0.90, and every vegeta
// trial is flagged loadgen_bound. Run it with
//
//	go test -run '^$' -bench Engines -benchtime 1x ./cmd/clusterbench
func BenchmarkEngines(b *testing.B) {
	median := func(xs []float64) float64 { return analysis.Summarize(xs).Median }
	nstest.Require(b, "the wrk engine", loadgen.WrkAvailable())
	const rounds = 7
	scenario, err := os.ReadFile(filepath.Join("..", "..", "scenarios", "engines.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	if !strings.Contains(string(scenario), "reps: 3") {
		b.Fatal("scenarios/engines.yaml no longer says reps: 3; each round must run it once")
	}
	oneRep := writeFile(b, "engines.yaml", strings.Replace(string(scenario), "reps: 3", "reps: 1", 1))
	var vegeta, engine, plain, ratios []float64
	bound := 0
	runScenario := func(round int) {
		dir := filepath.Join(b.TempDir(), fmt.Sprint(round))
		if code, stdout, stderr := runCLI(b, "run", "-o", dir, oneRep); code != exitOK {
			b.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
		}
		run, err := results.Read(dir)
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range run.Trials {
			switch t.Load.Engine {
			case "vegeta":
				vegeta = append(vegeta, t.ThroughputRPS)
				if t.LoadgenBound {
					bound++
				}
			case "wrk":
				engine = append(engine, t.ThroughputRPS)
			}
		}
	}
	// Plain wrk gets the same warm-up, threads (one per CPU, as the
	// engine), connections and duration, in a private network namespace
	// like a trial's.
	threads := runtime.NumCPU()
	wrk := fmt.Sprintf("wrk -t%d -c32 -d1s $CLUSTERBENCH_URL >/dev/null && wrk -t%d -c32 -d5s $CLUSTERBENCH_URL", threads, threads)
	runPlain := func() {
		code, stdout, stderr := runCLI(b, "serve", "--mode", "reuseport", "--workers", "8", "--addr", "127.0.0.1:8080", "--netns", "--", "sh", "-c", wrk)
		m := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindStringSubmatch(stdout)
		if code != exitOK || m == nil {
			b.Fatalf("plain wrk: exit %d\n%s\n%s", code, stdout, stderr)
		}
		rps, _ := strconv.ParseFloat(m[1], 64)
		plain = append(plain, rps)
	}
	for round := range rounds {
		if round%2 == 0 {
			runScenario(round)
			runPlain()
		} else {
			runPlain()
			runScenario(round)
		}
		ratios = append(ratios, engine[round]/plain[round])
	}
	ratio := median(ratios)
	b.ReportMetric(median(vegeta), "vegeta-req/s")
	b.ReportMetric(median(engine), "wrk-engine-req/s")
	b.ReportMetric(median(plain), "plain-wrk-req/s")
	b.ReportMetric(ratio, "engine/plain")
	b.Logf("rounds: vegeta %.0f, wrk engine %.0f, plain wrk %.0f, engine/plain %.2f; vegeta loadgen_bound in %d of %d", vegeta, engine, plain, ratios, bound, rounds)
	if ratio < 0.90 {
		b.Errorf("the wrk engine got %.2f× plain wrk; the target is at least 0.90×", ratio)
	}
	if bound != rounds {
		b.Errorf("vegeta was flagged loadgen_bound in %d of %d rounds; want all", bound, rounds)
	}
}
