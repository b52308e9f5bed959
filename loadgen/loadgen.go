// Package loadgen drives one trial's load and aggregates the results as
// they arrive, with one of two engines that fill the same Result:
//
//   - vegeta (the default), as a library in this process. At a constant
//     rate it is open loop: requests leave on schedule whether or not
//     earlier ones returned, so a slow server shows as latency, not as a
//     lower rate. At maximum rate it is closed loop with a fixed number of
//     attackers. Its Go HTTP client costs more CPU per request than the
//     servers it measures, so on a small machine a maximum-rate trial may
//     measure vegeta rather than the server.
//   - wrk, the C load generator, run as a child with a Lua script that
//     counts responses per worker. It is closed loop only: each
//     connection sends its next request when the last one returns, so a
//     stalled server also stalls the load, and the requests that were
//     never sent meanwhile have no latency (coordinated omission). wrk
//     makes up for it roughly after the run: for every slow response it
//     adds the requests a connection would have sent meanwhile at its
//     average pace, so its latency distribution counts more requests than
//     were answered (a fifth more, at maximum rate on 2 busy cores). It
//     is for the question "how fast can this go".
//
// Memory does not grow with the number of requests: latencies go into
// histograms and per-worker tallies are counters plus one bit per
// connection id.
package loadgen

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"clusterbench/plan"
)

// Config is one trial's load.
type Config struct {
	// Engine drives the load; "" is vegeta.
	Engine plan.Engine
	URL    string
	// Workers is the number of server workers expected; tallies grow if more appear.
	Workers int
	// Rate is requests per second; 0 means as fast as possible (closed loop).
	Rate     int
	Duration time.Duration
	// Warmup is sent before Duration and left out of every figure.
	Warmup time.Duration
	// Concurrency is the number of requests in flight at maximum rate
	// (vegeta's attackers, wrk's connections); at a constant rate, vegeta's
	// starting number of attackers (it adds more when needed).
	Concurrency int
	// MaxConnections caps open connections (vegeta); 0 means no cap.
	MaxConnections int
	KeepAlive      bool
	Timeout        time.Duration
	// CPUs is how many CPUs the load generator may use: wrk runs one
	// thread per CPU, at most one per connection. 0 means all of them.
	CPUs int
	// Progress, if set, is called from time to time while the load runs.
	Progress func(Progress)
	// Phase, if set, is called with true just before the measured load
	// starts and with false just after it ends, so that the caller can read
	// other processes' CPU time over the same span.
	Phase func(measuring bool)
	// Fault, if set, is injected once while measuring (vegeta only).
	Fault *Fault
}

// Fault is something done to the server at a time into the measured load,
// such as killing workers. The client's account is split at the moment
// Inject is called, so that what the fault did can be told apart.
type Fault struct {
	At     time.Duration
	Inject func()
}

// Progress is a glimpse of a running trial.
type Progress struct {
	Warmup   bool
	Elapsed  time.Duration
	Duration time.Duration
	// Counting is false for engines that count only at the end (wrk):
	// then Requests and Errors are zero.
	Counting bool
	Requests uint64
	Errors   uint64
}

// Tally is what one worker served, as the client saw it.
type Tally struct {
	Requests    uint64
	Connections uint64
}

// ProcessTally is what one worker process served, as the client saw it.
type ProcessTally struct {
	Worker int
	PID    int // 0 for responses without X-Worker-Pid
	Tally
	// FirstSuccess is when its first response arrived, from the start of
	// the measured load.
	FirstSuccess time.Duration
}

// Second is what completed in one second of the measured load, by the time
// each response (or error) arrived.
type Second struct {
	Requests   uint64
	Successes  uint64
	Errors     uint64
	ErrorKinds map[string]uint64
}

// Window is what completed in part of the measured load.
type Window struct {
	Requests   uint64
	Successes  uint64
	Errors     uint64
	ErrorKinds map[string]uint64
	// FirstError and LastError are when the first and the last error
	// arrived, from the start of the measured load; 0 without errors.
	FirstError, LastError time.Duration
}

// Latency percentiles of successful requests, with their standard
// deviation, in milliseconds.
type Latency struct {
	Mean, P50, P90, P99, P999, Max, Stddev float64
}

// Result is the client's account of the measured part of a trial.
type Result struct {
	Requests   uint64
	Successes  uint64
	Errors     uint64
	ErrorKinds map[string]uint64
	// Start is when the measured load began (wall clock), Elapsed how
	// long it lasted: from the first request to the last result of a
	// merge of several hosts' results.
	Start   time.Time
	Elapsed time.Duration
	// RateRPS is requests sent per second; ThroughputRPS successes per second.
	RateRPS       float64
	ThroughputRPS float64
	Latency       Latency
	// LatencyHistogram is the latency of successful requests while
	// measuring, in microseconds: vegeta's own, and for wrk the
	// distribution wrk reports, which includes the requests its
	// coordinated-omission correction adds (so it may count more than
	// Successes). nil when wrk's script could not read it.
	LatencyHistogram *hdrhistogram.Histogram
	// PerWorker is indexed by the X-Worker header.
	PerWorker []Tally
	// Processes is what each worker process served (X-Worker-Pid), so
	// that a replacement is told apart from the process it replaced; nil
	// for wrk, which does not read the header.
	Processes []ProcessTally
	// Series is the measured load second by second (vegeta only).
	Series []Second
	// FaultAt is when the fault was injected, from the start of the
	// measured load, and AfterFault what the client saw from then on;
	// nil without a fault.
	FaultAt    time.Duration
	AfterFault *Window
	// FaultTimeline is what completed millisecond by millisecond from
	// shortly before the fault on (vegeta only); nil without a fault.
	FaultTimeline *Timeline
	// Unattributed counts successful responses that named no worker.
	Unattributed uint64
	// WarmupPerWorker counts successful warm-up requests per worker.
	WarmupPerWorker []uint64
	// Dials is the number of connections the client opened while
	// measuring; wrk does not say, so for it this is the connections that
	// carried a response.
	Dials uint64
	// CPUSeconds is the load generator's own CPU time while measuring.
	CPUSeconds float64
	// Threads is how many threads wrk ran; 0 for vegeta, which uses as
	// many as Go gives it.
	Threads int
	// PeakRSSBytes is the most memory the load generator's process held.
	PeakRSSBytes uint64
	// Interrupted is set when ctx ended the load early.
	Interrupted bool
}

// Drive sends one trial's warm-up and then its measured load, and returns
// the measured part. An error means the load could not be sent at all.
func Drive(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Duration <= 0 {
		return nil, fmt.Errorf("loadgen: duration must be positive, got %v", cfg.Duration)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Phase == nil {
		cfg.Phase = func(bool) {}
	}
	if f := cfg.Fault; f != nil && (f.At < 0 || f.At >= cfg.Duration) {
		return nil, fmt.Errorf("loadgen: a fault at %v is not within the measured %v", f.At, cfg.Duration)
	}
	switch cfg.Engine {
	case "", plan.Vegeta:
		return runVegeta(ctx, cfg)
	case plan.Wrk:
		return runWrk(ctx, cfg)
	}
	_, err := plan.ParseEngine(string(cfg.Engine))
	return nil, fmt.Errorf("loadgen: %w", err)
}

// newLatencyHistogram holds latencies in microseconds, from 1 µs to an
// hour, to 3 significant digits.
func newLatencyHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)
}

// peakRSS is this process's high-water mark of resident memory, from
// /proc/self/status; 0 if unknown.
func peakRSS() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// ErrorKind names the kind of a failed request: an HTTP status, or the
// network failure behind a transport error.
func ErrorKind(code uint16, msg string) string {
	if msg == "" || (code != 0 && strings.HasPrefix(msg, strconv.Itoa(int(code)))) {
		return "http_" + strconv.Itoa(int(code))
	}
	switch {
	case strings.Contains(msg, "connection refused"):
		return "refused"
	case strings.Contains(msg, "connection reset"):
		return "reset"
	case strings.Contains(msg, "Client.Timeout"), strings.Contains(msg, "deadline exceeded"), strings.Contains(msg, "timeout"):
		return "timeout"
	case strings.Contains(msg, "EOF"):
		return "eof"
	case strings.Contains(msg, "cannot assign requested address"):
		return "no_local_port"
	}
	return "other"
}

// idSet is a bitset of connection ids; ids are small dense integers.
type idSet struct{ words []uint64 }

// maxConnID bounds the ids believed (2^32 connections, 512 MiB of bits).
const maxConnID = 1 << 32

// add reports whether id was new.
func (s *idSet) add(id uint64) bool {
	if id >= maxConnID {
		return false
	}
	w, bit := id/64, uint64(1)<<(id%64)
	for uint64(len(s.words)) <= w {
		s.words = append(s.words, 0)
	}
	if s.words[w]&bit != 0 {
		return false
	}
	s.words[w] |= bit
	return true
}
