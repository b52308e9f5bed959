package report

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/perf/benchfmt"

	"clusterbench/analysis"
	"clusterbench/results"
)

// BenchFileName is the Go benchmark format file inside a run directory, for
// benchstat and other tools of golang.org/x/perf.
const BenchFileName = "bench.txt"

// benchUnits are the figures of every trial line, with the direction of
// an improvement, which benchstat reads from "Unit" lines.
var benchUnits = []struct {
	unit, better string
	value        func(*results.Trial) float64
	perWorker    bool // a fairness figure, which one process does not have
}{
	{"req/s", "higher", func(t *results.Trial) float64 { return t.ThroughputRPS }, false},
	{"p50-sec", "lower", func(t *results.Trial) float64 { return t.Latency.P50 / 1e3 }, false},
	{"p99-sec", "lower", func(t *results.Trial) float64 { return t.Latency.P99 / 1e3 }, false},
	{"server-cpu-sec/op", "lower", func(t *results.Trial) float64 { return t.ServerCPUPerRequestUs / 1e6 }, false},
	{"errors/op", "lower", func(t *results.Trial) float64 { return float64(t.Errors) / float64(max(t.Requests, 1)) }, false},
	{"jain-requests", "higher", func(t *results.Trial) float64 { return t.Fairness.Requests.Jain }, true},
	{"jain-connections", "higher", func(t *results.Trial) float64 { return t.Fairness.Connections.Jain }, true},
	{"top2-connections", "lower", func(t *results.Trial) float64 { return t.Fairness.Connections.Top2Share }, true},
}

// WriteBench writes every measured trial as one result line of the Go
// benchmark format: a repetition is a sample, as with `go test -count`.
// The name carries the point as sub-benchmark keys, so benchstat can
// compare two runs and slice them by mode or condition:
//
//	Benchmarkci/mode=shared/workers=8/keepalive=off/handler=trivial/load=max-c32-2  61234  30612 req/s ...
//
// The iterations are the trial's successful requests; the trailing -2 is
// the machine's CPU count, where `go test` puts GOMAXPROCS.
func WriteBench(w io.Writer, r *results.Run) error {
	bw := benchfmt.NewWriter(w)
	for _, u := range benchUnits {
		// Written before any result, so they lead the file.
		if err := bw.Write(&benchfmt.UnitMetadata{UnitMetadataKey: benchfmt.UnitMetadataKey{Unit: u.unit, Key: "better"}, OrigUnit: u.unit, Value: u.better}); err != nil {
			return err
		}
	}
	// The keys `go test` writes, and no more: benchstat keeps results whose
	// configuration differs apart, so a key that names the run (its
	// scenario's path, its start) would keep any two runs from meeting.
	config := []benchfmt.Config{
		{Key: "goos", Value: []byte("linux"), File: true},
		{Key: "cpu", Value: []byte(r.Host.CPUModel), File: true},
	}
	for i := range r.Trials {
		t := &r.Trials[i]
		if t.Failed() {
			continue
		}
		res := &benchfmt.Result{Config: config, Name: benchfmt.Name(benchName(t, r.Host.CPUs)), Iters: int(max(t.Successes, 1))}
		for _, u := range benchUnits {
			if u.perWorker && !analysis.SharesApply(t) {
				continue // one process: no share to compare
			}
			res.Values = append(res.Values, benchfmt.Value{Value: significant(u.value(t)), Unit: u.unit})
		}
		if err := bw.Write(res); err != nil {
			return err
		}
	}
	return nil
}

// benchName is the trial's name without "Benchmark", which the writer adds.
func benchName(t *results.Trial, cpus int) string {
	// A run of two variants names each trial's, so that benchstat can set
	// them side by side: benchstat -col /variant bench.txt.
	variant := ""
	if t.Variant != "" {
		variant = "/variant=" + benchKey(t.Variant)
	}
	return fmt.Sprintf("%s/mode=%s/workers=%d/keepalive=%s/handler=%s/load=%s%s-%d",
		benchKey(t.Experiment), benchKey(t.Label()), t.Workers, onOff(t.KeepAlive), benchKey(t.Handler.Name), benchKey(t.Load.Name), variant, max(cpus, 1))
}

// significant rounds to 6 significant digits: more than any trial measures.
func significant(v float64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 6, 64), 64)
	return f
}

// benchKey keeps a name from splitting a benchmark line or its keys: a
// result is one line whose name ends at the first space, and its keys
// are split at '/' and '='. Every space, control or separator becomes '_',
// '/' and '=' become '-', and the name is bounded like a file name.
func benchKey(s string) string {
	key := strings.Map(func(r rune) rune {
		switch {
		case r == '/' || r == '=':
			return '-'
		case unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar:
			return '_'
		}
		return r
	}, strings.ToValidUTF8(s, "_"))
	return truncate(key, maxNameBytes)
}

func writeBenchFile(dir string, r *results.Run) error {
	var b bytes.Buffer
	if err := WriteBench(&b, r); err != nil {
		return fmt.Errorf("report: %s: %w", BenchFileName, err)
	}
	return results.WriteFile(filepath.Join(dir, BenchFileName), b.Bytes())
}
