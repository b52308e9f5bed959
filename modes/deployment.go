package modes

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"clusterbench/worker"
)

// Config describes one deployment: a mode, its workers and their app.
type Config struct {
	Addr    string // public address; port 0 picks a free one
	Workers int
	// ProxyProcesses and UpstreamKeepAlive configure proxy modes (see Setup).
	ProxyProcesses    int
	UpstreamKeepAlive bool
	Handler           worker.Handler
	Launcher          worker.Launcher
	// Respawn replaces a worker that exits while the deployment runs, as a
	// Node app does with cluster.on('exit') and fork().
	Respawn bool
	// Logf reports events as they happen; nil is silent.
	Logf func(format string, args ...any)
}

// readyTimeout bounds how long workers may take to start serving.
const readyTimeout = 10 * time.Second

// maxRestarts bounds replacements per worker, so that a worker that cannot
// start does not turn into a fork loop.
const maxRestarts = 10

// Deployment is a mode with its workers running.
type Deployment struct {
	frontend Frontend
	cfg      Config
	spinRate float64
	ready    time.Time // when every worker first served

	stopping    context.Context // done once Stop begins
	stop        context.CancelFunc
	supervisors sync.WaitGroup

	mu       sync.Mutex
	slots    []*slot
	restarts []Restart
}

// slot is one worker index and the processes that held it.
type slot struct {
	current *worker.Process
	past    []*worker.Process // exited and replaced
}

// WorkerResult is one worker index's final account, summed over the
// processes that held it.
type WorkerResult struct {
	worker.Counters
	CPUSeconds float64 `json:"cpu_seconds"`
	Restarts   int     `json:"restarts,omitempty"`
}

// Restart records a worker that exited while the deployment ran.
type Restart struct {
	Worker int    `json:"worker"`
	PID    int    `json:"pid"`
	Exit   string `json:"exit"` // how it ended, e.g. "signal: killed"
	// ExitedAt is seconds since the deployment was ready.
	ExitedAt       float64 `json:"exited_at_seconds"`
	ReplacementPID int     `json:"replacement_pid,omitempty"`
	// ReadyAfter is seconds from the exit until the replacement served.
	ReadyAfter float64 `json:"ready_after_seconds,omitempty"`
	// Error says why there is no serving replacement.
	Error string `json:"error,omitempty"`
}

// Report is a deployment's account when it stops.
type Report struct {
	Workers  []WorkerResult    `json:"workers"`
	Restarts []Restart         `json:"restarts,omitempty"`
	Frontend map[string]uint64 `json:"frontend,omitempty"` // what the master or proxy counted
	// ProxyCPUSeconds is the proxy program's CPU time, in proxy modes.
	ProxyCPUSeconds float64 `json:"proxy_cpu_seconds,omitempty"`
}

// Deploy opens the mode and starts its workers, and returns once every
// worker serves. On error nothing is left running.
func Deploy(ctx context.Context, s Spec, cfg Config) (d *Deployment, err error) {
	m := s.Mode
	if cfg.Workers < 1 {
		return nil, fmt.Errorf("%s: need at least one worker, got %d", m.Name(), cfg.Workers)
	}
	if err := Available(m); err != nil {
		return nil, fmt.Errorf("%s: not available: %w", m.Name(), err)
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	fe, err := m.Open(Setup{Addr: cfg.Addr, Workers: cfg.Workers, Policy: s.Policy, Logf: cfg.Logf,
		ProxyProcesses: cfg.ProxyProcesses, UpstreamKeepAlive: cfg.UpstreamKeepAlive})
	if err != nil {
		return nil, err
	}
	d = &Deployment{frontend: fe, cfg: cfg}
	d.stopping, d.stop = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			d.kill()
		}
	}()
	if cfg.Handler.CPU > 0 {
		// Calibrated once here so that every worker does the same work.
		d.spinRate = worker.Calibrate()
	}
	for i := range cfg.Workers {
		p, err := d.launch(i)
		if err != nil {
			return d, err
		}
		d.slots = append(d.slots, &slot{current: p})
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for _, s := range d.slots {
		if err := s.current.WaitReady(ctx); err != nil {
			return d, err
		}
	}
	d.ready = time.Now()
	for i := range d.slots {
		d.supervisors.Go(func() { d.supervise(i) })
	}
	return d, nil
}

// launch starts a worker process for index on the frontend's socket for it.
func (d *Deployment) launch(index int) (*worker.Process, error) {
	sock, err := d.frontend.WorkerSocket(index)
	if err != nil {
		return nil, err
	}
	defer sock.Close() // the worker has its own copy once started
	return d.cfg.Launcher.Start(worker.Spec{Index: index, Handler: d.cfg.Handler, SpinRate: d.spinRate}, sock)
}

// supervise watches worker index until the deployment stops, and replaces
// it when it exits if the config says so.
func (d *Deployment) supervise(index int) {
	for restarts := 0; ; restarts++ {
		d.mu.Lock()
		p := d.slots[index].current
		d.mu.Unlock()
		select {
		case <-d.stopping.Done():
			return
		case <-p.Exited():
		}
		if d.stopping.Err() != nil {
			return // it ended with the deployment, not before
		}
		exited := time.Now()
		r := Restart{Worker: index, PID: p.PID(), Exit: exitString(p.ExitErr()), ExitedAt: exited.Sub(d.ready).Seconds()}
		replacement, err := d.replace(index, p, restarts)
		if err != nil {
			r.Error = err.Error()
			d.record(r)
			d.cfg.Logf("worker %d (pid %d) exited (%s); not replaced: %v", index, r.PID, r.Exit, err)
			return
		}
		r.ReplacementPID = replacement.PID()
		ctx, cancel := context.WithTimeout(d.stopping, readyTimeout)
		err = replacement.WaitReady(ctx)
		cancel()
		if err != nil {
			r.Error = err.Error()
		} else {
			r.ReadyAfter = time.Since(exited).Seconds()
		}
		d.record(r)
		d.cfg.Logf("worker %d (pid %d) exited (%s); replaced by pid %d", index, r.PID, r.Exit, r.ReplacementPID)
	}
}

// replace starts a new process for index in place of the exited one.
func (d *Deployment) replace(index int, exited *worker.Process, restarts int) (*worker.Process, error) {
	if !d.cfg.Respawn {
		return nil, errors.New("respawn is off")
	}
	if restarts >= maxRestarts {
		return nil, fmt.Errorf("already replaced %d times", restarts)
	}
	p, err := d.launch(index)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	s := d.slots[index]
	s.past = append(s.past, exited)
	s.current = p
	d.mu.Unlock()
	return p, nil
}

func (d *Deployment) record(r Restart) {
	d.mu.Lock()
	d.restarts = append(d.restarts, r)
	d.mu.Unlock()
}

func exitString(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// Addr is the address clients connect to.
func (d *Deployment) Addr() string { return d.frontend.Addr() }

// PIDs lists the current worker process ids by index.
func (d *Deployment) PIDs() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	pids := make([]int, len(d.slots))
	for i, s := range d.slots {
		pids[i] = s.current.PID()
	}
	return pids
}

// ProxyPID is the process the proxy's processes descend from, in proxy
// modes; 0 in the others.
func (d *Deployment) ProxyPID() int {
	if p, ok := d.frontend.(ProxyProcess); ok {
		return p.ProxyPID()
	}
	return 0
}

// Stop stops every worker gracefully (killing those that exceed grace),
// releases the frontend, and returns each worker index's final counts.
// Workers that ended without final counts are reported in the error, with
// their last counts still in the report.
func (d *Deployment) Stop(grace time.Duration) (Report, error) {
	d.stop()
	d.supervisors.Wait() // from here on the slots stay as they are
	var rep Report
	if r, ok := d.frontend.(Reporter); ok {
		rep.Frontend = r.Report()
	}
	// Stop accepting first, so no new connection queues where nobody will serve it.
	closeErr := d.frontend.Close()
	if p, ok := d.frontend.(ProxyProcess); ok {
		rep.ProxyCPUSeconds = p.ProxyCPUSeconds()
	}
	rep.Workers = make([]WorkerResult, len(d.slots))
	errs := make([]error, len(d.slots))
	var wg sync.WaitGroup
	for i, s := range d.slots {
		wg.Go(func() {
			c, err := s.current.Stop(grace)
			rep.Workers[i] = sumPast(WorkerResult{Counters: c, CPUSeconds: s.current.CPU().Seconds()}, s.past)
			errs[i] = err
		})
	}
	wg.Wait()
	rep.Restarts = d.restarts
	return rep, errors.Join(append(errs, closeErr)...)
}

// sumPast adds the counts of the processes that held an index before: their
// last reports, which may miss what they served just before they died.
func sumPast(r WorkerResult, past []*worker.Process) WorkerResult {
	for _, p := range past {
		c, _ := p.Counters()
		r.Requests += c.Requests
		r.Connections += c.Connections
		r.WarmupRequests += c.WarmupRequests
		r.Accepted += c.Accepted
		r.CPUSeconds += p.CPU().Seconds()
		r.Restarts++
	}
	return r
}

// kill ends everything at once; used when a deployment fails to start.
func (d *Deployment) kill() {
	d.stop()
	for _, s := range d.slots {
		s.current.Kill()
	}
	d.frontend.Close()
}
