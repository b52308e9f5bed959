package worker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"clusterbench/internal/handoff"
)

// The file descriptors a worker process inherits. fd 3 follows the systemd
// LISTEN_FDS convention, so any program that can serve on an inherited
// socket can stand in for this worker.
const (
	listenFD = 3
	countsFD = 4
)

// Spec is what the parent tells one worker process.
type Spec struct {
	Index int
	Work  Work
	// SpinRate is loop iterations per microsecond, from Calibrate in the parent.
	SpinRate float64
	// Addr is the HOST:PORT a user's app that listens by itself listens on.
	Addr string
}

func (s Spec) args() []string {
	return []string{
		"--index", strconv.Itoa(s.Index),
		"--body-bytes", strconv.Itoa(s.Work.BodyBytes),
		"--handler-cpu", s.Work.CPU.String(),
		"--handler-sleep", s.Work.Sleep.String(),
		"--spin-rate", strconv.FormatFloat(s.SpinRate, 'f', -1, 64),
	}
}

// countsEvery is how often a worker sends counts that changed: often, so
// that a worker killed without warning loses little of its account.
const countsEvery = 100 * time.Millisecond

// countsLine is one line of the counts pipe.
type countsLine struct {
	Counters
	Ready bool `json:"ready,omitempty"`
	Final bool `json:"final,omitempty"`
	// CPUSeconds is the process's CPU time so far, from workers that
	// another program started: their parent is not us, so we cannot learn
	// it when they exit.
	CPUSeconds float64 `json:"cpu_seconds,omitempty"`
}

// Main runs a worker process: it serves HTTP on the listening socket at fd 3
// and writes its counters as JSON lines to fd 4: once when ready, then every
// countsEvery while they change, and a final line after a graceful stop on
// SIGTERM.
func Main(args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	var spec Spec
	fs.IntVar(&spec.Index, "index", 0, "worker index")
	fs.IntVar(&spec.Work.BodyBytes, "body-bytes", 0, "response body size")
	fs.DurationVar(&spec.Work.CPU, "handler-cpu", 0, "CPU work per request")
	fs.DurationVar(&spec.Work.Sleep, "handler-sleep", 0, "sleep per request")
	fs.Float64Var(&spec.SpinRate, "spin-rate", 0, "busy-loop iterations per microsecond (0: calibrate here)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if spec.SpinRate == 0 && spec.Work.CPU > 0 {
		spec.SpinRate = Calibrate()
	}

	// Ctrl-C in a terminal reaches the whole process group; stopping is the
	// parent's decision, so that it can collect the final counts in order.
	signal.Ignore(syscall.SIGINT)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	// The inherited sockets are ours alone: do not pass them on.
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDNAMES")

	ln, err := inheritedListener()
	if err != nil {
		return err
	}
	out := os.NewFile(countsFD, "counts")
	enc := json.NewEncoder(out)
	pid := os.Getpid()

	srv := NewServer(spec.Index, spec.Work, spec.SpinRate)
	hs := srv.HTTPServer()
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	if err := enc.Encode(countsLine{Counters: srv.Counters(pid), Ready: true}); err != nil {
		return fmt.Errorf("worker: counts: %w", err)
	}

	tick := time.NewTicker(countsEvery)
	defer tick.Stop()
	last := srv.Counters(pid)
	for {
		select {
		case <-tick.C:
			if now := srv.Counters(pid); now != last {
				last = now
				_ = enc.Encode(countsLine{Counters: now})
			}
		case err := <-serveErr:
			return fmt.Errorf("worker: serve: %w", err)
		case <-stop:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := hs.Shutdown(ctx)
			cancel()
			if encErr := enc.Encode(countsLine{Counters: srv.Counters(pid), Final: true}); encErr != nil {
				return fmt.Errorf("worker: final counts: %w", encErr)
			}
			return err
		}
	}
}

// inheritedListener serves what the parent put at fd 3: a listening socket,
// or in round-robin mode a channel on which the master hands over
// connections it accepted.
func inheritedListener() (net.Listener, error) {
	f := os.NewFile(listenFD, "listener")
	if handoff.IsChannel(listenFD) {
		return handoff.NewListener(f)
	}
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("worker: no listening socket on fd %d: %w", listenFD, err)
	}
	return ln, nil
}

// Launcher starts worker processes.
type Launcher struct {
	// Command is the program and leading arguments of a worker, e.g. this
	// executable and its hidden "worker" subcommand.
	Command []string
	// Env is added to the inherited environment.
	Env []string
	// Stderr receives the workers' standard error.
	Stderr io.Writer
	// App marks Command as the user's own worker app rather than this
	// one: it gets no flags and no counts pipe, and Listen says how it
	// gets its socket: ListenFD or ListenPort.
	App    bool
	Listen string
	// Group, if not nil, runs each worker with a group id of its own, by
	// which the kernel can tell its traffic apart (see kernelcount).
	Group func(index int) uint32
}

// Process is a running worker process seen from its parent, or from the
// program that relays its counts (see NodeCluster).
type Process struct {
	Index int
	pid   int
	proc  *os.Process // signals go through its pidfd
	cmd   *exec.Cmd   // nil for a process another program started

	mu           sync.Mutex
	counters     Counters
	final        bool
	lastCountsAt time.Time
	cpuSeconds   float64 // sent with its counts, for a process that is not our child
	silent       bool    // the user's own app: it sends no counts

	ready      chan struct{}
	readOnce   sync.Once
	countsRead chan struct{} // closed when the counts pipe reaches EOF
	exited     chan struct{} // closed after Wait
	waitErr    error
}

// Start starts one worker that serves on socket (inherited as fd 3). The
// caller may close its own copy of socket once Start returns. The worker dies
// with its parent (Pdeathsig), even if the parent is killed.
func (l Launcher) Start(spec Spec, socket *os.File) (*Process, error) {
	if len(l.Command) == 0 {
		return nil, errors.New("worker: no command")
	}
	if l.App {
		return l.startApp(spec, socket)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	defer w.Close()

	cmd := exec.Command(l.Command[0], append(append([]string{}, l.Command[1:]...), spec.args()...)...)
	cmd.Env = append(append(os.Environ(), l.Env...),
		"LISTEN_FDS=1", "LISTEN_FDNAMES=http", "WORKER_INDEX="+strconv.Itoa(spec.Index))
	cmd.ExtraFiles = []*os.File{socket, w} // fd 3, fd 4
	cmd.Stderr = l.Stderr
	cmd.SysProcAttr = l.procAttr(spec.Index)
	if err := cmd.Start(); err != nil {
		r.Close()
		return nil, fmt.Errorf("worker %d: %w", spec.Index, err)
	}

	p := newProcess(spec.Index, cmd.Process)
	p.cmd = cmd
	go p.readCounts(r)
	go func() {
		p.waitErr = cmd.Wait()
		// Let the reader take the last counts before anyone reads them;
		// bounded, in case something the worker started holds the pipe open.
		select {
		case <-p.countsRead:
		case <-time.After(time.Second):
		}
		close(p.exited)
	}()
	return p, nil
}

func newProcess(index int, proc *os.Process) *Process {
	return &Process{
		Index:      index,
		pid:        proc.Pid,
		proc:       proc,
		counters:   Counters{Index: index, PID: proc.Pid},
		ready:      make(chan struct{}),
		countsRead: make(chan struct{}),
		exited:     make(chan struct{}),
	}
}

func (p *Process) readCounts(r *os.File) {
	defer close(p.countsRead)
	defer r.Close()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var line countsLine
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		p.take(line)
	}
}

// take records one line of counts.
func (p *Process) take(line countsLine) {
	p.mu.Lock()
	p.counters = line.Counters
	p.final = p.final || line.Final
	p.lastCountsAt = time.Now()
	p.cpuSeconds = line.CPUSeconds
	p.mu.Unlock()
	if line.Ready {
		p.readOnce.Do(func() { close(p.ready) })
	}
}

// PID is the worker's process id.
func (p *Process) PID() int { return p.pid }

// WaitReady waits until the worker serves, or fails if it exits first.
func (p *Process) WaitReady(ctx context.Context) error {
	select {
	case <-p.ready:
		return nil
	case <-p.exited:
		return fmt.Errorf("worker %d exited before it was ready: %v", p.Index, p.waitErr)
	case <-ctx.Done():
		return fmt.Errorf("worker %d not ready: %w", p.Index, ctx.Err())
	}
}

// Counters returns the latest counts the worker sent, and whether they
// are its final ones (false if it died without a graceful stop).
func (p *Process) Counters() (Counters, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counters, p.final
}

// LastCountsAt is when the worker's latest counts arrived.
func (p *Process) LastCountsAt() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastCountsAt
}

// Stop asks the worker to finish (SIGTERM) and waits for it; after grace it
// is killed. It returns the worker's last counts, and an error saying what
// went wrong if they are not its final ones.
func (p *Process) Stop(grace time.Duration) (Counters, error) {
	select {
	case <-p.exited:
		<-p.countsRead
		c, _ := p.Counters()
		return c, fmt.Errorf("worker %d (pid %d) died before it was stopped: %v", p.Index, p.PID(), p.waitErr)
	default:
	}
	_ = p.proc.Signal(syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	killed := false
	select {
	case <-p.exited:
	case <-timer.C:
		killed = true
		_ = p.proc.Kill()
		<-p.exited
	}
	<-p.countsRead
	c, final := p.Counters()
	switch {
	case killed:
		return c, fmt.Errorf("worker %d (pid %d) did not finish within %v of SIGTERM; killed", p.Index, p.PID(), grace)
	case p.silent:
		return c, nil // however it ended on SIGTERM: it has no counts to give
	case !final:
		return c, fmt.Errorf("worker %d (pid %d) stopped without final counts: %v", p.Index, p.PID(), p.waitErr)
	}
	return c, nil
}

// Exited is closed once the worker process has ended.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// ExitErr says how the process ended (nil for exit status 0); valid once
// Exited is closed.
func (p *Process) ExitErr() error {
	<-p.exited
	return p.waitErr
}

// Signal sends sig to the worker. Go signals a child through its pidfd, so
// a process that has ended and been reaped is never confused with a new
// one that got its PID.
func (p *Process) Signal(sig os.Signal) error { return p.proc.Signal(sig) }

// Kill ends the worker at once.
func (p *Process) Kill() {
	_ = p.proc.Kill()
	<-p.exited
}

// CPU returns the user+system CPU time the worker used; valid after it
// exited. For a process that is not our child it is the time it sent with
// its last counts.
func (p *Process) CPU() time.Duration {
	if p.cmd == nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		return time.Duration(p.cpuSeconds * float64(time.Second))
	}
	st := p.cmd.ProcessState
	if st == nil {
		return 0
	}
	return st.UserTime() + st.SystemTime()
}
