// Package loadgen drives one trial's load with the vegeta library and
// aggregates the results as they stream in.
//
// Memory does not grow with the number of requests: latencies go into an HDR
// histogram and per-worker tallies are counters plus one bit per connection
// id. Two load shapes are offered, as in vegeta: a constant rate (open loop:
// requests are sent on schedule whether or not earlier ones finished) and
// maximum rate (closed loop: a fixed number of attackers, each sending the
// next request when the last one returns).
package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"clusterbench/cputime"
	"clusterbench/worker"
)

// Config is one trial's load.
type Config struct {
	URL string
	// Workers is the number of server workers expected; tallies grow if more appear.
	Workers int
	// Rate is requests per second; 0 means as fast as possible (closed loop).
	Rate     int
	Duration time.Duration
	// Warmup is sent before Duration and left out of every figure.
	Warmup time.Duration
	// Concurrency is the number of attackers: fixed at maximum rate, the
	// starting number at a constant rate (vegeta adds more when needed).
	Concurrency int
	// MaxConnections caps open connections; 0 means no cap.
	MaxConnections int
	KeepAlive      bool
	Timeout        time.Duration
	// Progress, if set, is called from time to time while the load runs.
	Progress func(Progress)
}

// Progress is a glimpse of a running trial.
type Progress struct {
	Warmup   bool
	Elapsed  time.Duration
	Duration time.Duration
	Requests uint64
	Errors   uint64
}

// Tally is what one worker served, as the client saw it.
type Tally struct {
	Requests    uint64
	Connections uint64
}

// Latency percentiles of successful requests, in milliseconds.
type Latency struct {
	Mean, P50, P90, P99, P999, Max float64
}

// Result is the client's account of the measured part of a trial.
type Result struct {
	Requests   uint64
	Successes  uint64
	Errors     uint64
	ErrorKinds map[string]uint64
	Elapsed    time.Duration
	// RateRPS is requests sent per second; ThroughputRPS successes per second.
	RateRPS       float64
	ThroughputRPS float64
	Latency       Latency
	// PerWorker is indexed by the X-Worker header.
	PerWorker []Tally
	// Unattributed counts successful responses that named no worker.
	Unattributed uint64
	// WarmupPerWorker counts successful warm-up requests per worker.
	WarmupPerWorker []uint64
	// Dials is the number of connections the client opened while measuring.
	Dials uint64
	// CPUSeconds is the load generator's own CPU time while measuring.
	CPUSeconds float64
	// Interrupted is set when ctx ended the load early.
	Interrupted bool
}

// Run sends the warm-up and then the measured load, and returns the
// measured part. An error means the load could not be sent at all.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Duration <= 0 {
		return nil, fmt.Errorf("loadgen: duration must be positive, got %v", cfg.Duration)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = vegeta.DefaultTimeout
	}

	var dials atomic.Uint64
	dialer := &net.Dialer{Timeout: cfg.Timeout}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return dialer.DialContext(ctx, network, addr)
		},
		DisableKeepAlives:   !cfg.KeepAlive,
		DisableCompression:  true,
		MaxIdleConnsPerHost: 100000,
		MaxConnsPerHost:     cfg.MaxConnections,
	}
	defer transport.CloseIdleConnections()
	// One client for warm-up and measurement, so kept-alive connections
	// opened while warming up carry on, as they would on a real server.
	client := &http.Client{
		Transport:     transport,
		Timeout:       cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	agg := newAggregate(cfg.Workers)
	agg.start = time.Now()
	if cfg.Warmup > 0 {
		target := vegeta.Target{Method: http.MethodGet, URL: cfg.URL, Header: http.Header{worker.HeaderWarmup: {"1"}}}
		interrupted := attack(ctx, cfg, client, target, cfg.Warmup, func(res *vegeta.Result) {
			agg.addWarmup(res)
			agg.progress(cfg, true)
		})
		if interrupted {
			return &Result{Interrupted: true, ErrorKinds: map[string]uint64{}}, nil
		}
	}

	dialsBefore := dials.Load()
	cpuBefore := cputime.Self()
	agg.start = time.Now()
	target := vegeta.Target{Method: http.MethodGet, URL: cfg.URL}
	interrupted := attack(ctx, cfg, client, target, cfg.Duration, func(res *vegeta.Result) {
		agg.add(res)
		agg.progress(cfg, false)
	})
	res := agg.result()
	res.Dials = dials.Load() - dialsBefore
	res.CPUSeconds = (cputime.Self() - cpuBefore).Seconds()
	res.Interrupted = interrupted
	return res, nil
}

// attack runs one vegeta attack and feeds each result to handle; it reports
// whether ctx cut the attack short.
func attack(ctx context.Context, cfg Config, client *http.Client, target vegeta.Target, d time.Duration, handle func(*vegeta.Result)) bool {
	opts := []func(*vegeta.Attacker){
		vegeta.Client(client),
		vegeta.Workers(uint64(cfg.Concurrency)),
		vegeta.MaxBody(0), // bodies are read and discarded, never kept
		vegeta.Redirects(vegeta.NoFollow),
	}
	pacer := vegeta.Pacer(vegeta.ConstantPacer{Freq: cfg.Rate, Per: time.Second})
	if cfg.Rate == 0 {
		// Closed loop: a rate of zero makes vegeta send as fast as it can,
		// so the attacker count must be fixed or it would grow without end.
		opts = append(opts, vegeta.MaxWorkers(uint64(cfg.Concurrency)))
		pacer = vegeta.ConstantPacer{}
	}
	atk := vegeta.NewAttacker(opts...)
	done := make(chan struct{})
	stopped := make(chan bool, 1)
	go func() {
		select {
		case <-ctx.Done():
			atk.Stop()
			stopped <- true
		case <-done:
			stopped <- false
		}
	}()
	for res := range atk.Attack(vegeta.NewStaticTargeter(target), pacer, d, "") {
		handle(res)
	}
	close(done)
	return <-stopped
}

// aggregate folds results into counters as they arrive; one goroutine owns it.
type aggregate struct {
	start      time.Time
	requests   uint64
	successes  uint64
	errors     uint64
	errorKinds map[string]uint64
	latency    *hdrhistogram.Histogram // microseconds
	workers    []workerTally           // by X-Worker index
	unnamed    uint64
	// warm-up requests are counted apart and never mixed into the figures
	warmRequests, warmErrors uint64
	lastReport               time.Time
}

func newAggregate(workers int) *aggregate {
	return &aggregate{
		errorKinds: map[string]uint64{},
		latency:    hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3),
		workers:    make([]workerTally, workers),
	}
}

// maxWorkerIndex bounds the X-Worker values believed, so a bad header cannot
// make the tallies huge.
const maxWorkerIndex = 1 << 16

// workerTally is everything the client counts for one worker.
type workerTally struct {
	Tally
	warmup uint64 // successful warm-up requests
	conns  idSet  // connection ids seen while measuring
}

// worker returns the tally of worker i, adding workers as they appear.
func (a *aggregate) worker(i int) *workerTally {
	for len(a.workers) <= i {
		a.workers = append(a.workers, workerTally{})
	}
	return &a.workers[i]
}

func workerOf(res *vegeta.Result) (int, bool) {
	i, err := strconv.Atoi(res.Headers.Get(worker.HeaderWorker))
	if err != nil || i < 0 || i >= maxWorkerIndex {
		return 0, false
	}
	return i, true
}

func failed(res *vegeta.Result) bool { return res.Error != "" || res.Code == 0 }

func (a *aggregate) addWarmup(res *vegeta.Result) {
	a.warmRequests++
	if failed(res) {
		a.warmErrors++
		return
	}
	if i, ok := workerOf(res); ok {
		a.worker(i).warmup++
	}
}

func (a *aggregate) add(res *vegeta.Result) {
	a.requests++
	if failed(res) {
		a.errors++
		a.errorKinds[ErrorKind(res.Code, res.Error)]++
		return
	}
	a.successes++
	_ = a.latency.RecordValue(res.Latency.Microseconds())
	i, ok := workerOf(res)
	if !ok {
		a.unnamed++
		return
	}
	w := a.worker(i)
	w.Requests++
	if id, err := strconv.ParseUint(res.Headers.Get(worker.HeaderConn), 10, 64); err == nil && w.conns.add(id) {
		w.Connections++
	}
}

func (a *aggregate) progress(cfg Config, warm bool) {
	if cfg.Progress == nil {
		return
	}
	now := time.Now()
	if now.Sub(a.lastReport) < 200*time.Millisecond {
		return
	}
	a.lastReport = now
	p := Progress{Warmup: warm, Elapsed: now.Sub(a.start), Requests: a.requests, Errors: a.errors, Duration: cfg.Duration}
	if warm {
		p.Duration, p.Requests, p.Errors = cfg.Warmup, a.warmRequests, a.warmErrors
	}
	cfg.Progress(p)
}

func (a *aggregate) result() *Result {
	elapsed := time.Since(a.start)
	ms := func(us int64) float64 { return float64(us) / 1000 }
	r := &Result{
		Requests:     a.requests,
		Successes:    a.successes,
		Errors:       a.errors,
		ErrorKinds:   a.errorKinds,
		Elapsed:      elapsed,
		Unattributed: a.unnamed,
	}
	for _, w := range a.workers {
		r.PerWorker = append(r.PerWorker, w.Tally)
		r.WarmupPerWorker = append(r.WarmupPerWorker, w.warmup)
	}
	if s := elapsed.Seconds(); s > 0 {
		r.RateRPS = float64(r.Requests) / s
		r.ThroughputRPS = float64(r.Successes) / s
	}
	if a.latency.TotalCount() > 0 {
		r.Latency = Latency{
			Mean: a.latency.Mean() / 1000,
			P50:  ms(a.latency.ValueAtQuantile(50)),
			P90:  ms(a.latency.ValueAtQuantile(90)),
			P99:  ms(a.latency.ValueAtQuantile(99)),
			P999: ms(a.latency.ValueAtQuantile(99.9)),
			Max:  ms(a.latency.Max()),
		}
	}
	return r
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
