package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"clusterbench/internal/nstest"
	"clusterbench/report"
	"clusterbench/results"
	"clusterbench/segment"
	"clusterbench/worker"
)

// vegetaCLI is the vegeta command-line tool of the version clusterbench
// links, as a load host would run it: built with go install, from the
// module proxy and then Go's build cache, into the test's own directory.
func vegetaCLI(t *testing.T) string {
	t.Helper()
	version := "v12.12.0"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path == "github.com/tsenart/vegeta/v12" {
				version = m.Version
			}
		}
	}
	gobin := t.TempDir()
	cmd := exec.Command("go", "install", "github.com/tsenart/vegeta/v12@"+version)
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		nstest.Require(t, "the vegeta command-line tool (go install github.com/tsenart/vegeta/v12@"+version+")", fmt.Errorf("%v: %s", err, out))
	}
	return filepath.Join(gobin, "vegeta")
}

// servedIn is serve -o running in the LAN's server namespace.
type servedIn struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	dir    string
}

// serveOnLAN starts serve -o in the server's namespace, listening on
// every address, and waits until it serves.
func serveOnLAN(t *testing.T, lan *nstest.LAN, port int, args ...string) *servedIn {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "served")
	cmd := lan.Server.Command(os.Args[0], append([]string{"serve", "--addr", fmt.Sprintf("0.0.0.0:%d", port), "-o", dir}, args...)...)
	s := &servedIn{cmd: cmd, stderr: &lockedBuffer{}, dir: dir}
	cmd.Stdout, cmd.Stderr = io.Discard, s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(s.stderr.String(), "serving ") {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", s.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

// stop ends serve as Ctrl-C would, to its process group (unshare, which
// holds its PID namespace, leaves SIGINT to it), and waits for its record.
func (s *servedIn) stop(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(-s.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("serve: %v: %s", err, s.stderr)
	}
}

// attackFrom runs host i's part of the split in its namespace; kill, if
// not zero, ends it and all it started with SIGKILL that long after it
// started, as a machine that fails.
func attackFrom(t *testing.T, h nstest.Host, vegetaBin, splitDir string, i int, out string, kill time.Duration) chan error {
	t.Helper()
	cmd := h.Command("sh", filepath.Join(splitDir, "attack.sh"), strconv.Itoa(i), out)
	cmd.Env = append(os.Environ(), "VEGETA="+vegetaBin)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	if kill > 0 {
		time.AfterFunc(kill, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	}
	done := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		if err != nil && kill == 0 {
			err = fmt.Errorf("host %s: %w: %s", h.Name, err, stderr.String())
		} else {
			err = nil
		}
		done <- err
	}()
	return done
}

// perWorker decodes a results file on its own, as a check of the merge:
// successful responses per X-Worker, and all results.
func perWorker(t *testing.T, path string) (map[int]uint64, uint64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	counts := map[int]uint64{}
	var n uint64
	dec := vegeta.NewDecoder(f)
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Logf("%s: decoding stopped after %d results: %v", path, n, err)
			}
			return counts, n
		}
		n++
		if r.Error == "" && r.Code == 200 {
			w, err := strconv.Atoi(r.Headers.Get(worker.HeaderWorker))
			if err != nil {
				t.Fatalf("%s: a response without %s: %v", path, worker.HeaderWorker, r.Headers)
			}
			counts[w]++
		}
	}
}

// TestDistributedLoadFromThreeHosts is a deployment that three load hosts
// drive, each a network namespace with an address of its own on a LAN
// with the server's: serve -o records the server's side, split divides
// the load, each host runs its part of attack.sh with the real vegeta
// tool, and merge puts their results together. The merged counts must
// equal the workers' own, worker by worker. Then again with one host
// killed midway: the merge must name it, and lose nothing it wrote.
func TestDistributedLoadFromThreeHosts(t *testing.T) {
	lan := nstest.NewLAN(t, 3)
	vegetaBin := vegetaCLI(t)
	const port = 8080
	dir := t.TempDir()
	splitDir := filepath.Join(dir, "split")
	// 3 s at 300 req/s, keep-alive off so that every request is a new
	// connection: each host's part is 100 req/s.
	code, stdout, stderr := runCLI(t, "split", "--hosts", "3", "--url", fmt.Sprintf("http://%s:%d/", lan.Server.Addr, port),
		"--rate", "300", "--duration", "3s", "--warmup", "300ms", "--concurrency", "6", "--keepalive=false", "-o", splitDir)
	if code != exitOK {
		t.Fatalf("split: exit %d: %s%s", code, stdout, stderr)
	}

	t.Run("whole", func(t *testing.T) {
		srv := serveOnLAN(t, lan, port, "--mode", "reuseport", "--workers", "4")
		received := make([]uint64, len(lan.Hosts))
		for i, h := range lan.Hosts {
			received[i] = lan.Received(t, h)
		}
		var files []string
		var runs []chan error
		for i, h := range lan.Hosts {
			out := filepath.Join(dir, fmt.Sprintf("whole-%d.bin", i))
			files = append(files, out)
			runs = append(runs, attackFrom(t, h, vegetaBin, splitDir, i, out, 0))
		}
		for _, r := range runs {
			if err := <-r; err != nil {
				t.Fatal(err)
			}
		}
		for i, h := range lan.Hosts {
			// Each host's part crossed its own link to the server.
			if got := lan.Received(t, h) - received[i]; got < 300 {
				t.Errorf("the server's link to %s received %d packets during the attack; want hundreds", h.Name, got)
			}
		}
		srv.stop(t)
		merged := filepath.Join(dir, "whole-merged")
		code, stdout, stderr := runCLI(t, append([]string{"merge", "--plan", splitDir, "-o", merged, srv.dir}, files...)...)
		if code != exitOK {
			t.Fatalf("merge: exit %d\n%s%s", code, stdout, stderr)
		}
		tr := mergedTrial(t, merged)
		if !tr.CountsAgree || len(tr.Mismatches) > 0 {
			t.Errorf("counts disagree: %v", tr.Mismatches)
		}
		want := map[int]uint64{}
		for _, f := range files {
			counts, _ := perWorker(t, f)
			for w, n := range counts {
				want[w] += n
			}
		}
		for _, w := range tr.PerWorker {
			if w.Requests != w.WorkerRequests || w.Connections != w.WorkerConnections {
				t.Errorf("worker %d: the hosts' results hold %d requests on %d connections, the worker counted %d on %d",
					w.Index, w.Requests, w.Connections, w.WorkerRequests, w.WorkerConnections)
			}
			if w.Requests != want[w.Index] {
				t.Errorf("worker %d: merged %d responses; the files hold %d", w.Index, w.Requests, want[w.Index])
			}
		}
		if tr.Requests != 900 || tr.Errors != 0 {
			t.Errorf("%d requests, %d errors; want 900 (300 req/s for 3 s), none failed", tr.Requests, tr.Errors)
		}
		if len(tr.LoadHosts) != 3 {
			t.Fatalf("%d load hosts; want 3", len(tr.LoadHosts))
		}
		for _, h := range tr.LoadHosts {
			if h.Requests != 300 || h.PlannedRate != 100 || h.Missing != "" {
				t.Errorf("load host %s: %d requests at a planned %d req/s, missing %q; want 300 at 100, nothing missing", h.Name, h.Requests, h.PlannedRate, h.Missing)
			}
		}
	})

	t.Run("a host dies", func(t *testing.T) {
		srv := serveOnLAN(t, lan, port, "--mode", "shared", "--workers", "4")
		var files []string
		var runs []chan error
		for i, h := range lan.Hosts {
			out := filepath.Join(dir, fmt.Sprintf("dies-%d.bin", i))
			files = append(files, out)
			kill := time.Duration(0)
			if i == 1 {
				kill = 1800 * time.Millisecond // 300 ms of warm-up, then 1.5 s of its 3
			}
			runs = append(runs, attackFrom(t, h, vegetaBin, splitDir, i, out, kill))
		}
		for _, r := range runs {
			if err := <-r; err != nil {
				t.Fatal(err)
			}
		}
		srv.stop(t)
		merged := filepath.Join(dir, "dies-merged")
		code, stdout, stderr := runCLI(t, append([]string{"merge", "--plan", splitDir, "-o", merged, srv.dir}, files...)...)
		tr := mergedTrial(t, merged)
		host := tr.LoadHosts[1]
		if !strings.Contains(host.Missing, "of the planned 3s") {
			t.Errorf("the killed host's part is not named missing: %+v", host)
		}
		for _, w := range []string{stdout, strings.Join(tr.Warnings, "\n")} {
			if !strings.Contains(w, "load host 1:") {
				t.Errorf("the killed host is not named in:\n%s", w)
			}
		}
		// Nothing it wrote is dropped: the merge holds every result of
		// every file, the cut one's up to where it was cut.
		var inFiles uint64
		for _, f := range files {
			_, n := perWorker(t, f)
			inFiles += n
		}
		if tr.Requests != inFiles {
			t.Errorf("merged %d requests; the files hold %d", tr.Requests, inFiles)
		}
		// The workers may have served what the dead host never recorded:
		// its requests in flight when it died, at most its concurrency.
		var client, workers uint64
		for _, w := range tr.PerWorker {
			client += w.Requests
			workers += w.WorkerRequests
		}
		if workers < client || workers > client+uint64(host.PlannedConcurrency) {
			t.Errorf("the workers counted %d, the hosts' results hold %d: want the same, or at most %d more in flight at the kill", workers, client, host.PlannedConcurrency)
		}
		if (workers > client) != (code == exitFailed) || workers > client && !strings.Contains(strings.Join(tr.Mismatches, "\n"), "requests of 1, whose part is missing") {
			t.Errorf("exit %d with %d more requests served than recorded; mismatches: %v\n%s", code, workers-client, tr.Mismatches, stderr)
		}
	})
}

// mergedTrial reads the one trial of a merged record.
func mergedTrial(t *testing.T, dir string) *results.Trial {
	t.Helper()
	r, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Trials) != 1 || r.Trials[0].Origin != results.OriginMerge {
		t.Fatalf("want one merged trial in %s, got %d", dir, len(r.Trials))
	}
	return &r.Trials[0]
}

// TestServeRecordsTheServersSide runs serve -o with a client after --
// that sends 1500 requests, each on a connection of its own, and checks
// the record: the workers' counts, second by second too, the server's
// CPU without the client's, and a report that says only the workers
// counted and draws no latency.
func TestServeRecordsTheServersSide(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "served")
	mark := newMark()
	cmd := exec.Command(os.Args[0], "serve", "--mode", "roundrobin", "--workers", "3", "--addr", "127.0.0.1:0", "-o", dir, "--", os.Args[0])
	cmd.Env = append(os.Environ(), "CLUSTERBENCH_TEST_MARK="+mark, "CLUSTERBENCH_TEST_CLIENT=1500")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("serve: %v: %s", err, out)
	}
	eventuallyNone(t, mark)
	r, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Trials) != 1 || !r.Complete || !strings.Contains(r.ScenarioText, "clusterbench serve --mode roundrobin") {
		t.Fatalf("%d trials, complete %v, scenario %q; want one trial of the command line", len(r.Trials), r.Complete, r.ScenarioText)
	}
	tr := r.Trials[0]
	if tr.Origin != results.OriginServe || tr.Requests != 1500 || tr.KeepAlive || tr.ThroughputRPS <= 0 || tr.DurationSeconds <= 0 {
		t.Errorf("origin %q, %d requests, keep-alive %v, %.0f req/s over %.2f s; want serve's 1500 requests, keep-alive off",
			tr.Origin, tr.Requests, tr.KeepAlive, tr.ThroughputRPS, tr.DurationSeconds)
	}
	var perWorker, perSecond, workerCPU float64
	for _, w := range tr.PerWorker {
		perWorker += float64(w.WorkerRequests)
		workerCPU += w.CPUSeconds
		if w.Requests != 0 || w.WorkerConnections != w.WorkerRequests {
			t.Errorf("worker %d: client %d, own %d on %d connections; want no client count, one request a connection", w.Index, w.Requests, w.WorkerRequests, w.WorkerConnections)
		}
	}
	for _, s := range tr.Served.Seconds {
		for _, n := range s.Requests {
			perSecond += float64(n)
		}
	}
	if perWorker != 1500 || perSecond != 1500 {
		t.Errorf("the workers counted %.0f, their seconds %.0f; want 1500 both", perWorker, perSecond)
	}
	// The client ran under serve; its CPU is not the workers'.
	if tr.CPU.WorkersSeconds <= 0 || math.Abs(tr.CPU.WorkersSeconds-workerCPU) > 1e-9 || tr.ServerCPUPerRequestUs <= 0 || tr.CPU.MasterSeconds <= 0 {
		t.Errorf("workers' CPU %.3f s, theirs one by one %.3f s, master %.3f s, %.0f µs/req; want the same, all measured",
			tr.CPU.WorkersSeconds, workerCPU, tr.CPU.MasterSeconds, tr.ServerCPUPerRequestUs)
	}
	if tr.Fairness.Requests.Jain < 0.99 {
		t.Errorf("round robin of 1500 over 3 workers: Jain %.3f; want even", tr.Fairness.Requests.Jain)
	}
	md, err := os.ReadFile(filepath.Join(dir, report.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"**Only the workers counted** in 1 trial", "load `external`: from elsewhere", "serve-served.png"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "serve-latency.png")); err == nil {
		t.Error("a latency plot of a record without latency")
	}
	// report DIR renders it again, byte for byte.
	if code, _, stderr := runCLI(t, "report", dir); code != exitOK {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	again, _ := os.ReadFile(filepath.Join(dir, report.FileName))
	if !bytes.Equal(md, again) {
		t.Error("report DIR rendered serve's record otherwise")
	}
}

// servedRecordDir writes a record of serve -o of two workers that counted
// 10 and 5 requests in the second from start, and a run record beside it.
func servedRecordDir(t *testing.T, start time.Time) (served, run string) {
	t.Helper()
	tr := results.Trial{Origin: results.OriginServe, Experiment: "serve", Rep: 1, Mode: "reuseport", Workers: 2, Load: results.Load{Name: "external"},
		Requests: 15, Successes: 15, ThroughputRPS: 15, DurationSeconds: 1,
		PerWorker: []results.WorkerCounts{{Index: 0, WorkerRequests: 10, WorkerConnections: 10}, {Index: 1, WorkerRequests: 5, WorkerConnections: 5}},
		Served: &results.Served{Start: start.Truncate(time.Second), WindowStart: start, WindowEnd: start.Add(time.Second),
			Seconds: []results.ServedSecond{{Seconds: 1, Requests: []uint64{10, 5}, Connections: []uint64{10, 5}}}}}
	served, run = filepath.Join(t.TempDir(), "served"), filepath.Join(t.TempDir(), "run")
	for dir, trial := range map[string]results.Trial{served: tr, run: func() results.Trial { tr := tr; tr.Origin = ""; return tr }()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := results.Save(dir, &results.Run{Schema: results.Schema, Scenario: "clusterbench serve", Complete: true, Trials: []results.Trial{trial}}); err != nil {
			t.Fatal(err)
		}
	}
	return served, run
}

// resultsFile writes vegeta results of n successful requests, spread
// over two workers, on connections of their own from base on.
func resultsFile(t *testing.T, name, attack string, start time.Time, n, base int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	enc := vegeta.NewEncoder(f)
	for i := range n {
		r := vegeta.Result{Attack: attack, Code: 200, Timestamp: start.Add(time.Duration(i) * time.Millisecond), Latency: time.Millisecond,
			Headers: http.Header{worker.HeaderWorker: {strconv.Itoa(i % 2)}, worker.HeaderPID: {"1"}, worker.HeaderConn: {strconv.Itoa(base + i)}}}
		if err := enc.Encode(&r); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	return path
}

func TestSplitMergeServeBadInput(t *testing.T) {
	start := time.Now().Add(-time.Minute)
	served, run := servedRecordDir(t, start)
	a := resultsFile(t, "a.bin", "a", start.Add(10*time.Millisecond), 20, 0)
	b := resultsFile(t, "b.bin", "a", start.Add(20*time.Millisecond), 10, 100)
	junk := writeFile(t, "junk.bin", "GET http://10.0.0.1/\n")
	splitDir := filepath.Join(t.TempDir(), "split")
	if code, _, stderr := runCLI(t, "split", "--hosts", "h1,h2", "--url", "http://10.0.0.1:8080/", "-o", splitDir); code != exitOK {
		t.Fatal(stderr)
	}
	full := t.TempDir()
	writeIn(t, full, "notes.txt", "mine")
	quick := filepath.Join(repoRoot, "scenarios", "quick.yaml")
	wrkScenario := writeFile(t, "wrk.yaml", "experiments:\n  - modes: [shared]\n    keepalive: [true]\n    loadgen: wrk\n    load: {duration: 2s}\n")
	split := []string{"split", "--url", "http://10.0.0.1:8080/"}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"split without hosts", []string{"split", "--url", "http://x/"}, "--hosts: required"},
		{"split to no hosts", append(split, "--hosts", "0"), "want 1 to 1000 hosts, got 0"},
		{"split without a url", []string{"split", "--hosts", "3"}, "url: the deployment's URL is required"},
		{"split a rate too small", append(split, "--hosts", "3", "--rate", "2"), "2 req/s leaves host 2 (segment 2/3:1) none to send"},
		{"split both keep-alives", append(split, "--hosts", "3", "--keepalive=true,false"), "--keepalive: one value"},
		{"split by a short sequence", append(split, "--hosts", "3", "--sequence", "0,1/2,1"), "3 hosts for 2 segments"},
		{"split at a bad start", append(split, "--hosts", "3", "--start", "tomorrow"), `--start: "tomorrow": want an RFC 3339 time`},
		{"split at a past start", append(split, "--hosts", "3", "--start", "2020-01-01T00:00:00Z"), "--start: 2020-01-01T00:00:00Z is past"},
		{"split in an unknown format", append(split, "--hosts", "3", "--format", "yaml"), `--format "yaml": want script, plan or job`},
		{"split a job without image", append(split, "--hosts", "3", "--format", "job"), "image: a container image with vegeta"},
		{"split a job of a bad name", append(split, "--hosts", "3", "--image", "x", "--job-name", "Load"), `job-name`},
		{"split into a full directory", append(split, "--hosts", "3", "-o", full), "is not empty (it holds notes.txt)"},
		{"split two scenarios", append(split, "--hosts", "3", "scenarios/quick.yaml", "extra"), `unexpected argument "extra"`},
		{"split an absent scenario", append(split, "--hosts", "3", "absent.yaml"), "absent.yaml: open"},
		{"split a scenario and flags", append(split, "--hosts", "3", "--rate", "10", quick), "give a scenario or the load's flags, not both"},
		{"split a scenario of both keep-alives", append(split, "--hosts", "3", quick), "runs keep-alive both on and off: give --keepalive"},
		{"split an experiment not there", append(split, "--hosts", "3", "--keepalive=true", "--experiment", "slow", quick), "--experiment: want one of quick"},
		{"split a load not there", append(split, "--hosts", "3", "--keepalive=true", "--load", "max-c64", quick), "--load: want one of max-c32"},
		{"split a wrk load", append(split, "--hosts", "3", wrkScenario), "load wrk-max-c32 is driven by wrk: split writes vegeta attacks"},
		{"split an experiment of no scenario", append(split, "--hosts", "3", "--experiment", "quick"), "--experiment and --load pick a load of a scenario"},
		{"merge of nothing", []string{"merge", served}, "want serve's record and at least one results file, got 1"},
		{"merge into no record", []string{"merge", t.TempDir(), a}, "results.json"},
		{"merge into a run", []string{"merge", run, a}, "is not a record of clusterbench serve -o"},
		{"merge an absent file", []string{"merge", served, filepath.Join(full, "absent.bin")}, "absent.bin: no such file"},
		{"merge what is not results", []string{"merge", served, junk}, "junk.bin: not vegeta results"},
		{"merge a host twice", []string{"merge", served, a, b}, "both hold host a's results: name them NAME=FILE"},
		{"merge a host not planned", []string{"merge", "--plan", splitDir, served, a}, `its host "a" is not in the plan (hosts: h1, h2)`},
		{"merge a broken plan", []string{"merge", "--plan", junk, served, a}, "plan:"},
		{"merge into a full directory", []string{"merge", "-o", full, served, a}, "is not empty and holds no run"},
		{"merge with a wild clock", []string{"merge", "--clock-tolerance", "2h", served, a}, "--clock-tolerance: want 0 to 1m"},
		{"serve -o your own app", []string{"serve", "--mode", "shared", "-o", filepath.Join(full, "x"), "--worker-command", "sh app.sh"}, "your own app reports no counts of its own"},
		{"serve --replace alone", []string{"serve", "--mode", "shared", "--replace"}, "--replace needs -o DIR"},
		{"serve -o a full directory", []string{"serve", "--mode", "shared", "-o", full}, "is not empty and holds no run"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := dirState(t, full)
			code, _, stderr := runCLI(t, c.args...)
			if code != exitUsage || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr, c.want)
			}
			if after := dirState(t, full); !maps.Equal(before, after) {
				t.Errorf("bad input changed %s: %v", full, after)
			}
		})
	}
	// A scenario's trial: its experiment's load, its keep-alive given.
	code, stdout, stderr := runCLI(t, append(split, "--hosts", "2", "--keepalive=false", "--format", "plan", quick)...)
	var p segment.Plan
	if err := json.Unmarshal([]byte(stdout), &p); code != exitOK || err != nil {
		t.Fatalf("split of scenarios/quick.yaml: exit %d, %v: %s", code, err, stderr)
	}
	if p.Rate != 0 || p.Concurrency != 32 || time.Duration(p.Duration) != 3*time.Second || time.Duration(p.Warmup) != 500*time.Millisecond || p.KeepAlive || p.Hosts[1].Concurrency != 16 {
		t.Errorf("plan %+v; want quick's load (max rate, 32 in flight, 3 s after 500 ms), keep-alive off, 16 per host", p)
	}
	// serve -o that cannot serve (its address taken) leaves no directory.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	never := filepath.Join(t.TempDir(), "never")
	if code, _, stderr := runCLI(t, "serve", "--mode", "shared", "--workers", "2", "--addr", taken.Addr().String(), "-o", never); code == exitOK || !strings.Contains(stderr, "address already in use") {
		t.Errorf("serve -o on a taken address: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(never); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve -o that never served left %s: %v", never, err)
	}
	// Named apart, the two files merge: 30 results, of which the workers
	// counted 15 in the window, so the merge says they disagree (exit 3).
	out := filepath.Join(t.TempDir(), "merged")
	code, stdout, stderr = runCLI(t, "merge", "-o", out, served, "first="+a, "second="+b)
	if code != exitFailed || !strings.Contains(stderr, "disagree") {
		t.Errorf("merge of 30 results against 15 counted: exit %d: %s%s", code, stdout, stderr)
	}
	if tr := mergedTrial(t, out); tr.Requests != 30 || tr.LoadHosts[0].Name != "first" || tr.CountsAgree {
		t.Errorf("merged %d requests from %q, agree %v; want 30 from first and second, disagreeing", tr.Requests, tr.LoadHosts[0].Name, tr.CountsAgree)
	}
}

// TestReferenceMergesAreReproducible merges each committed distributed
// reference run again from its committed steps (the plan, serve's record
// and the hosts' results) and requires the same trial, byte for byte:
// the merge is a function of its inputs alone.
func TestReferenceMergesAreReproducible(t *testing.T) {
	runs, err := filepath.Glob(filepath.Join(repoRoot, "results/reference/*/merged/results.json"))
	if err != nil || len(runs) == 0 {
		t.Fatalf("no merged reference runs: %v", err)
	}
	for _, path := range runs {
		dir := filepath.Dir(filepath.Dir(path))
		t.Run(filepath.Base(dir), func(t *testing.T) {
			files, err := filepath.Glob(filepath.Join(dir, "results", "*.bin"))
			if err != nil || len(files) == 0 {
				t.Fatalf("no results files in %s: %v", dir, err)
			}
			out := filepath.Join(t.TempDir(), "merged")
			code, _, stderr := runCLI(t, append([]string{"merge", "--plan", filepath.Join(dir, "split"), "-o", out, filepath.Join(dir, "serve")}, files...)...)
			if code != exitOK && code != exitFailed {
				t.Fatalf("merge: exit %d: %s", code, stderr)
			}
			trialJSON := func(p string) []byte {
				r, err := results.Read(p)
				if err != nil {
					t.Fatal(err)
				}
				data, err := json.Marshal(r.Trials)
				if err != nil {
					t.Fatal(err)
				}
				return data
			}
			if got, want := trialJSON(out), trialJSON(path); !bytes.Equal(got, want) {
				t.Errorf("merging %s again gives another trial (%d bytes, committed %d)", dir, len(got), len(want))
			}
		})
	}
}
