package modes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"clusterbench/internal/supervise"
	"clusterbench/worker"
)

// Config describes one deployment: a mode, its workers and their app.
type Config struct {
	Addr    string // public address; port 0 picks a free one
	Workers int
	// ProxyProcesses and UpstreamKeepAlive configure proxy modes (see Setup).
	ProxyProcesses    int
	UpstreamKeepAlive bool
	Work              worker.Work
	Launcher          supervise.Launcher
	// Respawn replaces a worker that exits while the deployment runs, as a
	// Node app does with cluster.on('exit') and fork(), after RespawnDelay.
	Respawn      bool
	RespawnDelay time.Duration
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
	programs FrontendAccount // the frontend's programs, as it opened
	cfg      Config
	spinRate float64
	// oneProcess runs one worker process with cfg.Workers threads.
	oneProcess bool
	ready      time.Time // when every worker first served

	stopping    context.Context // done once Stop begins
	stop        context.CancelFunc
	supervisors sync.WaitGroup

	mu       sync.Mutex
	slots    []*slot
	restarts []Restart
	faults   []Fault
	killed   map[int]bool // PIDs killed on purpose
	gone     int          // indexes with no process left and none to come
	died     string       // the first worker that exited unasked, and how

	closeOnce sync.Once
	closeErr  error
	closed    time.Time // when the frontend was closed
}

// slot is one worker index and the processes that held it.
type slot struct {
	current *supervise.Process
	past    []*supervise.Process // exited and replaced
}

// WorkerResult is one worker index's final account, summed over the
// processes that held it.
type WorkerResult struct {
	worker.Counters
	CPUSeconds float64 `json:"cpu_seconds"`
	Restarts   int     `json:"restarts,omitempty"`
	// Processes is each process's own account when there was more than
	// one, or when it died: the one that held the index first comes first.
	Processes []ProcessResult `json:"processes,omitempty"`
}

// ProcessResult is one worker process's account.
type ProcessResult struct {
	worker.Counters
	CPUSeconds float64 `json:"cpu_seconds"`
	// Final is true when the counts are the ones it gave as it stopped;
	// false when it died and they are the last it sent periodically, at
	// LastCountsAt, which may miss what it served after that.
	Final        bool      `json:"final"`
	LastCountsAt time.Time `json:"last_report,omitzero"`
	// Killed is true when a fault injection killed it.
	Killed bool `json:"killed,omitempty"`
}

// Fault is workers killed on purpose, as a crash would.
type Fault struct {
	At      time.Time `json:"at"`
	Signal  string    `json:"signal"`
	Workers []int     `json:"workers"` // indexes
	PIDs    []int     `json:"pids"`
}

// Restart records a worker that exited while the deployment ran.
type Restart struct {
	Worker int    `json:"worker"`
	PID    int    `json:"pid"`
	Exit   string `json:"exit"` // how it ended, e.g. "signal: killed"
	// ExitedAt is seconds since the deployment was ready.
	ExitedAt       float64 `json:"exited_at_seconds"`
	ReplacementPID int     `json:"replacement_pid,omitempty"`
	// ReadyAfter is seconds from the exit until the replacement served,
	// at ReadyAt.
	ReadyAfter float64   `json:"ready_after_seconds,omitempty"`
	ReadyAt    time.Time `json:"ready_at,omitzero"`
	// Error says why there is no serving replacement.
	Error string `json:"error,omitempty"`
	// Killed is true when a fault injection killed it.
	Killed bool `json:"killed,omitempty"`
}

// Account is a deployment's account when it stops.
type Account struct {
	Workers  []WorkerResult    `json:"workers"`
	Restarts []Restart         `json:"restarts,omitempty"`
	Frontend map[string]uint64 `json:"frontend,omitempty"` // what the master or proxy counted
	// ProxyCPUSeconds is the proxy program's CPU time, in proxy modes.
	ProxyCPUSeconds float64 `json:"proxy_cpu_seconds,omitempty"`
	// Faults lists the workers killed on purpose (see Kill).
	Faults []Fault `json:"faults,omitempty"`
	// PortClosed is when the deployment closed its public port because no
	// worker was left and none was coming, as Node's cluster does.
	PortClosed time.Time `json:"port_closed,omitzero"`
	// MasterProgramCPUSeconds is the CPU time of a master that is a
	// program of its own (Node's cluster primary).
	MasterProgramCPUSeconds float64 `json:"master_program_cpu_seconds,omitempty"`
	// Died says how the first worker that exited unasked ended, with the
	// end of its stderr; "" if none did.
	Died string `json:"died,omitempty"`
}

// Deploy opens the mode and starts its workers, and returns once every
// worker serves. On error nothing is left running.
func Deploy(ctx context.Context, s Spec, cfg Config) (d *Deployment, err error) {
	m := s.Mode
	if cfg.Workers < 1 {
		return nil, fmt.Errorf("%s: need at least one worker, got %d", m.Info().Name, cfg.Workers)
	}
	if err := SpecAvailable(s); err != nil {
		return nil, fmt.Errorf("%s: not available: %w", s, err)
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	fe, err := m.Open(Setup{Addr: cfg.Addr, Workers: cfg.Workers, Policy: s.Policy, Logf: cfg.Logf,
		Work: cfg.Work, Stderr: cfg.Launcher.Stderr,
		ProxyProcesses: cfg.ProxyProcesses, UpstreamKeepAlive: cfg.UpstreamKeepAlive})
	if err != nil {
		return nil, err
	}
	d = &Deployment{frontend: fe, cfg: cfg, programs: frontendAccount(fe), oneProcess: m.Info().OneProcess}
	d.stopping, d.stop = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			d.kill()
		}
	}()
	if cfg.Work.Busy() {
		// Calibrated once here so that every worker does the same work.
		d.spinRate = worker.Calibrate()
	}
	for i := range m.Info().Processes(cfg.Workers) {
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
func (d *Deployment) launch(index int) (p *supervise.Process, err error) {
	spec := worker.Spec{Index: index, Work: d.cfg.Work, SpinRate: d.spinRate}
	if d.oneProcess {
		spec.Threads = d.cfg.Workers
	}
	if a, ok := d.frontend.(AcceptFrontend); ok {
		spec.Accept = a.WorkerAccept()
	}
	if s, ok := d.frontend.(Starter); ok {
		return s.StartWorker(spec)
	}
	if d.cfg.Launcher.App && d.cfg.Launcher.Listen == ListenPort {
		pf, ok := d.frontend.(PortFrontend)
		if !ok {
			return nil, fmt.Errorf("worker %d: the mode gives no worker a port of its own", index)
		}
		if spec.Addr, err = pf.WorkerPort(index); err != nil {
			return nil, err
		}
		return d.cfg.Launcher.Start(spec, nil)
	}
	sock, err := d.frontend.WorkerSocket(index)
	if err != nil {
		return nil, err
	}
	defer sock.Close() // the worker has its own copy once started
	return d.cfg.Launcher.Start(spec, sock)
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
		d.mu.Lock()
		if d.died == "" {
			d.died = fmt.Sprintf("worker %d (pid %d) exited: %s", index, p.PID(), p.Ended())
		}
		d.mu.Unlock()
		r := Restart{Worker: index, PID: p.PID(), Exit: exitString(p.ExitErr()), ExitedAt: exited.Sub(d.ready).Seconds()}
		replacement, err := d.replace(index, p, restarts)
		if err != nil {
			r.Error = err.Error()
			d.record(r)
			d.cfg.Logf("worker %d (pid %d) exited (%s); not replaced: %v", index, r.PID, r.Exit, err)
			d.lost()
			return
		}
		r.ReplacementPID = replacement.PID()
		ctx, cancel := context.WithTimeout(d.stopping, readyTimeout)
		err = replacement.WaitReady(ctx)
		cancel()
		if err != nil {
			r.Error = err.Error()
		} else {
			r.ReadyAt = time.Now()
			r.ReadyAfter = r.ReadyAt.Sub(exited).Seconds()
		}
		d.record(r)
		d.cfg.Logf("worker %d (pid %d) exited (%s); replaced by pid %d", index, r.PID, r.Exit, r.ReplacementPID)
	}
}

// lost notes an index that has no process left and none to come. When
// it was the last, the deployment closes its public port, so that new
// connections are refused rather than queued for nobody, as Node's cluster
// closes the listening handle when its last worker is gone.
func (d *Deployment) lost() {
	d.mu.Lock()
	d.gone++
	last := d.gone == len(d.slots)
	d.mu.Unlock()
	if last {
		d.closeFrontend()
		d.cfg.Logf("no worker left and none coming: public port %s closed", d.Addr())
	}
}

// closeFrontend releases the frontend once.
func (d *Deployment) closeFrontend() {
	d.closeOnce.Do(func() {
		d.closed = time.Now() // a proxy stops listening at once, then drains
		d.closeErr = d.frontend.Close()
	})
}

// frontendAccount is what fe accounts for apart from the workers, if anything.
func frontendAccount(fe Frontend) FrontendAccount {
	if a, ok := fe.(Accounter); ok {
		return a.Account()
	}
	return FrontendAccount{}
}

// replace starts a new process for index in place of the exited one,
// after the respawn delay.
func (d *Deployment) replace(index int, exited *supervise.Process, restarts int) (*supervise.Process, error) {
	if !d.cfg.Respawn {
		return nil, errors.New("respawn is off")
	}
	if restarts >= maxRestarts {
		return nil, fmt.Errorf("already replaced %d times", restarts)
	}
	if d.cfg.RespawnDelay > 0 {
		select {
		case <-time.After(d.cfg.RespawnDelay):
		case <-d.stopping.Done():
			return nil, errors.New("the deployment stopped during the respawn delay")
		}
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
	r.Killed = d.killed[r.PID]
	d.restarts = append(d.restarts, r)
	d.mu.Unlock()
}

// Kill sends sig to the current processes of the first n worker indexes
// at once, as a crash would; the respawn policy then applies. It returns
// what it did.
func (d *Deployment) Kill(n int, sig syscall.Signal) (Fault, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n < 1 || n > len(d.slots) {
		return Fault{}, fmt.Errorf("kill: want 1 to %d workers, got %d", len(d.slots), n)
	}
	if d.killed == nil {
		d.killed = map[int]bool{}
	}
	f := Fault{Signal: unix.SignalName(sig)}
	for i, s := range d.slots[:n] {
		pid := s.current.PID()
		f.Workers, f.PIDs = append(f.Workers, i), append(f.PIDs, pid)
		d.killed[pid] = true
	}
	f.At = time.Now()
	var errs []error
	for _, s := range d.slots[:n] {
		// One that already exited is not killed twice; say so.
		if err := s.current.Signal(sig); err != nil {
			errs = append(errs, fmt.Errorf("kill worker pid %d: %w", s.current.PID(), err))
		}
	}
	d.faults = append(d.faults, f)
	return f, errors.Join(errs...)
}

func exitString(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// Died returns how the first worker that exited unasked ended, with the
// end of its stderr, or nil if none did.
func (d *Deployment) Died() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.died == "" {
		return nil
	}
	return errors.New(d.died)
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

// Counts is each worker index's counts so far, summed over the processes
// that held it: the latest each sent, so up to a report interval behind.
func (d *Deployment) Counts() []worker.Counters {
	d.mu.Lock()
	defer d.mu.Unlock()
	counts := make([]worker.Counters, len(d.slots))
	for i, s := range d.slots {
		for _, p := range append(slices.Clone(s.past), s.current) {
			c, _ := p.Counters()
			counts[i].Requests += c.Requests
			counts[i].Connections += c.Connections
			counts[i].WarmupRequests += c.WarmupRequests
			counts[i].Accepted += c.Accepted
		}
		counts[i].Index, counts[i].PID = i, s.current.PID()
	}
	return counts
}

// ProxyPID is the process the proxy's processes descend from, in proxy
// modes; 0 in the others.
func (d *Deployment) ProxyPID() int { return d.programs.Proxy.PID }

// Stop stops every worker gracefully (killing those that exceed grace),
// releases the frontend, and returns each worker index's final counts.
// Workers that ended without final counts, unnoticed, are named in the
// error, with their last counts still in the account; a worker whose death
// was noticed and recorded as a restart is not an error.
func (d *Deployment) Stop(grace time.Duration) (Account, error) {
	d.stop()
	d.supervisors.Wait() // from here on the slots stay as they are
	// Stop accepting first, so no new connection queues where nobody will serve it.
	d.closeFrontend()
	closed := d.portClosed()
	d.mu.Lock() // a fault's timer may still be firing
	acc := Account{Restarts: d.restarts, Faults: d.faults, PortClosed: closed, Died: d.died}
	d.mu.Unlock()
	acc.Workers = make([]WorkerResult, len(d.slots))
	errs := make([]error, len(d.slots))
	var wg sync.WaitGroup
	for i, s := range d.slots {
		wg.Go(func() {
			_, err := s.current.Stop(grace)
			if d.recorded(s.current.PID()) {
				err = nil // its death is in the restarts
			}
			acc.Workers[i] = d.workerResult(s)
			errs[i] = err
		})
	}
	wg.Wait()
	errs = append(errs, d.closeErr, d.finish())
	front := frontendAccount(d.frontend)
	acc.Frontend = front.Counts
	acc.ProxyCPUSeconds = front.Proxy.CPUSeconds
	acc.MasterProgramCPUSeconds = front.Master.CPUSeconds
	return acc, errors.Join(errs...)
}

// finish ends the program that started the workers, in modes that have
// one, once they are gone.
func (d *Deployment) finish() error {
	if s, ok := d.frontend.(Starter); ok {
		return s.Finish()
	}
	return nil
}

// MasterPID is the master program's process, in modes whose master is a
// program of its own; 0 in the others.
func (d *Deployment) MasterPID() int { return d.programs.Master.PID }

// portClosed is when the frontend closed because no worker was left, or
// zero if it closed only as the deployment stopped.
func (d *Deployment) portClosed() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gone == len(d.slots) {
		return d.closed
	}
	return time.Time{}
}

// recorded reports whether pid's exit was noticed while serving.
func (d *Deployment) recorded(pid int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range d.restarts {
		if r.PID == pid {
			return true
		}
	}
	return false
}

// workerResult sums the counts of the processes that held an index. Those
// that died give the last counts they sent, which may miss what they served
// just before; each process's own account is kept beside the sum.
func (d *Deployment) workerResult(s *slot) WorkerResult {
	var r WorkerResult
	for _, p := range append(slices.Clone(s.past), s.current) {
		c, final := p.Counters()
		pr := ProcessResult{Counters: c, CPUSeconds: p.CPU().Seconds(), Final: final, LastCountsAt: p.LastCountsAt()}
		d.mu.Lock()
		pr.Killed = d.killed[c.PID]
		d.mu.Unlock()
		r.Processes = append(r.Processes, pr)
		r.Requests += c.Requests
		r.Connections += c.Connections
		r.WarmupRequests += c.WarmupRequests
		r.Accepted += c.Accepted
		r.CPUSeconds += pr.CPUSeconds
	}
	r.Index, r.PID = s.current.Index, s.current.PID()
	r.Restarts = len(s.past)
	if len(r.Processes) == 1 && r.Processes[0].Final {
		r.Processes = nil // nothing to add to the sum
	}
	return r
}

// kill ends everything at once; used when a deployment fails to start.
func (d *Deployment) kill() {
	d.stop()
	for _, s := range d.slots {
		s.current.Kill()
	}
	d.closeFrontend()
	_ = d.finish()
}
