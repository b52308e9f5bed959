package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"clusterbench/internal/cpuset"
	"clusterbench/internal/nstest"
	"clusterbench/loadgen"
	"clusterbench/modes"
	"clusterbench/plan"
	"clusterbench/report"
	"clusterbench/results"
	"clusterbench/trial"
	"clusterbench/worker"
)

// TestServerCPUMatchesProc measures trials in this process and, at the
// same two moments as the tool, reads the server's CPU by another road:
// the process tree from /proc/PID/task/*/children and each thread's time
// on a CPU from /proc/PID/task/*/schedstat, in nanoseconds, where the
// tool reads /proc/PID/stat in ticks. Both must agree per role, and so
// must server CPU per request.
func TestServerCPUMatchesProc(t *testing.T) {
	command, err := self()
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"reuseport", "roundrobin", "nginx"} {
		t.Run(mode, func(t *testing.T) {
			requireMode(t, mode)
			spec, _ := modes.ParseSpec(mode)
			tr := plan.Trial{
				Experiment: "cpu", Rep: 1, Reps: 1,
				Deployment: plan.Deployment{Mode: spec, Workers: 2, Respawn: true,
					Handler: plan.Handler{Name: "cpu-300us", Work: worker.Work{CPU: 300 * time.Microsecond, BodyBytes: 64}}},
				Load: plan.Load{Name: "800rps", Engine: plan.Vegeta, Rate: 800, Duration: 2 * time.Second, Warmup: 300 * time.Millisecond,
					Concurrency: 4, Timeout: 10 * time.Second},
			}
			var readings []map[role]time.Duration
			var procs int
			observe := func(servePID int, ready trial.Ready, measuring bool) {
				r, n := schedstatByRole(t, servePID, ready.ProxyPID)
				readings, procs = append(readings, r), max(procs, n)
			}
			rec, finished := trial.Measure(t.Context(), command, trial.Request{Trial: tr, Total: 1}, io.Discard, observe)
			if !finished || rec.Failed() || len(readings) != 2 {
				t.Fatalf("finished %v, error %q, %d readings; want a measured trial read twice", finished, rec.Error, len(readings))
			}
			independent := map[role]float64{}
			for _, r := range []role{roleMaster, roleProxy, roleWorker} {
				independent[r] = (readings[1][r] - readings[0][r]).Seconds()
			}
			tool := map[role]float64{roleMaster: rec.CPU.MasterSeconds, roleProxy: rec.CPU.ProxySeconds, roleWorker: rec.CPU.WorkersSeconds}
			// /proc/PID/stat counts in 10 ms ticks, once per process at
			// each end; the two readings are a few milliseconds apart.
			slack := 0.02*float64(procs) + 0.01
			names := map[role]string{roleMaster: "master", roleProxy: "proxy", roleWorker: "workers"}
			for r, want := range independent {
				if got := tool[r]; math.Abs(got-want) > slack+0.05*want {
					t.Errorf("%s CPU: the tool read %.3fs, schedstat %.3fs (allowed %.3fs apart)", names[r], got, want, slack+0.05*want)
				}
			}
			total := independent[roleMaster] + independent[roleProxy] + independent[roleWorker]
			want := 1e6 * total / float64(rec.Successes)
			if got := rec.ServerCPUPerRequestUs; math.Abs(got-want) > 1e6*slack/float64(rec.Successes)+0.05*want {
				t.Errorf("server CPU per request %.1f µs; schedstat gives %.1f µs", got, want)
			}
			// The handler burns 300µs of CPU per request: the workers
			// cannot have used less.
			if handler := 300e-6 * float64(rec.Successes); independent[roleWorker] < 0.9*handler {
				t.Errorf("workers used %.3fs for %d requests of 300µs of CPU each", independent[roleWorker], rec.Successes)
			}
			switch mode {
			case "roundrobin":
				if independent[roleMaster] < 0.01 {
					t.Errorf("the round-robin master used %.3fs handing over %d connections; want it measured", independent[roleMaster], rec.ClientDials)
				}
			case "nginx":
				if independent[roleProxy] < 0.01 || rec.CPU.ProxySeconds <= 0 {
					t.Errorf("nginx used %.3fs (the tool says %.3fs); want it measured", independent[roleProxy], rec.CPU.ProxySeconds)
				}
			}
			for _, r := range []role{roleMaster, roleProxy, roleWorker} {
				t.Logf("%s %s: the tool %.3fs, schedstat %.3fs", mode, names[r], tool[r], independent[r])
			}
			t.Logf("%s: %.1f µs of server CPU per request over %d requests", mode, rec.ServerCPUPerRequestUs, rec.Successes)
		})
	}
}

// role is a server process's part, as the tool tells them apart.
type role int

const (
	roleMaster role = iota
	roleProxy
	roleWorker
)

// schedstatByRole sums the time on a CPU of every thread under serve, by
// role, and counts the processes.
func schedstatByRole(t *testing.T, servePID, proxyPID int) (map[role]time.Duration, int) {
	t.Helper()
	byRole := map[role]time.Duration{}
	var walk func(pid int, r role) int
	walk = func(pid int, r role) int {
		if pid == proxyPID {
			r = roleProxy
		}
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		n := 1
		for _, task := range tasks {
			dir := fmt.Sprintf("/proc/%d/task/%s/", pid, task.Name())
			if stat, err := os.ReadFile(dir + "schedstat"); err == nil {
				ns, _ := strconv.ParseInt(strings.Fields(string(stat))[0], 10, 64)
				byRole[r] += time.Duration(ns)
			}
			children, _ := os.ReadFile(dir + "children")
			for _, c := range strings.Fields(string(children)) {
				child, _ := strconv.Atoi(c)
				childRole := r
				if r == roleMaster {
					childRole = roleWorker
				}
				n += walk(child, childRole)
			}
		}
		return n
	}
	return byRole, walk(servePID, roleMaster)
}

// TestPlacementPinsTheServer measures a trial in this process with the
// server on one CPU and checks every server process's mask meanwhile.
// (The load generator's side is pinned in the trial process, by the
// cpuset package, whose own test checks it.)
func TestPlacementPinsTheServer(t *testing.T) {
	allowed, err := cpuset.Allowed()
	if err != nil {
		t.Fatal(err)
	}
	if allowed.Len() < 2 {
		t.Skipf("placement needs two CPUs; this process may use only %s", allowed)
	}
	command, err := self()
	if err != nil {
		t.Fatal(err)
	}
	first, _ := cpuset.Parse(strconv.Itoa(allowed.CPUs()[0]))
	serverSet := allowed.Outside(first)
	reuseport, _ := modes.ParseSpec("reuseport")
	loadgenCPUs, _ := plan.ParseCPUs(first.String())
	serverCPUs, _ := plan.ParseCPUs(serverSet.String())
	tr := plan.Trial{
		Experiment: "placement", Rep: 1, Reps: 1, KeepAlive: true,
		Deployment: plan.Deployment{Mode: reuseport, Workers: 2, Respawn: true, Handler: plan.DefaultHandler, CPUs: serverCPUs},
		Placement:  &plan.Placement{LoadGen: loadgenCPUs, Server: serverCPUs},
		Load:       plan.Load{Name: "max", Engine: plan.Vegeta, Duration: time.Second, Concurrency: 4, Timeout: 10 * time.Second},
	}
	checked := 0
	observe := func(servePID int, ready trial.Ready, measuring bool) {
		for _, pid := range append([]int{servePID}, ready.PIDs...) {
			status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err != nil {
				t.Errorf("pid %d: %v", pid, err)
				continue
			}
			for line := range strings.SplitSeq(string(status), "\n") {
				if rest, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
					checked++
					if got := strings.TrimSpace(rest); got != serverSet.String() {
						t.Errorf("server process %d may run on CPUs %s; want %s", pid, got, serverSet)
					}
				}
			}
		}
	}
	rec, finished := trial.Measure(t.Context(), command, trial.Request{Trial: tr, Total: 1}, io.Discard, observe)
	if !finished || rec.Failed() {
		t.Fatalf("finished %v, error %q", finished, rec.Error)
	}
	if checked != 2*3 {
		t.Errorf("checked %d masks; want the master and 2 workers, twice", checked)
	}
	if p := rec.Placement; p == nil || p.LoadgenCPUs != first.String() || p.ServerCPUs != serverSet.String() {
		t.Errorf("recorded placement %+v; want loadgen %s, server %s", p, first, serverSet)
	}

	// Through the command line, where the trial process pins itself to the
	// load generator's CPUs before it starts the server on the others.
	dir := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := runCLI(t, "run", "-o", dir, "--mode", "reuseport", "--workers", "2", "--duration", "1s", "--warmup", "0s",
		"--loadgen-cpus", first.String(), "--server-cpus", serverSet.String())
	if code != exitOK {
		t.Fatalf("run with placement: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	run, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tr := run.Trials[0]; tr.Failed() || tr.Placement == nil || tr.Successes == 0 {
		t.Errorf("trial with placement: error %q, placement %+v, %d successes", tr.Error, tr.Placement, tr.Successes)
	}
}

// TestWrkEngineCountsAgree drives every mode with wrk, keep-alive off and
// on: the client's per-worker counts, from the Lua script, must equal the
// workers' own, as they do with vegeta.
func TestWrkEngineCountsAgree(t *testing.T) {
	requireWrk(t)
	dir := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := runCLI(t, "run", "-o", dir, "--mode", strings.Join(everySpec(), ","), "--workers", "4",
		"--keepalive=false,true", "--duration", "1s", "--warmup", "1s", "--concurrency", "8", "--loadgen", "wrk")
	if code != exitOK {
		t.Fatalf("exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	run, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Trials) != 2*len(everySpec()) {
		t.Errorf("%d trials; want %d (skipped: %+v)", len(run.Trials), 2*len(everySpec()), run.Skipped)
	}
	for _, tr := range run.Trials {
		name := fmt.Sprintf("%s keep-alive=%v", tr.Label(), tr.KeepAlive)
		if tr.Failed() || tr.Successes == 0 || tr.Errors != 0 {
			t.Errorf("%s: error %q, %d successes, %d errors %v", name, tr.Error, tr.Successes, tr.Errors, tr.ErrorKinds)
			continue
		}
		if !tr.CountsAgree {
			t.Errorf("%s: client and workers disagree: %v", name, tr.Mismatches)
		}
		if tr.Load.Engine != "wrk" || tr.Load.Name != "wrk-max-c8" || tr.Load.Threads < 1 {
			t.Errorf("%s: load %+v; want wrk with its threads", name, tr.Load)
		}
		if tr.ServerCPUPerRequestUs <= 0 || tr.CPU.LoadgenSeconds <= 0 {
			t.Errorf("%s: server CPU per request %v µs, load generator %vs; want both measured", name, tr.ServerCPUPerRequestUs, tr.CPU.LoadgenSeconds)
		}
		var served uint64
		for _, w := range tr.PerWorker {
			served += w.WorkerRequests
		}
		if served != tr.Successes {
			t.Errorf("%s: the workers served %d requests, the client saw %d", name, served, tr.Successes)
		}
	}
	report, err := os.ReadFile(filepath.Join(dir, report.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(report), "load `wrk-max-c8`: wrk (") {
		t.Errorf("the report does not say wrk drove the load")
	}
}

// TestLongTrialUsesNoMoreMemory: a 12-second trial at maximum rate, with
// six times the requests, must not need more memory than a 2-second one,
// with either engine: nothing may grow with the number of requests.
func TestLongTrialUsesNoMoreMemory(t *testing.T) {
	for _, engine := range plan.Engines {
		t.Run(engine.String(), func(t *testing.T) {
			if engine == plan.Wrk {
				requireWrk(t)
			}
			peak := map[string]uint64{}
			for _, d := range []string{"2s", "12s"} {
				dir := filepath.Join(t.TempDir(), d)
				code, stdout, stderr := runCLI(t, "run", "-o", dir, "--mode", "reuseport", "--workers", "8",
					"--duration", d, "--warmup", "1s", "--loadgen", engine.String())
				if code != exitOK {
					t.Fatalf("%s: exit code %d\nstdout: %s\nstderr: %s", d, code, stdout, stderr)
				}
				run, err := results.Read(dir)
				if err != nil {
					t.Fatal(err)
				}
				tr := run.Trials[0]
				if tr.Failed() || tr.LoadgenPeakRSSBytes == 0 {
					t.Fatalf("%s: error %q, peak memory %d", d, tr.Error, tr.LoadgenPeakRSSBytes)
				}
				peak[d] = tr.LoadgenPeakRSSBytes
				t.Logf("%s %s: %d requests, peak memory %.1f MiB", engine, d, tr.Requests, float64(tr.LoadgenPeakRSSBytes)/(1<<20))
			}
			if ratio := float64(peak["12s"]) / float64(peak["2s"]); ratio > 1.3 {
				t.Errorf("%s: 12s took %.2f× the peak memory of 2s; want at most 1.3×", engine, ratio)
			}
		})
	}
}

func requireWrk(t *testing.T) {
	t.Helper()
	nstest.Require(t, "the wrk engine", loadgen.WrkAvailable())
}
