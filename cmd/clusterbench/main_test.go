package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"clusterbench/internal/leakcheck"
	"clusterbench/internal/netns"
	"clusterbench/modes"
	"clusterbench/report"
	"clusterbench/results"
)

// TestMain makes the test binary act as clusterbench when re-run, so that
// run and serve start real child processes of this very code.
func TestMain(m *testing.M) {
	if n := os.Getenv("CLUSTERBENCH_TEST_CLIENT"); n != "" && os.Getenv("CLUSTERBENCH_URL") != "" {
		os.Exit(testClient(n))
	}
	if os.Getenv("CLUSTERBENCH_TEST_MAIN") == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Setenv("CLUSTERBENCH_TEST_MAIN", "1")
	os.Exit(m.Run())
}

func runCLI(t testing.TB, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExitCodes(t *testing.T) {
	bad := writeFile(t, "bad.yaml", "experiments:\n  - modes: [shared]\n    workers: 0\n")
	tests := []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"no command", nil, exitUsage, "no command given"},
		{"unknown command", []string{"fly"}, exitUsage, `unknown command "fly"`},
		{"help", []string{"help"}, exitOK, ""},
		{"run help", []string{"run", "--help"}, exitOK, "Usage: clusterbench run"},
		{"unknown flag", []string{"run", "--nope"}, exitUsage, "flag provided but not defined: -nope"},
		{"run with nothing", []string{"run"}, exitUsage, "give a scenario file, or --mode"},
		{"bad scenario", []string{"run", bad}, exitUsage, bad + ":3: workers: must be at least 1, got 0"},
		{"missing scenario", []string{"run", "/nonexistent/x.yaml"}, exitUsage, "/nonexistent/x.yaml: open"},
		{"file and flags", []string{"run", "--workers", "2", bad}, exitUsage, "not both"},
		{"flags after the file", []string{"run", bad, "--workers", "2"}, exitUsage, "not both"},
		{"two files", []string{"run", bad, bad}, exitUsage, "want at most one scenario file, got 2"},
		{"modes with an argument", []string{"modes", "x"}, exitUsage, `unexpected argument "x"`},
		{"zero workers flag", []string{"run", "--mode", "shared", "--workers", "0"}, exitUsage, "workers: must be at least 1, got 0"},
		{"negative rate flag", []string{"run", "--mode", "shared", "--rate", "-5"}, exitUsage, "rate: must be at least 0, got -5"},
		{"unknown mode flag", []string{"run", "--mode", "shared,warp"}, exitUsage, `unknown mode "warp"`},
		{"bad keepalive flag", []string{"run", "--mode", "shared", "--keepalive=maybe"}, exitUsage, `"maybe" is not true or false`},
		{"serve without mode", []string{"serve"}, exitUsage, "--mode is required"},
		{"serve iptables without a command", []string{"serve", "--mode", "iptables"}, exitUsage, "serves only in a private network namespace"},
		{"serve netns without a command", []string{"serve", "--mode", "shared", "--netns"}, exitUsage, "--netns needs a command after --"},
		{"serve with a missing command", []string{"serve", "--mode", "shared", "--", "no-such-load-tool"}, exitUsage, `"no-such-load-tool": executable file not found`},
		{"serve argument without --", []string{"serve", "--mode", "shared", "wrk"}, exitUsage, "goes after --"},
		{"required mode not run", []string{"run", "--mode", "shared", "--require", "iptables"}, exitUsage, "required: iptables is not among the experiment's modes"},
		{"netns not a bool", []string{"run", "--mode", "shared", "--netns=perhaps"}, exitUsage, "invalid boolean value"},
		{"serve unknown mode", []string{"serve", "--mode", "warp"}, exitUsage, `unknown mode "warp"`},
		{"serve unknown policy", []string{"serve", "--mode", "roundrobin:fastest"}, exitUsage, `mode "roundrobin" has no policy "fastest" (known: free, rotate)`},
		{"run policy of a mode without", []string{"run", "--mode", "single:free"}, exitUsage, `mode "single" has no policies`},
		{"run an app under an accept policy", []string{"run", "--mode", "shared,shared:blocking", "--worker-command", "sh app.sh"}, exitUsage,
			"shared:blocking steers how the Go worker accepts, which your app does its own way; run it under shared:race"},
		{"profile with a file is fine, bad file is not", []string{"run", "--profile", bad}, exitUsage, bad + ":3:"},
		{"serve zero workers", []string{"serve", "--mode", "shared", "--workers", "0"}, exitUsage, "serve: workers: must be at least 1"},
		{"serve negative cpu", []string{"serve", "--mode", "shared", "--handler-cpu", "-1ms"}, exitUsage, "handler-cpu: must be at least 0"},
		{"unknown load generator", []string{"run", "--mode", "shared", "--loadgen", "siege"}, exitUsage, `loadgen: unknown load generator "siege" (known: vegeta, wrk)`},
		{"wrk at a rate", []string{"run", "--mode", "shared", "--loadgen", "wrk", "--rate", "100"}, exitUsage, "wrk drives a closed loop only"},
		{"wrk for part of a second", []string{"run", "--mode", "shared", "--loadgen", "wrk", "--duration", "1500ms"}, exitUsage, "wrk runs for whole seconds, got a duration of 1.5s"},
		{"cpus overlap", []string{"run", "--mode", "shared", "--loadgen-cpus", "0", "--server-cpus", "0"}, exitUsage, "cpus: loadgen (0) and server (0) share CPUs"},
		{"cpus half given", []string{"run", "--mode", "shared", "--loadgen-cpus", "0"}, exitUsage, "cpus: server is required"},
		{"serve on a missing CPU", []string{"serve", "--mode", "shared", "--cpus", "1000"}, exitUsage, "serve: cpus: CPU 1000 is not on this machine"},
		{"absurd worker count", []string{"run", "--mode", "shared", "--workers", "100000"}, exitUsage, "workers: must be at most 1024, got 100000"},
		{"absurd duration", []string{"run", "--mode", "shared", "--duration", "1000h"}, exitUsage, "duration: must be at most 1h0m0s, got 1000h0m0s"},
		{"absurd rate", []string{"run", "--mode", "shared", "--rate", "100000000"}, exitUsage, "rate: must be at most 1000000, got 100000000"},
		{"serve absurd worker count", []string{"serve", "--mode", "shared", "--workers", "5000"}, exitUsage, "serve: workers: must be at most 1024, got 5000"},
		{"kill more workers than run", []string{"run", "--mode", "shared", "--workers", "2", "--kill-workers", "3", "--kill-at", "1s"}, exitUsage, "fault: kills 3 workers, but a trial runs only 2"},
		{"kill after the load", []string{"run", "--mode", "shared", "--duration", "2s", "--kill-workers", "all", "--kill-at", "3s"}, exitUsage, "fault: at 3s is not within load max-c32's measured 2s"},
		{"kill-at alone", []string{"run", "--mode", "shared", "--kill-at", "1s"}, exitUsage, "describe a fault: give --kill-workers too"},
		{"respawn alone", []string{"run", "--mode", "shared", "--respawn=false"}, exitUsage, "describe a fault: give --kill-workers too"},
		{"kill with wrk", []string{"run", "--mode", "shared", "--loadgen", "wrk", "--kill-workers", "1", "--kill-at", "1s"}, exitUsage, "wrk cannot measure a fault"},
		{"kill by an unknown signal", []string{"run", "--mode", "shared", "--kill-workers", "1", "--kill-signal", "STOP"}, exitUsage, `kill-signal: "STOP" is not one of`},
		{"serve kills some", []string{"serve", "--mode", "shared", "--kill-workers", "some"}, exitUsage, `--kill-workers: "some" is not a number of workers or "all"`},
		{"serve kill-at alone", []string{"serve", "--mode", "shared", "--kill-at", "1s"}, exitUsage, "--kill-at needs --kill-workers"},
		{"report without dir", []string{"report"}, exitUsage, "want one run directory"},
		{"report of nothing", []string{"report", t.TempDir()}, exitUsage, "results.json"},
		{"modes", []string{"modes"}, exitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := tt.args
			if len(args) > 0 && args[0] == "run" {
				args = append([]string{"run", "-o", out}, args[1:]...)
			}
			code, _, stderr := runCLI(t, args...)
			if code != tt.code {
				t.Errorf("exit code %d; want %d (stderr: %s)", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.inStderr) {
				t.Errorf("stderr %q; want it to contain %q", stderr, tt.inStderr)
			}
			if _, err := os.Stat(out); tt.code == exitUsage && err == nil {
				t.Errorf("bad input still created the output directory %s", out)
			}
		})
	}
}

func TestModesListsAvailability(t *testing.T) {
	code, stdout, _ := runCLI(t, "modes")
	if code != exitOK {
		t.Fatalf("exit code %d", code)
	}
	for _, want := range []string{"shared", "reuseport", "roundrobin", "free (default), rotate", "race (default), exclusive", "yes"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("modes output lacks %q:\n%s", want, stdout)
		}
	}
}

// TestRunEndToEnd runs both modes with real worker processes and checks the
// results.json contract, that shares sum to 1 and that both sides agree.
func TestRunEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	checkFDs := leakcheck.FDs(t)
	code, stdout, stderr := runCLI(t, "run", "-o", dir, "--mode", "shared,reuseport,roundrobin", "--workers", "4",
		"--keepalive=false,true", "--duration", "700ms", "--warmup", "200ms", "--concurrency", "8", "--profile")
	if code != exitOK {
		t.Fatalf("exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}

	checkFDs() // the tool itself keeps nothing open from its trials

	// The contract, read as plain JSON so that renamed fields are caught.
	raw, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["schema"] != float64(results.Schema) || doc["complete"] != true {
		t.Errorf("schema %v complete %v; want %d and true", doc["schema"], doc["complete"], results.Schema)
	}
	trials, _ := doc["trials"].([]any)
	if len(trials) != 6 {
		t.Fatalf("%d trials; want 6 (3 modes × keep-alive on/off)", len(trials))
	}
	for _, tr := range trials {
		trial := tr.(map[string]any)
		for _, key := range []string{"mode", "workers", "keepalive", "throughput_rps", "requests", "errors", "latency_ms", "per_worker", "fairness",
			"cpu", "server_cpu_us_per_request", "loadgen_bound", "loadgen_peak_rss_bytes", "latency_histogram"} {
			if _, ok := trial[key]; !ok {
				t.Errorf("trial lacks %q", key)
			}
		}
		for _, key := range []string{"loadgen_seconds", "master_seconds", "proxy_seconds", "workers_seconds"} {
			if _, ok := trial["cpu"].(map[string]any)[key]; !ok {
				t.Errorf("cpu lacks %q", key)
			}
		}
		fairness := trial["fairness"].(map[string]any)
		for _, side := range []string{"requests", "connections"} {
			f := fairness[side].(map[string]any)
			for _, key := range []string{"jain", "top2_share", "max_share", "min_share"} {
				if _, ok := f[key]; !ok {
					t.Errorf("fairness.%s lacks %q", side, key)
				}
			}
		}
		for _, w := range trial["per_worker"].([]any) {
			for _, key := range []string{"requests", "connections", "worker_requests", "worker_connections"} {
				if _, ok := w.(map[string]any)[key]; !ok {
					t.Errorf("per_worker entry lacks %q", key)
				}
			}
		}
		if p99 := trial["latency_ms"].(map[string]any)["p99"]; p99 == nil {
			t.Error("latency_ms lacks p99")
		}
	}

	run, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The conditions: the machine, and the programs of these trials alone
	// (vegeta, linked in: a go test binary does not know its version;
	// TestRunRecordsConditions checks a built one's).
	if h := run.Host; h.MemoryBytes == 0 || h.Tool == "" || len(h.Programs) != 1 || h.Programs["vegeta"] == "" {
		t.Errorf("host %+v; want its memory, the tool's version and vegeta's alone", h)
	}
	if want := "clusterbench run -o " + dir + " --mode shared,reuseport,roundrobin --workers 4"; !strings.HasPrefix(run.ScenarioText, want) {
		t.Errorf("scenario text %q; want the command line, %q…", run.ScenarioText, want)
	}
	for i, tr := range run.Trials {
		name := fmt.Sprintf("%s keep-alive=%v", tr.Mode, tr.KeepAlive)
		if tr.Failed() || tr.Requests == 0 || tr.Errors != 0 {
			t.Errorf("%s: error %q, %d requests, %d errors", name, tr.Error, tr.Requests, tr.Errors)
		}
		if !tr.CountsAgree || len(tr.Mismatches) > 0 {
			t.Errorf("%s: client and worker counts disagree: %v", name, tr.Mismatches)
		}
		if tr.ServerCPUPerRequestUs <= 0 {
			t.Errorf("%s: server CPU per request %v µs, want it measured", name, tr.ServerCPUPerRequestUs)
		}
		if h, err := tr.LatencyDistribution(); err != nil || h == nil || uint64(h.TotalCount()) != tr.Successes {
			t.Errorf("%s: latency histogram %v (%v); want one of the %d successes", name, h, err, tr.Successes)
		}
		if isolated := netns.Available() == nil; tr.NetNS != isolated {
			t.Errorf("%s: ran in a private namespace: %v; want %v (%s)", name, tr.NetNS, isolated, run.Host.Isolation)
		}
		var reqShare, connShare float64
		var sum uint64
		for i, w := range tr.PerWorker {
			reqShare += float64(w.Requests) / float64(tr.Successes)
			sum += w.Requests
			if w.PID == 0 || w.Index != i {
				t.Errorf("%s: per_worker[%d] = %+v; want index %d and a pid", name, i, w, i)
			}
		}
		var conns uint64
		for _, w := range tr.PerWorker {
			conns += w.Connections
		}
		for _, w := range tr.PerWorker {
			connShare += float64(w.Connections) / float64(conns)
		}
		if math.Abs(reqShare-1) > 1e-9 || math.Abs(connShare-1) > 1e-9 || sum != tr.Successes {
			t.Errorf("%s: request shares sum to %v, connection shares to %v; want 1", name, reqShare, connShare)
		}
		if !tr.KeepAlive && conns != tr.Successes {
			t.Errorf("%s: %d connections for %d requests without keep-alive", name, conns, tr.Successes)
		}
		if j := tr.Fairness.Requests.Jain; j < 0.25 || j > 1 {
			t.Errorf("%s: Jain %v outside [1/N, 1]", name, j)
		}
		if tr.CPU.ServingSeconds < 0.7 || tr.CPU.ServingSeconds > 2 || tr.CPU.WorkersSeconds <= 0 || tr.CPU.LoadgenSeconds <= 0 {
			t.Errorf("%s: cpu %+v; want the measured 0.7s and the workers' and load generator's CPU", name, tr.CPU)
		}
		if tr.LoadgenPeakRSSBytes == 0 {
			t.Errorf("%s: the load generator's peak memory is not measured", name)
		}
		for _, w := range tr.PerWorker {
			// Measured from /proc while measuring, against the kernel's
			// account at reaping over the process's whole life, give or
			// take the two ticks /proc rounds away. (A worker may use none
			// while measuring: a shared socket with keep-alive can leave it
			// without a connection.)
			if w.CPUSeconds < 0 || w.LifetimeCPUSeconds <= 0 || w.CPUSeconds > w.LifetimeCPUSeconds+0.021 {
				t.Errorf("%s: worker %d used %vs CPU while measuring and %vs over its life", name, w.Index, w.CPUSeconds, w.LifetimeCPUSeconds)
			}
		}
		if tr.Mode == "roundrobin" {
			// The master handed over every connection the client opened,
			// warm-up included, and its work while measuring is measured:
			// there is some without keep-alive, when every request is a
			// new connection, and next to none with it.
			if tr.Policy != "free" || tr.Frontend["handed"] < tr.ClientDials || (!tr.KeepAlive && tr.CPU.MasterSeconds <= 0) {
				t.Errorf("%s: policy %q, master cpu %v, master counts %v for %d client dials", name, tr.Policy, tr.CPU.MasterSeconds, tr.Frontend, tr.ClientDials)
			}
			profile := filepath.Join(dir, "profiles", fmt.Sprintf("%03d-roundrobin-free.pprof", i+1))
			if st, err := os.Stat(profile); err != nil || st.Size() == 0 {
				t.Errorf("%s: no CPU profile of the master: %v", name, err)
			}
		}
	}

	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| shared", "| reuseport", "| roundrobin:free", "Jain conn", "server CPU µs/req", "CPU cores loadgen/master/proxy/workers",
		"## Conditions", "## Findings", "- CPU placement: none"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	plots := report.Plots(run)
	if len(plots) != 5 {
		t.Errorf("%d plots; want throughput, share, latency, CPU and CPU per request", len(plots))
	}
	pngs := map[string][]byte{}
	for _, p := range plots {
		data, err := os.ReadFile(filepath.Join(dir, p.File))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(bytes.NewReader(data)); err != nil {
			t.Errorf("%s: %v", p.File, err)
		}
		if !bytes.Contains(md, []byte("("+p.File+")")) {
			t.Errorf("report.md does not show %s", p.File)
		}
		pngs[p.File] = data
		os.Remove(filepath.Join(dir, p.File))
	}
	// After the progress lines, the answer comes first, and everything
	// fits 120 columns but the line naming the files, whose length is
	// the directory's.
	var after []string
	for _, l := range strings.Split(stdout, "\n") {
		if l != "" && !strings.HasPrefix(l, "[") {
			after = append(after, l)
		}
	}
	if len(after) == 0 || after[0] != "answer:" {
		t.Errorf("the terminal does not show the answer first after the progress:\n%s", stdout)
	}
	for _, l := range after {
		if n := utf8.RuneCountInString(l); n > 120 && !strings.HasPrefix(l, "wrote ") {
			t.Errorf("a line of %d columns, wider than 120: %q", n, l)
		}
	}
	// bench.txt: one Go benchmark line per trial, re-rendered below too.
	bench, err := os.ReadFile(filepath.Join(dir, report.BenchFileName))
	if err != nil {
		t.Fatal(err)
	}
	if lines := regexp.MustCompile(`(?m)^Benchmarkflags/mode=\S+-\d+ \d+ .* req/s `).FindAll(bench, -1); len(lines) != len(run.Trials) {
		t.Errorf("%s has %d result lines, want one per trial (%d):\n%s", report.BenchFileName, len(lines), len(run.Trials), bench)
	}
	pngs[report.BenchFileName] = bench
	os.Remove(filepath.Join(dir, report.BenchFileName))

	// report re-renders the same Markdown, HTML, plots and bench.txt from results.json alone.
	page, err := os.ReadFile(filepath.Join(dir, report.HTMLFileName))
	if err != nil || !bytes.Contains(page, []byte(`<img src="data:image/png;base64,`)) {
		t.Errorf("run wrote no report.html with its plots inlined (err %v)", err)
	}
	os.Remove(filepath.Join(dir, "report.md"))
	os.Remove(filepath.Join(dir, report.HTMLFileName))
	if code, _, stderr := runCLI(t, "report", dir); code != exitOK {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	again, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil || !bytes.Equal(again, md) {
		t.Errorf("re-rendered report differs from the original (err %v)", err)
	}
	if again, err := os.ReadFile(filepath.Join(dir, report.HTMLFileName)); err != nil || !bytes.Equal(again, page) {
		t.Errorf("re-rendered report.html differs from the original (err %v)", err)
	}
	for name, data := range pngs {
		if again, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(again, data) {
			t.Errorf("re-rendered %s differs from the original (err %v)", name, err)
		}
	}
}

// marked lists processes carrying this test's mark in their environment:
// everything a run started, however deep.
func marked(t *testing.T, mark string) []int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err == nil && bytes.Contains(env, []byte("CLUSTERBENCH_TEST_MARK="+mark+"\x00")) {
			if stat, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil && !bytes.Contains(stat, []byte(") Z ")) {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// eventuallyNone waits briefly for marked processes to go; Pdeathsig and
// SIGKILL are asynchronous.
func eventuallyNone(t *testing.T, mark string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if len(marked(t, mark)) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("processes left behind: %v", marked(t, mark))
}

// startTool starts the tool as a real child process, the way a user would.
func startTool(t *testing.T, mark string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "CLUSTERBENCH_TEST_MARK="+mark)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, &stdout, &stderr
}

// waitForTrials waits until the run directory holds n finished trials.
func waitForTrials(t *testing.T, dir string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := results.Read(dir); err == nil && len(r.Trials) >= n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %d finished trials in %s", n, dir)
}

// TestInterruptKeepsFinishedTrialsAndLeavesNothing interrupts a run in a
// trial of every mode and policy, new ones too, with each of the signals
// that stop a run in turn.
func TestInterruptKeepsFinishedTrialsAndLeavesNothing(t *testing.T) {
	signals := []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}
	for i, spec := range modes.Specs() {
		second, sig := spec.String(), signals[i%len(signals)]
		t.Run(second+"/"+sig.String(), func(t *testing.T) { testInterrupt(t, second, sig) })
	}
}

// testInterrupt interrupts a run with sig in its second trial, of mode
// second, and renders the partial run with `report`.
func testInterrupt(t *testing.T, second string, sig os.Signal) {
	requireMode(t, second)
	before := hostNAT(t)
	mark := strconv.FormatInt(time.Now().UnixNano(), 36)
	dir := filepath.Join(t.TempDir(), "run")
	cmd, stdout, stderr := startTool(t, mark, "run", "-o", dir, "--mode", "roundrobin,"+second, "--workers", "4",
		"--duration", "1s", "--warmup", "100ms", "--reps", "20")
	waitForTrials(t, dir, 1)
	time.Sleep(300 * time.Millisecond) // into the second trial
	if len(marked(t, mark)) < 2 {
		t.Fatalf("expected a running deployment, found processes %v", marked(t, mark))
	}
	namespaces := namespacesOf(t, marked(t, mark))
	cmd.Process.Signal(sig)
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitFailed {
		t.Errorf("exit code %d after Ctrl-C; want %d (%v)\nstdout: %s\nstderr: %s", code, exitFailed, err, stdout, stderr)
	}
	eventuallyNone(t, mark)
	if len(namespaces) != 1 {
		t.Errorf("trial processes in namespaces %v; want one private namespace", namespaces)
	}
	eventuallyEmpty(t, namespaces)
	if after := hostNAT(t); after != before {
		t.Errorf("host nat table changed:\n%s\nwas:\n%s", after, before)
	}
	noProxyFiles(t)
	r, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Complete || len(r.Trials) == 0 || len(r.Trials) >= 40 {
		t.Errorf("after Ctrl-C: complete=%v with %d trials; want a partial run with the finished trials", r.Complete, len(r.Trials))
	}
	for _, tr := range r.Trials {
		if tr.Failed() || tr.Successes == 0 || !tr.CountsAgree {
			t.Errorf("an unfinished trial was recorded: %+v", tr)
		}
	}
	// `report` renders the partial run again from results.json alone.
	if err := os.Remove(filepath.Join(dir, "report.md")); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "report", dir); code != exitOK {
		t.Fatalf("report of a partial run: exit code %d: %s", code, stderr)
	}
	report, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil || !bytes.Contains(report, []byte("Partial run")) || !bytes.Contains(report, []byte("| roundrobin:free ")) {
		t.Errorf("report.md of an interrupted run is not marked partial, or lacks its finished trial (err %v):\n%s", err, report)
	}
}

// TestSecondInterruptStopsAtOnce: a second Ctrl-C does not wait for the
// trial to stop its deployment, yet nothing is left behind.
func TestSecondInterruptStopsAtOnce(t *testing.T) {
	requireNetns(t)
	mark := strconv.FormatInt(time.Now().UnixNano(), 36)
	dir := filepath.Join(t.TempDir(), "run")
	tmp := tempEntries(t)
	cmd, _, _ := startTool(t, mark, "run", "-o", dir, "--mode", "shared", "--workers", "4", "--duration", "30s", "--warmup", "0s",
		"--handler-sleep", "20s", "--timeout", "30s") // requests that hold the deployment's graceful stop for 10s
	waitForDeployment(t, mark, 7) // tool, trial, serve, 4 workers
	time.Sleep(300 * time.Millisecond)
	namespaces := namespacesOf(t, marked(t, mark))
	cmd.Process.Signal(os.Interrupt)
	time.Sleep(200 * time.Millisecond)
	started := time.Now()
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if took := time.Since(started); took > 2*time.Second {
		t.Errorf("the tool took %v to stop after a second Ctrl-C", took)
	}
	eventuallyNone(t, mark)
	eventuallyEmpty(t, namespaces)
	noNewTempEntries(t, tmp, dir)
}

// waitForDeployment waits until n processes carry the mark.
func waitForDeployment(t *testing.T, mark string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(marked(t, mark)) < n && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := len(marked(t, mark)); got < n {
		t.Fatalf("deployment never came up: %d processes; want %d", got, n)
	}
}

// tempEntries lists the temporary directory, to find what a run left there.
func tempEntries(t *testing.T) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	return names
}

// noNewTempEntries fails if the temporary directory has entries that were
// not in before, or the run directory a half-written file.
func noNewTempEntries(t *testing.T, before map[string]bool, runDir string) {
	t.Helper()
	for name := range tempEntries(t) {
		if !before[name] {
			t.Errorf("%s left in %s", name, os.TempDir())
		}
	}
	if leftovers, _ := filepath.Glob(filepath.Join(runDir, ".tmp-*")); len(leftovers) > 0 {
		t.Errorf("temporary files left in the run directory: %v", leftovers)
	}
}

// TestKilledToolLeavesNothing kills the tool mid-trial: no process, no
// private namespace and no firewall rule may outlive it.
func TestKilledToolLeavesNothing(t *testing.T) {
	requireNetns(t)
	for _, spec := range modes.Specs() { // every mode and policy, new ones too
		mode := spec.String()
		t.Run(mode, func(t *testing.T) {
			requireMode(t, mode)
			before, migrate := hostNAT(t), hostMigrateSetting(t)
			mark := strconv.FormatInt(time.Now().UnixNano(), 36)
			dir := filepath.Join(t.TempDir(), "run")
			tmp := tempEntries(t)
			cmd, _, _ := startTool(t, mark, "run", "-o", dir, "--mode", mode, "--workers", "4", "--duration", "30s", "--warmup", "0s")
			waitForDeployment(t, mark, 3+spec.Mode.Info().Processes(4)) // tool, trial, serve, the worker processes
			time.Sleep(300 * time.Millisecond)                          // under load
			namespaces := namespacesOf(t, marked(t, mark))
			if len(namespaces) != 1 {
				t.Fatalf("trial processes in namespaces %v; want one private namespace", namespaces)
			}
			cmd.Process.Kill()
			cmd.Wait()
			eventuallyNone(t, mark)
			eventuallyEmpty(t, namespaces)
			if after := hostNAT(t); after != before {
				t.Errorf("host nat table changed:\n%s\nwas:\n%s", after, before)
			}
			if after := hostMigrateSetting(t); after != migrate {
				t.Errorf("host tcp_migrate_req changed from %s to %s", migrate, after)
			}
			noProxyFiles(t)
			noNewTempEntries(t, tmp, dir)
		})
	}
}

// TestServeCountsAndJSON points a plain HTTP client at `serve`, as a user
// would with curl or wrk, and checks the JSON it prints when stopped.
func TestServeCountsAndJSON(t *testing.T) {
	for _, mode := range []string{"reuseport", "roundrobin:rotate"} {
		t.Run(mode, func(t *testing.T) { testServe(t, mode) })
	}
}

func testServe(t *testing.T, mode string) {
	mark := strconv.FormatInt(time.Now().UnixNano(), 36)
	cmd := exec.Command(os.Args[0], "serve", "--mode", mode, "--workers", "3", "--addr", "127.0.0.1:0", "--json")
	cmd.Env = append(os.Environ(), "CLUSTERBENCH_TEST_MARK="+mark)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	errPipe, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(errPipe).ReadString('\n')
	if err != nil {
		t.Fatalf("no startup line: %v", err)
	}
	m := regexp.MustCompile(`on http://(\S+)/`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("startup line %q names no address", line)
	}
	go io.Copy(io.Discard, errPipe)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	const requests = 30
	for range requests {
		resp, err := client.Get("http://" + m[1] + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	var rep struct {
		Mode, Policy string
		Workers      []struct {
			Index, PID            int
			Requests, Connections uint64
		}
		Frontend         map[string]uint64
		MasterCPUSeconds float64 `json:"master_cpu_seconds"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("serve --json printed %q: %v", stdout.String(), err)
	}
	var total, conns uint64
	for i, w := range rep.Workers {
		if w.Index != i || w.PID == 0 {
			t.Errorf("worker entry %d = %+v; want its index and pid", i, w)
		}
		total += w.Requests
		conns += w.Connections
	}
	if len(rep.Workers) != 3 || total != requests || conns != requests {
		t.Errorf("%d workers served %d requests on %d connections; want 3 workers, %d each", len(rep.Workers), total, conns, requests)
	}
	if mode == "roundrobin:rotate" {
		if rep.Mode != "roundrobin" || rep.Policy != "rotate" || rep.Frontend["accepted"] != requests || rep.MasterCPUSeconds <= 0 {
			t.Errorf("mode %q policy %q, master counted %v with %vs CPU; want %d accepted", rep.Mode, rep.Policy, rep.Frontend, rep.MasterCPUSeconds, requests)
		}
		for _, w := range rep.Workers {
			if w.Requests != requests/3 {
				t.Errorf("worker %d served %d; strict rotation gives each %d", w.Index, w.Requests, requests/3)
			}
		}
	}
	eventuallyNone(t, mark)
}

// TestRunFileThenOutput runs the form the documentation uses:
// `clusterbench run FILE -o DIR`, flags after the file.
func TestRunFileThenOutput(t *testing.T) {
	file := writeFile(t, "tiny.yaml", "experiments:\n  - modes: [shared]\n    workers: 2\n    load: {duration: 300ms, warmup: 0s, concurrency: 2}\n")
	dir := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runCLI(t, "run", file, "-o", dir)
	if code != exitOK {
		t.Fatalf("exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	r, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Scenario != file || len(r.Trials) != 1 || !r.Trials[0].CountsAgree || r.Trials[0].Successes == 0 {
		t.Errorf("run of %s gave %+v", file, r)
	}
	if text, err := os.ReadFile(file); err != nil || r.ScenarioText != string(text) {
		t.Errorf("scenario text %q; want the file's %q (%v)", r.ScenarioText, text, err)
	}
}

func TestParseFlagsAnywhere(t *testing.T) {
	tests := []struct {
		args       []string
		out        string
		positional []string
	}{
		{[]string{"-o", "d", "f.yaml"}, "d", []string{"f.yaml"}},
		{[]string{"f.yaml", "-o", "d"}, "d", []string{"f.yaml"}},
		{[]string{"a", "-o", "d", "b"}, "d", []string{"a", "b"}},
		{[]string{"-o", "d", "--", "-x", "y"}, "d", []string{"-x", "y"}},
		{[]string{"a", "--", "-o"}, "", []string{"a", "-o"}},
	}
	for _, tt := range tests {
		fs := newFlagSet("t", "t", io.Discard)
		out := fs.String("o", "", "")
		positional, err := parseFlags(fs, tt.args)
		if err != nil || *out != tt.out || strings.Join(positional, " ") != strings.Join(tt.positional, " ") {
			t.Errorf("parseFlags(%q) = %q, -o %q, %v; want %q, -o %q", tt.args, positional, *out, err, tt.positional, tt.out)
		}
	}
}
