package loadgen

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"clusterbench/internal/cputime"
	"clusterbench/worker"
)

// runVegeta drives the load with the vegeta library, in this process.
func runVegeta(ctx context.Context, cfg Config) (*Result, error) {
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

	agg := newAggregate(cfg.Workers, cfg.Duration)
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

	cfg.Phase(true)
	dialsBefore := dials.Load()
	cpuBefore := cputime.Self()
	agg.start = time.Now()
	if f := cfg.Fault; f != nil {
		agg.after = &Window{ErrorKinds: map[string]uint64{}}
		agg.timeline = newTimeline(f.At)
		timer := time.AfterFunc(f.At, func() {
			// Noted before the fault, so nothing it causes is counted before it.
			agg.faultAt.Store(int64(time.Since(agg.start)))
			f.Inject()
		})
		defer timer.Stop()
	}
	target := vegeta.Target{Method: http.MethodGet, URL: cfg.URL}
	interrupted := attack(ctx, cfg, client, target, cfg.Duration, func(res *vegeta.Result) {
		agg.add(res)
		agg.progress(cfg, false)
	})
	res := agg.result(time.Since(agg.start))
	res.CPUSeconds = (cputime.Self() - cpuBefore).Seconds()
	cfg.Phase(false)
	res.Dials = dials.Load() - dialsBefore
	res.Interrupted = interrupted
	res.PeakRSSBytes = peakRSS()
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

// aggregate folds results into counters as they arrive; one goroutine owns
// it. Its memory grows with the workers, their processes and the seconds
// of the load, never with the number of requests.
type aggregate struct {
	start      time.Time
	requests   uint64
	successes  uint64
	errors     uint64
	errorKinds map[string]uint64
	latency    *hdrhistogram.Histogram // microseconds
	workers    []workerTally           // by X-Worker index
	processes  []*processTally         // in order of first appearance
	unnamed    uint64
	series     []Second
	seconds    int // the series' length: the load's duration in whole seconds, rounded up
	// faultAt is when the fault was injected, in nanoseconds from start;
	// -1 before. after is what completed from then on; nil without a fault.
	faultAt atomic.Int64
	after   *Window
	// timeline is the fault's millisecond bins; nil without a fault.
	timeline *Timeline
	// warm-up requests are counted apart and never mixed into the figures
	warmRequests, warmErrors uint64
	lastReport               time.Time
}

func newAggregate(workers int, duration time.Duration) *aggregate {
	a := &aggregate{
		seconds:    max(1, int((duration+time.Second-1)/time.Second)),
		errorKinds: map[string]uint64{},
		latency:    newLatencyHistogram(),
		workers:    make([]workerTally, workers),
	}
	a.faultAt.Store(-1)
	return a
}

// maxWorkerIndex bounds the X-Worker values believed, so a bad header cannot
// make the tallies huge.
const maxWorkerIndex = 1 << 16

// maxProcesses bounds the worker processes told apart; responses of any
// more count under their worker only.
const maxProcesses = 1 << 12

// workerTally is everything the client counts for one worker index.
type workerTally struct {
	Tally
	warmup uint64 // successful warm-up requests
}

// processTally is what the client counts for one worker process.
type processTally struct {
	ProcessTally
	conns idSet // connection ids seen while measuring; ids restart in a new process
}

// worker returns the tally of worker i, adding workers as they appear.
func (a *aggregate) worker(i int) *workerTally {
	for len(a.workers) <= i {
		a.workers = append(a.workers, workerTally{})
	}
	return &a.workers[i]
}

// process returns the tally of worker i's process pid, adding it with its
// first success at done.
func (a *aggregate) process(i, pid int, done time.Duration) *processTally {
	for _, p := range a.processes {
		if p.Worker == i && p.PID == pid {
			p.FirstSuccess = min(p.FirstSuccess, done) // results arrive a little out of order
			return p
		}
	}
	if len(a.processes) >= maxProcesses {
		return nil
	}
	p := &processTally{ProcessTally: ProcessTally{Worker: i, PID: pid, FirstSuccess: done}}
	a.processes = append(a.processes, p)
	return p
}

// second returns the series entry of the second in which done falls;
// what completes after the load's end counts in its last second.
func (a *aggregate) second(done time.Duration) *Second {
	i := min(max(0, int(done/time.Second)), a.seconds-1)
	for len(a.series) <= i {
		a.series = append(a.series, Second{})
	}
	return &a.series[i]
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
	done := max(0, res.Timestamp.Add(res.Latency).Sub(a.start))
	sec := a.second(done)
	var after *Window
	if at := a.faultAt.Load(); at >= 0 && int64(done) >= at {
		after = a.after
	}
	bad := failed(res)
	a.requests++
	sec.Requests++
	if a.timeline != nil {
		a.timeline.add(done, bad)
	}
	if after != nil {
		after.Requests++
	}
	if bad {
		kind := ErrorKind(res.Code, res.Error)
		a.errors++
		a.errorKinds[kind]++
		sec.Errors++
		if sec.ErrorKinds == nil {
			sec.ErrorKinds = map[string]uint64{}
		}
		sec.ErrorKinds[kind]++
		if after != nil {
			after.Errors++
			after.ErrorKinds[kind]++
			if after.FirstError == 0 || done < after.FirstError {
				after.FirstError = done
			}
			after.LastError = max(after.LastError, done)
		}
		return
	}
	a.successes++
	sec.Successes++
	if after != nil {
		after.Successes++
	}
	_ = a.latency.RecordValue(res.Latency.Microseconds())
	i, ok := workerOf(res)
	if !ok {
		a.unnamed++
		return
	}
	w := a.worker(i)
	w.Requests++
	pid, _ := strconv.Atoi(res.Headers.Get(worker.HeaderPID))
	p := a.process(i, pid, done)
	if p == nil {
		return
	}
	p.Requests++
	if id, err := strconv.ParseUint(res.Headers.Get(worker.HeaderConn), 10, 64); err == nil && p.conns.add(id) {
		p.Connections++
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
	p := Progress{Warmup: warm, Counting: true, Elapsed: now.Sub(a.start), Requests: a.requests, Errors: a.errors, Duration: cfg.Duration}
	if warm {
		p.Duration, p.Requests, p.Errors = cfg.Warmup, a.warmRequests, a.warmErrors
	}
	cfg.Progress(p)
}

// result is what the aggregate holds, over elapsed from its start.
func (a *aggregate) result(elapsed time.Duration) *Result {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	r := &Result{
		Start:        a.start,
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
	for _, p := range a.processes {
		r.Processes = append(r.Processes, p.ProcessTally)
	}
	r.Series = a.series
	if at := a.faultAt.Load(); at >= 0 {
		r.FaultAt, r.AfterFault, r.FaultTimeline = time.Duration(at), a.after, a.timeline
	}
	if s := elapsed.Seconds(); s > 0 {
		r.RateRPS = float64(r.Requests) / s
		r.ThroughputRPS = float64(r.Successes) / s
	}
	r.LatencyHistogram = a.latency
	if a.latency.TotalCount() > 0 {
		r.Latency = Latency{
			Mean: a.latency.Mean() / 1000,
			P50:  ms(a.latency.ValueAtQuantile(50)),
			P90:  ms(a.latency.ValueAtQuantile(90)),
			P99:  ms(a.latency.ValueAtQuantile(99)),
			P999: ms(a.latency.ValueAtQuantile(99.9)),
			Max:  ms(a.latency.Max()),
			// From the histogram, so to its precision (3 significant digits).
			Stddev: a.latency.StdDev() / 1000,
		}
	}
	return r
}
