package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"clusterbench/compare"
)

// appScenario is a small benchmark of one app whose handler costs cpu per
// request, gated like a CI job on one machine: the server's CPU per
// request (which a busy machine hardly moves), throughput and errors.
func appScenario(t *testing.T, cpu string) string {
	return writeFile(t, "app.yaml", fmt.Sprintf(`name: app
compare: {gate: [cpu_per_request, throughput, errors]}
experiments:
  - name: app
    modes: [reuseport]
    workers: 2
    keepalive: true
    handler: {name: app, cpu: %s}
    load: {rate: 0, concurrency: 8, duration: 1500ms, warmup: 300ms}
    reps: 6
`, cpu))
}

func runScenario(t *testing.T, file string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	if code, stdout, stderr := runCLI(t, "run", "-o", dir, file); code != exitOK {
		t.Fatalf("run %s: exit code %d\nstdout: %s\nstderr: %s", file, code, stdout, stderr)
	}
	return dir
}

// TestCompareCatchesASlowerWorker measures for real: the same build
// twice, then a worker whose handler does 25% more CPU work per request,
// as a change that slowed the app down would.
func TestCompareCatchesASlowerWorker(t *testing.T) {
	base := runScenario(t, appScenario(t, "2ms"))
	again := runScenario(t, appScenario(t, "2ms"))
	slower := runScenario(t, appScenario(t, "2500us"))

	code, stdout, stderr := runCLI(t, "compare", base, again)
	if code != exitOK || !strings.Contains(stdout, "no regression") {
		t.Errorf("the same build twice: exit code %d, want 0\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}

	md, js := filepath.Join(t.TempDir(), "compare.md"), filepath.Join(t.TempDir(), "compare.json")
	code, stdout, stderr = runCLI(t, "compare", "--export-markdown", md, "--export-json", js, base, slower)
	if code != exitRegression {
		t.Fatalf("a 25%% slower handler: exit code %d, want %d\nstdout: %s\nstderr: %s", code, exitRegression, stdout, stderr)
	}
	if !strings.Contains(stdout, "regression") || !strings.Contains(stdout, "handler app differs: cpu 2000µs") {
		t.Errorf("stdout names neither the regression nor the changed handler:\n%s", stdout)
	}
	var verdict compare.Verdict
	data, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &verdict); err != nil {
		t.Fatalf("--export-json: %v", err)
	}
	for _, row := range verdict.Rows {
		t.Logf("%s: %v → %v (%+.1f%%), p=%.4f: %s", row.Metric, row.Base.Values, row.Head.Values, 100*float64(row.Change), float64(row.P), row.Outcome)
		if row.Metric == "cpu_per_request" && (row.Outcome != compare.Regression || row.Change < 0.10 || row.Head.N != 6) {
			t.Errorf("cpu_per_request: verdict %q, change %v, n %d; want a regression beyond +10%% over 6 repetitions", row.Outcome, row.Change, row.Head.N)
		}
	}
	markdown, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(markdown), "## clusterbench compare: ❌") || !strings.Contains(string(markdown), "| cpu_per_request | app") {
		t.Errorf("--export-markdown:\n%s", markdown)
	}

	// benchstat, the Go tool, reads what run wrote and sees the slowdown.
	cmd := exec.Command("go", "tool", "benchstat", filepath.Join(base, "bench.txt"), filepath.Join(slower, "bench.txt"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("benchstat: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "app/mode=reuseport/workers=2/keepalive=on/handler=app/load=max-c8") {
		t.Errorf("benchstat does not name the point:\n%s", out)
	}
	// The row of the server-cpu-sec/op table: "… 1.29m ± 11%  1.51m ± 9%  +16.55% (p=0.004 n=6)".
	row := regexp.MustCompile(`server-cpu-sec/op[^\n]*\n[^\n]*app/mode=[^\n]* \+([0-9.]+)% \(p=([0-9.]+) n=6\)`).FindSubmatch(out)
	if row == nil {
		t.Fatalf("benchstat shows no increase of server-cpu-sec/op:\n%s", out)
	}
	if p, _ := strconv.ParseFloat(string(row[2]), 64); p >= 0.01 {
		t.Errorf("benchstat: server-cpu-sec/op +%s%% at p=%v, want p < 0.01", row[1], p)
	}
}

func TestCompareBadInput(t *testing.T) {
	good := filepath.Join("..", "..", "report", "testdata", "results.json")
	truncated := writeFile(t, "truncated.json", `{"schema": 1, "trials": [`)
	oldSchema := writeFile(t, "old.json", `{"schema": 0, "trials": []}`)
	other, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	renamed := writeFile(t, "renamed.json", strings.ReplaceAll(string(other), `"experiment": "`, `"experiment": "renamed-`))
	tests := []struct {
		name     string
		args     []string
		inStderr string
	}{
		// One run is judged within itself, head against base: it needs both.
		{"one run without variants", []string{good}, "nothing to compare: " + good + ": the run has no variants"},
		{"three arguments", []string{good, good, good}, "want BASE and HEAD, or one run with variants, got 3"},
		{"missing file", []string{good, "/nonexistent/results.json"}, "HEAD: results: open /nonexistent/results.json"},
		{"truncated", []string{truncated, good}, "BASE: results: " + truncated + ": unexpected end of JSON input"},
		{"another schema", []string{good, oldSchema}, "schema 0, this clusterbench reads schemas 1 to 2"},
		{"nothing in common", []string{good, renamed}, "nothing to compare: no trial point of"},
		{"unknown metric", []string{"--gate", "speed", good, good}, `gate: unknown metric "speed"`},
		{"bad threshold", []string{"--threshold", "p99=lots", good, good}, `--threshold p99: threshold "lots" is not a number`},
		{"threshold without value", []string{"--threshold", "p99", good, good}, "want METRIC=VALUE"},
		{"reference not run", []string{"--gate", "throughput_vs_ref", "--reference", "haproxy", good, good}, "the reference mode haproxy:roundrobin did not run"},
		{"bad confidence", []string{"--confidence", "95", good, good}, "--confidence: must be between 0 and 1"},
		{"JSON into a missing directory", []string{"--export-json", "/nonexistent/compare.json", good, good}, "open /nonexistent/compare.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := filepath.Join(t.TempDir(), "compare.md")
			code, stdout, stderr := runCLI(t, append([]string{"compare", "--export-markdown", md}, tt.args...)...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d\nstdout: %s", code, exitUsage, stdout)
			}
			if !strings.Contains(stderr, tt.inStderr) {
				t.Errorf("stderr %q; want it to contain %q", stderr, tt.inStderr)
			}
			if _, err := os.Stat(md); err == nil || stdout != "" {
				t.Errorf("bad input still wrote output: stdout %q", stdout)
			}
		})
	}
	// The same record against itself: nothing changed, exit 0.
	if code, stdout, stderr := runCLI(t, "compare", good, good); code != exitOK || !strings.Contains(stdout, "no regression") {
		t.Errorf("a run against itself: exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}
