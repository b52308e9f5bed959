package trial

import (
	"fmt"
	"os"
	"sync"
	"time"

	"clusterbench/analysis"
	"clusterbench/modes"
	"clusterbench/plan"
	"clusterbench/results"
	"clusterbench/worker"
)

// A record of the server's side alone (serve -o) is all a deployment can
// say of a load that comes from elsewhere, from other machines: what the
// workers counted, second by second, and the server's CPU time. Recorder
// keeps it while serve runs, in memory that grows with the seconds of the
// window, never with the requests.

// sampleEvery is how often the recorder reads the workers' counts: they
// send them every 100 ms, so the window's edges are known to about that.
const sampleEvery = 100 * time.Millisecond

// Recorder keeps the workers' counts and the server's CPU time while
// serve runs, for the record serve -o writes.
type Recorder struct {
	mu sync.Mutex
	// start is the first bin's start, a whole second on the server's
	// clock; width is every bin's length (doubled past MaxServedBins).
	start time.Time
	width time.Duration
	bins  []bin
	// last is the counts of the latest sample, at lastAt.
	last   []worker.Counters
	lastAt time.Time
	// The window: from the sample before the first change to the sample
	// that saw the last one; zero until a worker counts a request.
	windowStart, windowEnd time.Time
	// CPU readings of the whole server tree: the latest, at a whole
	// second, and the two that bracket the window.
	meter                cpuMeter
	cpuAt                time.Time
	cpuLast              map[int]roleCPU
	cpuStart, cpuEnd     map[int]roleCPU
	cpuStartAt, cpuEndAt time.Time
	cpuErr               error
	// pendingCPU is CPU time of seconds past the last bin, from
	// pendingAt on, until a request makes bins up to them.
	pendingCPU time.Duration
	pendingAt  time.Time
	stopped    chan struct{} // closed when watch has taken its last sample
}

// bin is one bin of the record: per worker index, requests and
// connections counted in it, and the server's CPU time.
type bin struct {
	requests, connections []uint64
	cpu                   time.Duration
}

// watch starts sampling dep, whose processes descend from this one,
// every sampleEvery until stop is closed; then it takes a last sample and
// a last CPU reading, before the workers stop, and closes r.stopped.
func (r *Recorder) watch(dep *modes.Deployment, stop <-chan struct{}) {
	r.width = time.Second
	r.meter = cpuMeter{servePID: os.Getpid(), masterPID: dep.MasterPID(), proxyPID: dep.ProxyPID()}
	r.stopped = make(chan struct{})
	r.sample(time.Now(), dep.Counts())
	go func() {
		defer close(r.stopped)
		tick := time.NewTicker(sampleEvery)
		defer tick.Stop()
		for {
			select {
			case now := <-tick.C:
				r.sample(now, dep.Counts())
			case <-stop:
				now := time.Now()
				r.sample(now, dep.Counts())
				r.mu.Lock()
				r.readCPU(now)
				r.mu.Unlock()
				return
			}
		}
	}()
}

// sample takes one reading of the counts at now: what changed since the
// last one goes into the bin of now.
func (r *Recorder) sample(now time.Time, counts []worker.Counters) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cpuLast == nil || now.Truncate(time.Second).After(r.cpuAt) {
		r.readCPU(now)
	}
	if r.last == nil {
		// From zero: whatever the workers counted before the first sample
		// is in its bin, never lost from the seconds.
		r.last, r.lastAt = make([]worker.Counters, len(counts)), now
	}
	r.add(now, counts)
}

// add puts what counts add to the last sample into the bin of now.
func (r *Recorder) add(now time.Time, counts []worker.Counters) {
	changed := false
	for i, c := range counts {
		var before worker.Counters
		if i < len(r.last) {
			before = r.last[i]
		}
		if c.Requests == before.Requests && c.Connections == before.Connections {
			continue
		}
		if !changed && r.windowStart.IsZero() {
			r.windowStart, r.cpuStart, r.cpuStartAt = r.lastAt, r.cpuLast, r.cpuAt
			r.start = r.lastAt.Truncate(time.Second)
		}
		changed = true
		b := r.binAt(now, len(counts))
		b.requests[i] += c.Requests - min(before.Requests, c.Requests)
		b.connections[i] += c.Connections - min(before.Connections, c.Connections)
	}
	if changed {
		r.windowEnd = now
	}
	r.last, r.lastAt = counts, now
}

// readCPU reads the server's CPU time at now: the second that ended gets
// what it used, and the window's end reading moves on while the workers
// still count.
func (r *Recorder) readCPU(now time.Time) {
	readings, err := r.meter.readTree()
	if err != nil {
		if r.cpuErr == nil {
			r.cpuErr = err
		}
		return
	}
	if !r.windowStart.IsZero() && r.cpuLast != nil && len(r.bins) > 0 {
		used := serverSeconds(r.cpuLast, readings)
		// A second past the last that counted a request gets no bin of its
		// own: idle time after the load must not coarsen the load's bins.
		// Its CPU waits for the next request, which makes bins up to it.
		if i := r.binIndex(r.cpuAt); i < len(r.bins) {
			r.bins[i].cpu += used
		} else {
			if r.pendingCPU == 0 {
				r.pendingAt = r.cpuAt
			}
			r.pendingCPU += used
		}
		if !r.windowEnd.Before(r.cpuAt) || r.cpuEnd == nil {
			r.cpuEnd, r.cpuEndAt = readings, now
		}
	}
	r.cpuLast, r.cpuAt = readings, now
}

// binIndex is the bin that holds t.
func (r *Recorder) binIndex(t time.Time) int { return max(0, int(t.Sub(r.start)/r.width)) }

// serverSeconds is the CPU time the whole tree used from one reading to
// the next; a process that exited meanwhile counts up to the first.
func serverSeconds(from, to map[int]roleCPU) time.Duration {
	var d time.Duration
	for pid, e := range to {
		if e.role != roleClient {
			d += max(0, e.cpu-from[pid].cpu)
		}
	}
	return d
}

// binAt returns the bin that holds t, adding bins up to it, and merges
// neighbours when there would be more than results.MaxServedBins.
func (r *Recorder) binAt(t time.Time, workers int) *bin {
	i := r.binIndex(t)
	for i >= results.MaxServedBins(len(r.last)) {
		r.coarsen()
		i = r.binIndex(t)
	}
	for len(r.bins) <= i {
		r.bins = append(r.bins, bin{})
	}
	if r.pendingCPU > 0 { // the idle seconds before t now have bins
		r.bins[r.binIndex(r.pendingAt)].cpu += r.pendingCPU
		r.pendingCPU = 0
	}
	b := &r.bins[i]
	for len(b.requests) < workers {
		b.requests = append(b.requests, 0)
		b.connections = append(b.connections, 0)
	}
	return b
}

// coarsen merges the bins in pairs, doubling their width.
func (r *Recorder) coarsen() {
	merged := make([]bin, (len(r.bins)+1)/2)
	for i, b := range r.bins {
		m := &merged[i/2]
		m.cpu += b.cpu
		for w := range b.requests {
			for len(m.requests) <= w {
				m.requests = append(m.requests, 0)
				m.connections = append(m.connections, 0)
			}
			m.requests[w] += b.requests[w]
			m.connections[w] += b.connections[w]
		}
	}
	r.bins, r.width = merged, 2*r.width
}

// client names the command serve runs against the deployment: its CPU
// time is the client's, not the server's.
func (r *Recorder) client(pid int) {
	r.mu.Lock()
	r.meter.clientPID = pid
	r.mu.Unlock()
}

// finish takes the workers' final counts, given as they stopped: what
// they served after the last sample counts at now.
func (r *Recorder) finish(now time.Time, final []worker.Counters) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		r.last, r.lastAt = final, now
		return
	}
	r.add(now, final)
}

// served is the record's Served, with the seconds of the window only;
// nil when no worker counted a request.
func (r *Recorder) served(workers int) *results.Served {
	if r.windowStart.IsZero() {
		return nil
	}
	s := &results.Served{Start: r.start, WindowStart: r.windowStart, WindowEnd: r.windowEnd}
	last := min(len(r.bins)-1, int(r.windowEnd.Sub(r.start)/r.width))
	for i, b := range r.bins[:last+1] {
		sec := results.ServedSecond{
			T: (time.Duration(i) * r.width).Seconds(), Seconds: r.width.Seconds(),
			Requests: make([]uint64, workers), Connections: make([]uint64, workers), CPUSeconds: b.cpu.Seconds(),
		}
		copy(sec.Requests, b.requests)
		copy(sec.Connections, b.connections)
		s.Seconds = append(s.Seconds, sec)
	}
	return s
}

// windowCPU is the server's CPU time per role over the window, from the
// whole-second readings that bracket it.
func (r *Recorder) windowCPU(exited map[int]float64) (serverCPU, error) {
	if r.cpuErr != nil {
		return serverCPU{}, r.cpuErr
	}
	if r.cpuStart == nil || r.cpuEnd == nil {
		return serverCPU{}, fmt.Errorf("no CPU reading brackets the window")
	}
	m := r.meter
	m.start, m.startAt, m.end, m.endAt = r.cpuStart, r.cpuStartAt, r.cpuEnd, r.cpuEndAt
	return m.used(exited)
}

// The names a record of serve gives what it cannot know: the load came
// from elsewhere, in one experiment of one repetition.
const (
	ServeExperiment = "serve"
	ExternalLoad    = "external"
)

// Trial is the record of what the deployment d served while r watched
// it, from the server's side alone: the workers' counts, their shares and
// the server's CPU time, over the window in which the workers counted
// requests. account is what serve's deployment said when it stopped.
func (r *Recorder) Trial(d plan.Deployment, account *ServeAccount) results.Trial {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := newRecord(plan.Trial{Experiment: ServeExperiment, Rep: 1, Reps: 1, Deployment: d, Load: plan.Load{Name: ExternalLoad}})
	rec.Origin = results.OriginServe
	rec.Served = r.served(len(account.Workers))
	if rec.Served == nil {
		rec.Error = "no worker counted a request while serve ran: nothing reached it"
		return rec
	}
	rec.Started = r.windowStart
	window := r.windowEnd.Sub(r.windowStart).Seconds()
	rec.DurationSeconds, rec.Load.DurationSeconds = window, window
	used, cpuErr := r.windowCPU(account.exitedCPU())
	var requests, connections uint64
	rec.PerWorker = make([]results.WorkerCounts, len(account.Workers))
	for i, s := range account.Workers {
		w := &rec.PerWorker[i]
		w.Index, w.PID = i, s.PID
		w.WorkerRequests, w.WorkerConnections, w.WorkerAccepted = s.Requests, s.Connections, s.Accepted
		w.LifetimeCPUSeconds, w.Restarts = s.CPUSeconds, s.Restarts
		w.CPUSeconds = used.workers[s.PID]
		if len(s.Processes) > 0 {
			w.CPUSeconds = 0
			for _, p := range s.Processes {
				w.CPUSeconds += used.workers[p.PID]
				w.Processes = append(w.Processes, results.ProcessCounts{PID: p.PID,
					WorkerRequests: p.Requests, WorkerConnections: p.Connections, Final: p.Final, Killed: p.Killed})
			}
		}
		requests += s.Requests
		connections += s.Connections
	}
	rec.Requests, rec.Successes = requests, requests
	rec.ThroughputRPS = float64(requests) / window
	// The client chose; the workers saw it as more than one request on a connection.
	rec.KeepAlive = requests > connections
	rec.CountsAgree = true
	rec.CountsAuthority = "workers: the only count, for the load came from elsewhere"
	rec.Counting = "the workers alone (serve -o): the load came from elsewhere, so latency and failed requests are its client's to see"
	if analysis.SharesApply(&rec) {
		rec.Fairness = results.FairnessPair{
			Requests:    analysis.FairnessOf(rec.RequestCounts()),
			Connections: analysis.FairnessOf(rec.ConnectionCounts()),
		}
	}
	noteCPU(&rec, used)
	if cpuErr != nil {
		rec.Warnings = append(rec.Warnings, "server CPU not measured: "+cpuErr.Error())
	}
	noteDeployment(&rec, account)
	if idle := idleSeconds(rec.Served); idle > 0 {
		rec.Warnings = append(rec.Warnings, fmt.Sprintf("no request was counted in %d of the window's %d seconds: its throughput spans the pauses of the load", idle, len(rec.Served.Seconds)))
	}
	return rec
}

// idleSeconds counts the bins inside the window in which no worker
// counted a request: pauses of a load that the throughput spans.
func idleSeconds(s *results.Served) int {
	idle := 0
	for _, sec := range s.Seconds {
		var n uint64
		for _, c := range sec.Requests {
			n += c
		}
		if n == 0 {
			idle++
		}
	}
	return idle
}

// ServeRun is the run record serve -o writes: the one trial of the
// server's side, with the command line that served it.
func ServeRun(t results.Trial, d plan.Deployment, commandLine, isolation string) *results.Run {
	r := &results.Run{
		Schema:       results.Schema,
		Scenario:     "clusterbench serve",
		ScenarioText: commandLine,
		Started:      t.Started,
		Finished:     time.Now(),
		Complete:     true,
		Host:         hostInfo(isolation),
		Trials:       []results.Trial{t},
	}
	notePrograms(&r.Host, plan.Trial{Deployment: d})
	return r
}
