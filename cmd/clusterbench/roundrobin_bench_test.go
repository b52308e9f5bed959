package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"clusterbench/analysis"
	"clusterbench/internal/nstest"
	"clusterbench/loadgen"
	"clusterbench/results"
	"clusterbench/trial"
)

// BenchmarkRoundRobin measures what the round-robin master's hand-off
// costs (issue 20): roundrobin:rotate and roundrobin:free against
// reuseport, driven by wrk with keep-alive off, so that every request is a
// connection the master hands over, 8 workers, the trivial handler.
//
// RoundRobin/throughput is one `clusterbench run` of the three modes,
// reps interleaved (rep 1 of every mode, then rep 2 …), each trial 5 s in
// a private network namespace. In every rep each policy's throughput and
// server CPU per request are divided by reuseport's in the same rep; the
// medians are reported, with the median master CPU per connection.
// Targets, checked by BenchmarkRoundRobin itself so that a miss keeps the
// figures: rotate reaches at least 0.95× reuseport's throughput, free at
// least 0.92×, and both spend at most 1.10× reuseport's server CPU per
// request.
//
// RoundRobin/syscalls/MODE serves each mode on the host loopback and,
// after a 1 s wrk warm-up, counts with perf stat the system calls of the
// master (serve's own process) and of the workers while wrk runs 3 s
// (again, up to twice, if a thread started meanwhile: perf would miss
// its calls). It reports them per connection: the master's, and the
// workers' summed (what a worker makes for each connection it serves), in
// total and by call. It has no target: it shows where the cost sits.
//
// Run it with
//
//	go test -run '^$' -bench RoundRobin -benchtime 1x ./cmd/clusterbench
//
// (2 to 3 minutes). For a quick check, fewer and shorter rounds:
// CLUSTERBENCH_BENCH_REPS=1 CLUSTERBENCH_BENCH_DURATION=1s
// CLUSTERBENCH_BENCH_SYSCALL_DURATION=1s.
func BenchmarkRoundRobin(b *testing.B) {
	var ratios map[string]policyRatios
	b.Run("throughput", func(b *testing.B) { ratios = benchRoundRobinThroughput(b) })
	for _, mode := range []string{"reuseport", "roundrobin:rotate", "roundrobin:free"} {
		b.Run("syscalls/"+mode, func(b *testing.B) { benchSyscallsPerConnection(b, mode) })
	}
	// Checked here rather than in throughput: go test prints no figures
	// of a benchmark that failed, and a miss needs them most.
	if ratios != nil {
		checkRoundRobinTargets(b, ratios)
	}
}

// roundRobinTargets are issue 20's acceptance: the least throughput, as a
// fraction of reuseport's, of each policy.
var roundRobinTargets = []struct {
	policy        string
	minThroughput float64
}{{"rotate", 0.95}, {"free", 0.92}}

// maxCPURatio is the most server CPU per request either policy may spend,
// as a multiple of reuseport's.
const maxCPURatio = 1.10

// policyRatios is a policy's figures over the reps, each divided by
// reuseport's in the same rep.
type policyRatios struct{ throughput, cpuPerRequest analysis.Summary }

func checkRoundRobinTargets(b *testing.B, ratios map[string]policyRatios) {
	for _, target := range roundRobinTargets {
		r := ratios[target.policy]
		// A target no rep measured is missed too.
		if tr := r.throughput; tr.N == 0 || tr.Median < target.minThroughput {
			b.Errorf("roundrobin:%s got %.3f× reuseport's throughput (median of %d reps); the target is at least %.2f×", target.policy, tr.Median, tr.N, target.minThroughput)
		}
		if cr := r.cpuPerRequest; cr.N == 0 || cr.Median > maxCPURatio {
			b.Errorf("roundrobin:%s spent %.3f× reuseport's server CPU per request (median of %d reps); the target is at most %.2f×", target.policy, cr.Median, cr.N, maxCPURatio)
		}
	}
}

func benchRoundRobinThroughput(b *testing.B) map[string]policyRatios {
	nstest.Require(b, "wrk", loadgen.WrkAvailable())
	reps := benchEnvInt(b, "CLUSTERBENCH_BENCH_REPS", 5)
	duration := benchEnvDuration(b, "CLUSTERBENCH_BENCH_DURATION", 5*time.Second)
	dir := filepath.Join(b.TempDir(), "run")
	code, stdout, stderr := runCLI(b, "run", "--loadgen", "wrk", "--mode", "reuseport,roundrobin:rotate,roundrobin:free",
		"--workers", "8", "--keepalive=false", "--duration", duration.String(), "--reps", strconv.Itoa(reps), "-o", dir)
	if code != exitOK {
		b.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	run, err := results.Read(dir)
	if err != nil {
		b.Fatal(err)
	}
	// trials[rep][mode], mode as MODE or MODE:POLICY.
	trials := map[int]map[string]results.Trial{}
	var bound []string
	for _, t := range run.Trials {
		mode := t.Mode
		if t.Policy != "" {
			mode += ":" + t.Policy
		}
		if t.Error != "" {
			b.Errorf("rep %d, %s: %s", t.Rep, mode, t.Error)
			continue
		}
		if t.LoadgenBound {
			bound = append(bound, fmt.Sprintf("rep %d %s (%s)", t.Rep, mode, t.LoadgenBoundReason))
		}
		if trials[t.Rep] == nil {
			trials[t.Rep] = map[string]results.Trial{}
		}
		trials[t.Rep][mode] = t
	}
	if bound != nil {
		// go test keeps only 10 lines of a benchmark's log: one line.
		b.Logf("warning: wrk was the limit in %s", strings.Join(bound, ", "))
	}
	median := func(xs []float64) float64 { return analysis.Summarize(xs).Median }
	// ratio is NaN where a figure is unknown (0: a trial without CPU
	// figures); Summarize leaves it out.
	ratio := func(x, base float64) float64 {
		if x <= 0 || base <= 0 {
			return math.NaN()
		}
		return x / base
	}
	rps := map[string][]float64{}
	cpuPerRequest := map[string][]float64{}
	throughputRatios := map[string][]float64{}
	cpuRatios := map[string][]float64{}
	masterPerConn := map[string][]float64{}
	for rep := 1; rep <= reps; rep++ {
		base, ok := trials[rep]["reuseport"]
		if !ok {
			b.Errorf("rep %d has no reuseport trial to compare with", rep)
			continue
		}
		rps["reuseport"] = append(rps["reuseport"], base.ThroughputRPS)
		cpuPerRequest["reuseport"] = append(cpuPerRequest["reuseport"], base.ServerCPUPerRequestUs)
		line := fmt.Sprintf("rep %d: reuseport %.0f req/s, %.1f µs CPU/req", rep, base.ThroughputRPS, base.ServerCPUPerRequestUs)
		for _, target := range roundRobinTargets {
			p := target.policy
			t, ok := trials[rep]["roundrobin:"+p]
			if !ok {
				b.Errorf("rep %d has no roundrobin:%s trial", rep, p)
				continue
			}
			// Keep-alive off: every successful request had a connection of its own.
			master := ratio(t.CPU.MasterSeconds*1e6, float64(t.Successes))
			tr, cr := ratio(t.ThroughputRPS, base.ThroughputRPS), ratio(t.ServerCPUPerRequestUs, base.ServerCPUPerRequestUs)
			rps[p] = append(rps[p], t.ThroughputRPS)
			cpuPerRequest[p] = append(cpuPerRequest[p], t.ServerCPUPerRequestUs)
			throughputRatios[p] = append(throughputRatios[p], tr)
			cpuRatios[p] = append(cpuRatios[p], cr)
			masterPerConn[p] = append(masterPerConn[p], master)
			line += fmt.Sprintf("; %s %.0f req/s (%.3f×), %.1f µs CPU/req (%.3f×), master %.1f µs/conn", p, t.ThroughputRPS, tr, t.ServerCPUPerRequestUs, cr, master)
		}
		b.Log(line)
	}
	b.ReportMetric(median(rps["reuseport"]), "reuseport-req/s")
	b.ReportMetric(median(cpuPerRequest["reuseport"]), "reuseport-cpu-us/req")
	ratios := map[string]policyRatios{}
	for _, target := range roundRobinTargets {
		p := target.policy
		r := policyRatios{analysis.Summarize(throughputRatios[p]), analysis.Summarize(cpuRatios[p])}
		ratios[p] = r
		b.ReportMetric(median(rps[p]), p+"-req/s")
		b.ReportMetric(median(cpuPerRequest[p]), p+"-cpu-us/req")
		b.ReportMetric(r.throughput.Median, p+"/reuseport-req/s")
		b.ReportMetric(r.cpuPerRequest.Median, p+"/reuseport-cpu/req")
		b.ReportMetric(median(masterPerConn[p]), p+"-master-us/conn")
	}
	return ratios
}

// syscallBreakdown is the calls counted one by one, besides the total:
// the hand-off's (accept, SCM_RIGHTS over sendmsg/recvmsg, the
// acknowledgement's read), serving's, and the runtime's waiting. Those
// this kernel has no tracepoint for are left out.
var syscallBreakdown = []string{
	"accept4", "accept", "sendmsg", "sendmmsg", "recvmsg", "recvmmsg", "read", "write", "close", "shutdown",
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl", "futex", "nanosleep", "clock_nanosleep", "sched_yield",
	"fcntl", "setsockopt", "getsockopt", "getsockname", "getpeername",
}

const allSyscalls = "raw_syscalls:sys_enter"

func benchSyscallsPerConnection(b *testing.B, mode string) {
	_, err := exec.LookPath("perf")
	nstest.Require(b, "perf", err)
	nstest.Require(b, "wrk", loadgen.WrkAvailable())
	measure := benchEnvDuration(b, "CLUSTERBENCH_BENCH_SYSCALL_DURATION", 3*time.Second)
	calls := syscallTracepoints(b)
	events := []string{allSyscalls}
	for _, c := range calls {
		events = append(events, "syscalls:sys_enter_"+c)
	}

	srv := startServe(b, mode)
	url := "http://" + srv.ready.Addr + "/"
	wrk(b, time.Second, url)
	// perf stat -p counts the threads there are when it starts, not those
	// started later, and the Go runtime may add one under load: such a
	// measurement is repeated, once the runtime has the threads it wants.
	const attempts = 3
	var m syscallCounts
	for attempt := 1; ; attempt++ {
		m = countSyscalls(b, events, srv, measure, url)
		if m.newThreads == nil {
			break
		}
		// go test keeps only 10 lines of a benchmark's log: one line each.
		if attempt == attempts {
			b.Logf("warning: threads started while perf counted, and their calls are missing from the counts: %s", strings.Join(m.newThreads, ", "))
			break
		}
		b.Logf("attempt %d: threads started while perf counted (%s); measuring again", attempt, strings.Join(m.newThreads, ", "))
	}
	if err := srv.stop(); err != nil {
		b.Errorf("serve: %v\n%s", err, srv.stderr.String())
	}

	// Keep-alive off: every request wrk completed was a connection.
	conns, err := parseWrkRequests(m.wrk)
	if err != nil || conns == 0 {
		b.Fatalf("wrk: %d connections (%v)\n%s", conns, err, m.wrk)
	}
	if problems := regexp.MustCompile(`Socket errors:.*|Non-2xx.*`).FindAllString(m.wrk, -1); problems != nil {
		b.Logf("warning: wrk: %s", strings.Join(problems, "; "))
	}
	b.Logf("%s: %d connections in %v; system calls per connection of the master (pid %d) and of the %d workers together:", mode, conns, measure, srv.cmd.Process.Pid, len(srv.ready.PIDs))
	report := func(role string, counts map[string]uint64) {
		total, ok := counts[allSyscalls]
		if !ok {
			b.Errorf("perf counted no system calls of the %s: %v", role, counts)
		}
		perConn := func(n uint64) float64 { return float64(n) / float64(conns) }
		b.ReportMetric(perConn(total), role+"-syscalls/conn")
		line := fmt.Sprintf("%s %.2f:", role, perConn(total))
		other := int64(total)
		for _, c := range calls {
			n := counts["syscalls:sys_enter_"+c]
			other -= int64(n)
			if n > 0 {
				b.ReportMetric(perConn(n), role+"-"+c+"/conn")
				line += fmt.Sprintf(" %s %.2f,", c, perConn(n))
			}
		}
		b.Logf("%s other %.2f", line, perConn(uint64(max(other, 0))))
	}
	report("master", m.master)
	report("worker", m.workers)
}

// syscallCounts is one measurement of the system calls under load.
type syscallCounts struct {
	master, workers map[string]uint64 // by perf event
	wrk             string            // wrk's output
	// newThreads names the threads, as PID/TID, that started while perf
	// counted: their calls are missing.
	newThreads []string
}

// countSyscalls counts the system calls of serve's master and of its
// workers while wrk loads it for d.
func countSyscalls(b *testing.B, events []string, srv *served, d time.Duration, url string) syscallCounts {
	pids := append([]int{srv.cmd.Process.Pid}, srv.ready.PIDs...)
	before := threadIDs(pids)
	master := startPerfStat(b, events, srv.cmd.Process.Pid)
	workers := startPerfStat(b, events, srv.ready.PIDs...)
	master.control(b, "enable")
	workers.control(b, "enable")
	out := wrk(b, d, url)
	master.control(b, "disable")
	workers.control(b, "disable")
	after := threadIDs(pids)
	c := syscallCounts{master: master.stop(b), workers: workers.stop(b), wrk: out}
	for _, id := range after {
		if !slices.Contains(before, id) {
			c.newThreads = append(c.newThreads, id)
		}
	}
	return c
}

// syscallTracepoints is syscallBreakdown less the calls perf has no
// tracepoint for here: perf stat refuses an unknown event.
func syscallTracepoints(b *testing.B) []string {
	out, err := exec.Command("perf", "list", "syscalls:sys_enter_*").CombinedOutput()
	if err != nil {
		b.Fatalf("perf list: %v\n%s", err, out)
	}
	known := map[string]bool{}
	for _, m := range regexp.MustCompile(`syscalls:sys_enter_(\w+)`).FindAllStringSubmatch(string(out), -1) {
		known[m[1]] = true
	}
	if !known["accept4"] {
		b.Fatalf("perf list shows no syscalls:sys_enter_accept4 (is tracefs mounted?):\n%s", out)
	}
	var calls []string
	for _, c := range syscallBreakdown {
		if known[c] {
			calls = append(calls, c)
		}
	}
	return calls
}

// served is `clusterbench serve` running as a process of its own, the
// way a user starts it, so that its threads and its workers are what
// perf watches.
type served struct {
	cmd            *exec.Cmd
	ready          trial.Ready
	stdout, stderr bytes.Buffer
	stopOnce       sync.Once
	stopErr        error
}

// startServe starts serve on a free loopback port and waits until it
// serves. It is stopped, and waited for, when the benchmark ends however
// it ends.
func startServe(b *testing.B, mode string) *served {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	defer readyR.Close()
	// The test binary acts as clusterbench (TestMain), and serve runs it
	// again as its workers.
	s := &served{cmd: exec.Command(os.Args[0], "serve", "--mode", mode, "--workers", "8", "--addr", "127.0.0.1:0", "--ready-fd", "3")}
	s.cmd.ExtraFiles = []*os.File{readyW}
	// Should this process die without its cleanups, serve dies too, and
	// its workers with it.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	s.cmd.Stdout, s.cmd.Stderr = &s.stdout, &s.stderr
	err = s.cmd.Start()
	readyW.Close()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.stop() })
	readyR.SetReadDeadline(time.Now().Add(30 * time.Second))
	if err := json.NewDecoder(readyR).Decode(&s.ready); err != nil {
		s.stop()
		b.Fatalf("serve --mode %s never became ready: %v\n%s", mode, err, s.stderr.String())
	}
	if len(s.ready.PIDs) != 8 {
		b.Fatalf("serve --mode %s is ready with workers %v; want 8", mode, s.ready.PIDs)
	}
	return s
}

// stop ends serve with SIGTERM, as a user's Ctrl-C would, and waits for
// it and its workers to be gone; it kills what does not end in time.
func (s *served) stop() error {
	s.stopOnce.Do(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- s.cmd.Wait() }()
		select {
		case s.stopErr = <-done:
		case <-time.After(trial.StopGrace + 5*time.Second):
			s.cmd.Process.Kill()
			s.stopErr = fmt.Errorf("did not stop within %v of SIGTERM; killed: %v", trial.StopGrace+5*time.Second, <-done)
		}
		// The workers end with serve (it stops them, and Pdeathsig ends
		// them if it was killed), a moment later.
		deadline := time.Now().Add(5 * time.Second)
		for _, pid := range s.ready.PIDs {
			for processExists(pid) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if processExists(pid) {
				syscall.Kill(pid, syscall.SIGKILL)
				s.stopErr = errors.Join(s.stopErr, fmt.Errorf("worker %d outlived serve; killed", pid))
			}
		}
	})
	return s.stopErr
}

// processExists is false for a process that is gone or a zombie.
func processExists(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !bytes.Contains(stat, []byte(") Z "))
}

// threadIDs lists the threads of the processes, as PID/TID.
func threadIDs(pids []int) []string {
	var ids []string
	for _, pid := range pids {
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		for _, t := range tasks {
			ids = append(ids, fmt.Sprintf("%d/%s", pid, t.Name()))
		}
	}
	return ids
}

// wrk runs wrk against url as the issue measures: two threads, 32
// connections, a new connection for every request. It returns its output.
func wrk(b *testing.B, d time.Duration, url string) string {
	cmd := exec.CommandContext(b.Context(), "wrk", "-t2", "-c32", "-d"+strconv.Itoa(int(math.Ceil(d.Seconds())))+"s", "-H", "Connection: close", url)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("wrk: %v\n%s%s", err, out, stderr.String())
	}
	return string(out)
}

// perfStat is a `perf stat` attached to processes with its events
// disabled, so that it counts only between control(b, "enable") and
// control(b, "disable"): exactly the measured load, not perf's own
// start or the warm-up.
type perfStat struct {
	cmd      *exec.Cmd
	ctl, ack *os.File
	out      string
	stderr   lockedBuffer // read while perf may still write it
	waited   bool
}

func startPerfStat(b *testing.B, events []string, pids ...int) *perfStat {
	dir := b.TempDir()
	ctlPath, ackPath := filepath.Join(dir, "ctl"), filepath.Join(dir, "ack")
	for _, fifo := range []string{ctlPath, ackPath} {
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	p := &perfStat{out: filepath.Join(dir, "perf.csv")}
	var err error
	// Read-write, so that opening a FIFO never waits for perf to open the
	// other end.
	if p.ctl, err = os.OpenFile(ctlPath, os.O_RDWR, 0); err != nil {
		b.Fatal(err)
	}
	if p.ack, err = os.OpenFile(ackPath, os.O_RDWR, 0); err != nil {
		p.ctl.Close()
		b.Fatal(err)
	}
	list := make([]string, len(pids))
	for i, pid := range pids {
		list[i] = strconv.Itoa(pid)
	}
	args := []string{"stat", "-x,", "-D", "-1", "--control", "fifo:" + ctlPath + "," + ackPath, "-o", p.out, "-p", strings.Join(list, ",")}
	for _, e := range events {
		args = append(args, "-e", e)
	}
	p.cmd = exec.Command("perf", args...)
	p.cmd.Stderr = &p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		p.ctl.Close()
		p.ack.Close()
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if !p.waited {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
		p.ctl.Close()
		p.ack.Close()
	})
	return p
}

// control sends perf a command (enable, disable) and waits for its
// acknowledgement: once "enable" is acknowledged, perf counts.
func (p *perfStat) control(b *testing.B, command string) {
	if _, err := p.ctl.WriteString(command + "\n"); err != nil {
		b.Fatalf("perf stat: %s: %v", command, err)
	}
	p.ack.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got []byte
	buf := make([]byte, 64)
	for !bytes.Contains(got, []byte("ack\n")) {
		n, err := p.ack.Read(buf)
		if err != nil {
			b.Fatalf("perf stat did not acknowledge %s: %v\n%s", command, err, p.stderr.String())
		}
		got = append(got, buf[:n]...)
	}
}

// stop ends perf with SIGINT, on which it writes its counts, and returns them.
func (p *perfStat) stop(b *testing.B) map[string]uint64 {
	p.cmd.Process.Signal(syscall.SIGINT)
	err := p.cmd.Wait() // it exits 130 after SIGINT
	p.waited = true
	f, openErr := os.Open(p.out)
	if openErr != nil {
		b.Fatalf("perf stat (%v): %v\n%s", err, openErr, p.stderr.String())
	}
	defer f.Close()
	counts, parseErr := parsePerfStat(f)
	if parseErr != nil {
		b.Fatalf("perf stat (%v): %v\n%s", err, parseErr, p.stderr.String())
	}
	return counts
}

// benchEnvInt is the environment variable name as a positive integer,
// def when it is unset.
func benchEnvInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// benchEnvDuration is the environment variable name as a duration of at
// least a second (wrk counts in seconds), def when it is unset.
func benchEnvDuration(b *testing.B, name string, def time.Duration) time.Duration {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second {
		b.Fatalf("%s=%q: want a duration of at least 1s", name, s)
	}
	return d
}
