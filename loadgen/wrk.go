package loadgen

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"

	"clusterbench/internal/tail"
	"clusterbench/plan"
)

// wrkScript counts responses per worker in every wrk thread.
//
//go:embed wrk.lua
var wrkScript string

// wrkReportPrefix starts the line the script's done() prints.
const wrkReportPrefix = "clusterbench-wrk "

// WrkAvailable returns nil if wrk can run here, or what to install.
func WrkAvailable() error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("wrk is not installed (apt-get install wrk)")
	}
	return nil
}

// runWrk drives the load with wrk: a warm-up run, then the measured run.
// Keep-alive connections do not carry over from one to the other.
func runWrk(ctx context.Context, cfg Config) (*Result, error) {
	if err := WrkAvailable(); err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	if err := plan.CheckWrk(cfg.Rate, cfg.MaxConnections, cfg.Duration, cfg.Warmup); err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	if cfg.Fault != nil {
		return nil, fmt.Errorf("loadgen: %w", plan.ErrWrkFault)
	}
	cpus := cfg.CPUs
	if cpus <= 0 {
		cpus = runtime.NumCPU()
	}
	threads := wrkThreads(cfg.Concurrency, cpus)

	var warmup *wrkRun
	if cfg.Warmup > 0 {
		var err error
		if warmup, err = startWrk(ctx, cfg, threads, cfg.Warmup, true); err != nil {
			return nil, err
		}
		if err := warmup.wait(ctx, cfg); err != nil {
			return nil, err
		}
		if warmup.interrupted {
			return &Result{Interrupted: true, ErrorKinds: map[string]uint64{}}, nil
		}
	}
	cfg.Phase(true)
	measured, err := startWrk(ctx, cfg, threads, cfg.Duration, false)
	if err != nil {
		cfg.Phase(false)
		return nil, err
	}
	err = measured.wait(ctx, cfg)
	cfg.Phase(false)
	if err != nil {
		return nil, err
	}
	if measured.interrupted {
		return &Result{Interrupted: true, ErrorKinds: map[string]uint64{}}, nil
	}
	res := measured.result(cfg.Workers)
	res.Threads = threads
	if warmup != nil {
		res.PeakRSSBytes = max(res.PeakRSSBytes, warmup.peakRSS())
		for w, n := range warmup.report.Served {
			res.WarmupPerWorker[res.growTo(w)] = n
		}
	}
	return res, nil
}

// wrkThreads is how many threads wrk runs: one per CPU, at most one per
// connection, and a divisor of the connections, because wrk gives each
// thread connections/threads of them and drops the remainder.
func wrkThreads(connections, cpus int) int {
	t := max(1, min(connections, cpus))
	for connections%t != 0 {
		t--
	}
	return t
}

// wrkRun is one wrk process.
type wrkRun struct {
	cmd         *exec.Cmd
	duration    time.Duration
	warmup      bool
	threads     int
	stdout      bytes.Buffer
	stderr      tail.Buffer
	stderrPipe  io.ReadCloser
	report      wrkReport
	interrupted bool
}

// wrkReport is the line the script prints when wrk is done.
type wrkReport struct {
	// ElapsedS is from the first request sent to the last response.
	ElapsedS    float64           `json:"elapsed_s"`
	DurationUs  float64           `json:"duration_us"`
	Responses   uint64            `json:"responses"`
	Served      map[string]uint64 `json:"served"`
	Connections map[string]uint64 `json:"connections"`
	Statuses    map[string]uint64 `json:"statuses"`
	Unnamed     uint64            `json:"unnamed"`
	Errors      map[string]uint64 `json:"errors"`
	LatencyUs   struct {
		Mean, P50, P90, P99, P999, Max, Stdev float64
	} `json:"latency_us"`
	// LatencyBuckets is wrk's latency distribution as pairs: a latency in
	// microseconds, less the previous pair's, and its count; nil when the
	// script could not read it.
	LatencyBuckets *[]uint64 `json:"latency_buckets"`
}

func startWrk(ctx context.Context, cfg Config, threads int, d time.Duration, warmup bool) (*wrkRun, error) {
	// The script goes to wrk as an anonymous in-memory file, so there is
	// nothing on disk to clean up, however the run ends.
	fd, err := unix.MemfdCreate("clusterbench-wrk.lua", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("loadgen: wrk script: %w", err)
	}
	script := os.NewFile(uintptr(fd), "clusterbench-wrk.lua")
	defer script.Close()
	if _, err := script.WriteString(wrkScript); err != nil {
		return nil, fmt.Errorf("loadgen: wrk script: %w", err)
	}
	phase, conn := "measure", "keepalive"
	if warmup {
		phase = "warmup"
	}
	if !cfg.KeepAlive {
		conn = "close"
	}
	seconds := int(d / time.Second)
	timeout := int(math.Ceil(cfg.Timeout.Seconds()))
	args := []string{
		"--threads", strconv.Itoa(threads),
		"--connections", strconv.Itoa(cfg.Concurrency),
		// Past the measured seconds, the requests in flight have up to
		// the timeout to finish; wrk is stopped as soon as they have.
		"--duration", fmt.Sprintf("%ds", seconds+timeout),
		"--timeout", fmt.Sprintf("%ds", timeout),
		"--script", "/dev/fd/3",
		cfg.URL, "--", phase, conn, strconv.Itoa(seconds), strconv.Itoa(cfg.Concurrency / threads),
	}
	r := &wrkRun{cmd: exec.Command("wrk", args...), duration: d, warmup: warmup, threads: threads}
	r.cmd.ExtraFiles = []*os.File{script}
	r.cmd.Stdout = &r.stdout
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if r.stderrPipe, err = r.cmd.StderrPipe(); err != nil {
		return nil, fmt.Errorf("loadgen: start wrk: %w", err)
	}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("loadgen: start wrk: %w", err)
	}
	return r, nil
}

// drainedLine is what the script writes on stderr when a thread has
// nothing more in flight.
const drainedLine = "clusterbench-wrk drained"

// wait waits for wrk to finish, reporting progress meanwhile; if ctx ends
// first, wrk is killed and the run marked interrupted.
func (r *wrkRun) wait(ctx context.Context, cfg Config) error {
	drained := make(chan struct{})
	go r.readStderr(drained)
	exited := make(chan error, 1)
	go func() {
		<-drained // Wait must not close the pipe before it is read to the end
		exited <- r.cmd.Wait()
	}()
	start := time.Now()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			if err != nil {
				return fmt.Errorf("loadgen: wrk: %v: %s", err, lastLines(&r.stderr, &r.stdout))
			}
			return r.parse()
		case <-ctx.Done():
			_ = r.cmd.Process.Kill()
			<-exited
			r.interrupted = true
			return nil
		case now := <-tick.C:
			if cfg.Progress != nil {
				cfg.Progress(Progress{Warmup: r.warmup, Elapsed: now.Sub(start), Duration: r.duration})
			}
		}
	}
}

// readStderr keeps what wrk says and sends it SIGINT once every thread
// has drained; it closes done when stderr ends.
func (r *wrkRun) readStderr(done chan<- struct{}) {
	defer close(done)
	threads := 0
	sc := bufio.NewScanner(r.stderrPipe)
	for sc.Scan() {
		if sc.Text() != drainedLine {
			fmt.Fprintln(&r.stderr, sc.Text())
			continue
		}
		if threads++; threads == r.threads {
			_ = r.cmd.Process.Signal(os.Interrupt) // wrk prints its report and exits
		}
	}
}

func (r *wrkRun) parse() error {
	// Not a bufio.Scanner: the report line holds the latency buckets and
	// may be longer than a scanner's line limit.
	for line := range bytes.Lines(r.stdout.Bytes()) {
		if line, ok := bytes.CutPrefix(line, []byte(wrkReportPrefix)); ok {
			if err := json.Unmarshal(line, &r.report); err != nil {
				return fmt.Errorf("loadgen: wrk script's report: %w", err)
			}
			return nil
		}
	}
	return fmt.Errorf("loadgen: wrk printed no report: %s", lastLines(&r.stderr, &r.stdout))
}

// result turns the script's report into the common Result.
func (r *wrkRun) result(workers int) *Result {
	rep := r.report
	if rep.ElapsedS <= 0 { // no response at all: wrk's own span
		rep.ElapsedS = rep.DurationUs / 1e6
	}
	res := &Result{
		ErrorKinds:      map[string]uint64{},
		Elapsed:         time.Duration(rep.ElapsedS * float64(time.Second)),
		Unattributed:    rep.Unnamed,
		PerWorker:       make([]Tally, workers),
		WarmupPerWorker: make([]uint64, workers),
		PeakRSSBytes:    r.peakRSS(),
		CPUSeconds:      (r.cmd.ProcessState.UserTime() + r.cmd.ProcessState.SystemTime()).Seconds(),
	}
	for w, n := range rep.Served {
		res.PerWorker[res.growTo(w)].Requests = n
	}
	for w, n := range rep.Connections {
		res.PerWorker[res.growTo(w)].Connections = n
	}
	res.Successes = rep.Unnamed
	for _, t := range res.PerWorker {
		res.Successes += t.Requests
		res.Dials += t.Connections
	}
	for code, n := range rep.Statuses {
		res.ErrorKinds["http_"+code] += n
		res.Errors += n
	}
	// wrk counts socket errors by the call that failed.
	for kind, n := range rep.Errors {
		if n > 0 {
			res.ErrorKinds[kind] += n
			res.Errors += n
		}
	}
	res.Requests = res.Successes + res.Errors
	if s := res.Elapsed.Seconds(); s > 0 {
		res.RateRPS = float64(res.Requests) / s
		res.ThroughputRPS = float64(res.Successes) / s
	}
	ms := func(us float64) float64 { return us / 1000 }
	l := rep.LatencyUs
	res.Latency = Latency{Mean: ms(l.Mean), P50: ms(l.P50), P90: ms(l.P90), P99: ms(l.P99), P999: ms(l.P999), Max: ms(l.Max), Stddev: ms(l.Stdev)}
	if rep.LatencyBuckets != nil {
		res.LatencyHistogram = bucketHistogram(*rep.LatencyBuckets)
	}
	return res
}

// bucketHistogram is the histogram of the script's latency buckets.
func bucketHistogram(pairs []uint64) *hdrhistogram.Histogram {
	h := newLatencyHistogram()
	var us uint64
	for i := 0; i+1 < len(pairs); i += 2 {
		us += pairs[i]
		_ = h.RecordValues(int64(us), int64(pairs[i+1])) // only past an hour, which wrk's timeout never reaches
	}
	return h
}

// growTo makes room in the per-worker tallies for worker w, a whole
// number below 65536 as the script writes it, and returns its index.
func (r *Result) growTo(w string) int {
	i, _ := strconv.Atoi(w)
	for len(r.PerWorker) <= i {
		r.PerWorker = append(r.PerWorker, Tally{})
		r.WarmupPerWorker = append(r.WarmupPerWorker, 0)
	}
	return i
}

// peakRSS is the most memory the wrk process held.
func (r *wrkRun) peakRSS() uint64 {
	if ru, ok := r.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return uint64(ru.Maxrss) * 1024 // kilobytes on Linux
	}
	return 0
}

// lastLines says what wrk said last, from stderr or else stdout.
func lastLines(stderr *tail.Buffer, stdout *bytes.Buffer) string {
	lines := stderr.Lines()
	if len(lines) == 0 {
		lines = strings.Split(strings.TrimSpace(stdout.String()), "\n")
	}
	if len(lines) > 2 {
		lines = lines[len(lines)-2:]
	}
	if msg := strings.TrimSpace(strings.Join(lines, " | ")); msg != "" {
		return msg
	}
	return "no message"
}
