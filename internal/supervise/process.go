// Package supervise starts worker processes and watches them: it gives
// each its socket, reads the counts it sends, tells when it serves, stops
// it gracefully, and learns how it ended and what CPU time it used.
//
// A worker is the Go worker (worker.Main, this executable re-run), a
// user's own app, or a worker that Node's cluster primary forked and whose
// counts the primary relays; the deployment sees each as a Process.
package supervise

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"clusterbench/internal/tail"
	"clusterbench/internal/visible"
	"clusterbench/worker"
)

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
	// gets its socket: worker.ListenFD or worker.ListenPort.
	App    bool
	Listen string
	// Dir is where the app runs; "" for the current directory.
	Dir string
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
	counters     worker.Counters
	final        bool
	lastCountsAt time.Time
	cpuSeconds   float64      // sent with its counts, for a process that is not our child
	silent       bool         // the user's own app: it sends no counts
	stderr       *tail.Buffer // the end of what it wrote to stderr; nil if not ours

	ready      chan struct{}
	readOnce   sync.Once
	countsRead chan struct{} // closed when the counts pipe reaches EOF
	exited     chan struct{} // closed after Wait
	waitErr    error
}

// Start starts one worker that serves on socket (inherited as fd 3). The
// caller may close its own copy of socket once Start returns. The worker dies
// with its parent (Pdeathsig), even if the parent is killed.
func (l Launcher) Start(spec worker.Spec, socket *os.File) (*Process, error) {
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

	cmd := exec.Command(l.Command[0], append(append([]string{}, l.Command[1:]...), spec.Args()...)...)
	cmd.Env = append(append(os.Environ(), l.Env...),
		"LISTEN_FDS=1", "LISTEN_FDNAMES=http", "WORKER_INDEX="+strconv.Itoa(spec.Index))
	cmd.ExtraFiles = []*os.File{socket, w} // fd 3 and fd 4, as worker.Main expects
	errTail := l.captureStderr(cmd)
	cmd.SysProcAttr = l.procAttr(spec.Index)
	if err := cmd.Start(); err != nil {
		r.Close()
		return nil, fmt.Errorf("worker %d: %w", spec.Index, err)
	}

	p := newProcess(spec.Index, cmd.Process)
	p.cmd, p.stderr = cmd, errTail
	go p.readCounts(r)
	go func() {
		p.waitErr = wait(cmd)
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

// pipeGrace is how long a worker's stderr is read after it exited: a
// child it left behind may hold the pipe open, and the worker has ended
// when its own process has, not when its pipes close.
const pipeGrace = 500 * time.Millisecond

// captureStderr sends cmd's stderr to the launcher's, and keeps its end
// to say why the worker failed.
func (l Launcher) captureStderr(cmd *exec.Cmd) *tail.Buffer {
	b := &tail.Buffer{}
	cmd.Stderr = b
	if l.Stderr != nil {
		cmd.Stderr = io.MultiWriter(l.Stderr, b)
	}
	cmd.WaitDelay = pipeGrace
	return b
}

// wait waits for cmd's process to exit; pipes it left open to a child are
// closed after pipeGrace, which is not the process's failure.
func wait(cmd *exec.Cmd) error {
	err := cmd.Wait()
	if errors.Is(err, exec.ErrWaitDelay) {
		return nil
	}
	return err
}

func newProcess(index int, proc *os.Process) *Process {
	return &Process{
		Index:      index,
		pid:        proc.Pid,
		proc:       proc,
		counters:   worker.Counters{Index: index, PID: proc.Pid},
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
		var line worker.CountsLine
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		p.take(line)
	}
}

// take records one line of counts.
func (p *Process) take(line worker.CountsLine) {
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
		return fmt.Errorf("worker %d exited before it was ready: %s", p.Index, p.Ended())
	case <-ctx.Done():
		return fmt.Errorf("worker %d not ready: %w", p.Index, ctx.Err())
	}
}

// Counters returns the latest counts the worker sent, and whether they
// are its final ones (false if it died without a graceful stop).
func (p *Process) Counters() (worker.Counters, bool) {
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
func (p *Process) Stop(grace time.Duration) (worker.Counters, error) {
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

// Ended says how the worker ended, with the last lines it wrote to
// stderr if any; it waits until it has.
func (p *Process) Ended() string {
	how := "exit status 0"
	if err := p.ExitErr(); err != nil {
		how = err.Error()
	}
	if p.stderr == nil {
		return how
	}
	lines := p.stderr.Lines()
	if len(lines) == 0 {
		return how + "; no output on stderr"
	}
	lines = lines[max(0, len(lines)-stderrLines):]
	// The app's own words: shown, never obeyed, wherever they are printed.
	return how + "; its stderr ends: " + visible.Text(strings.Join(lines, " | "))
}

// stderrLines is how many of a failed worker's last lines are quoted.
const stderrLines = 3

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
