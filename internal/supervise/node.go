package supervise

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"clusterbench/worker"
)

// NodeCluster is Node.js's own cluster module running the Node worker app
// (worker.NodeClusterScript): a primary process that forks workers when asked. The
// workers serve the Go worker's HTTP contract; the primary relays their
// counts, so each worker is a Process like a Go worker.
type NodeCluster struct {
	cmd     *exec.Cmd
	control io.WriteCloser // the primary's stdin: fork requests

	forkMu sync.Mutex    // one fork at a time: the next "forked" answers it
	forked chan *Process // answers to fork requests

	mu    sync.Mutex
	procs map[int]*Process // by pid, until they exit

	exited chan struct{} // closed once the primary has exited
}

// nodeLine is one line the primary writes on its stdout.
type nodeLine struct {
	Event string `json:"event"` // "forked", "counts" or "exit"
	worker.CountsLine
	Exit string `json:"exit"` // for "exit": how it ended, e.g. "signal: SIGKILL"
}

// nodeStartTimeout bounds how long the primary may take to fork a worker.
const nodeStartTimeout = 10 * time.Second

// StartNodeCluster starts a cluster primary with the scheduling policy
// ("rr" or "none", as NODE_CLUSTER_SCHED_POLICY) on socket, which it
// inherits as fd 3; the caller may close its copy. The primary dies with
// us (Pdeathsig), and its workers with it: their IPC channel closes.
func StartNodeCluster(policy string, w worker.Work, socket *os.File, stderr io.Writer) (*NodeCluster, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("node cluster: %w", err)
	}
	events, out, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("node cluster: %w", err)
	}
	defer out.Close()
	cmd := exec.Command(node, "-e", worker.NodeClusterScript)
	cmd.Env = append(os.Environ(), worker.NodeClusterEnv(policy, w)...)
	cmd.ExtraFiles = []*os.File{socket} // fd 3
	cmd.Stdout = out                    // its events; workers write nothing there
	cmd.Stderr = stderr
	cmd.WaitDelay = pipeGrace // it has ended when its process has, whoever holds its pipes
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	control, err := cmd.StdinPipe()
	if err != nil {
		events.Close()
		return nil, fmt.Errorf("node cluster: %w", err)
	}
	if err := cmd.Start(); err != nil {
		events.Close()
		return nil, fmt.Errorf("node cluster: %w", err)
	}
	c := &NodeCluster{cmd: cmd, control: control, forked: make(chan *Process, 1), procs: map[int]*Process{}, exited: make(chan struct{})}
	relayed := make(chan struct{})
	go func() {
		c.relay(events)
		close(relayed)
	}()
	go func() {
		_ = cmd.Wait()
		// Its workers may hold the pipe open a little longer.
		select {
		case <-relayed:
		case <-time.After(time.Second):
		}
		c.endAll(errors.New("the node cluster primary exited"))
		close(c.exited)
	}()
	return c, nil
}

// PID is the primary's process id.
func (c *NodeCluster) PID() int { return c.cmd.Process.Pid }

// CPUSeconds is the primary's CPU time once it has exited (see Stop); 0 before.
func (c *NodeCluster) CPUSeconds() float64 {
	select {
	case <-c.exited:
		if st := c.cmd.ProcessState; st != nil {
			return (st.UserTime() + st.SystemTime()).Seconds()
		}
	default:
	}
	return 0
}

// Start asks the primary to fork worker spec.Index, as cluster.fork()
// does, and returns it once forked; WaitReady tells when it serves.
func (c *NodeCluster) Start(spec worker.Spec) (*Process, error) {
	c.forkMu.Lock()
	defer c.forkMu.Unlock()
	if _, err := fmt.Fprintf(c.control, "{\"fork\":%d}\n", spec.Index); err != nil {
		return nil, fmt.Errorf("worker %d: node cluster: %w", spec.Index, err)
	}
	select {
	case p := <-c.forked:
		return p, nil
	case <-c.exited:
		return nil, fmt.Errorf("worker %d: the node cluster primary exited", spec.Index)
	case <-time.After(nodeStartTimeout):
		return nil, fmt.Errorf("worker %d: the node cluster primary did not fork it within %v", spec.Index, nodeStartTimeout)
	}
}

// Stop ends the primary once its workers have stopped: closing its stdin
// tells it to go. After grace it is killed.
func (c *NodeCluster) Stop(grace time.Duration) error {
	c.control.Close()
	select {
	case <-c.exited:
		return nil
	case <-time.After(grace):
		_ = c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("node cluster primary (pid %d) did not exit within %v; killed", c.PID(), grace)
	}
}

func (c *NodeCluster) relay(r *os.File) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var line nodeLine
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		switch line.Event {
		case "forked":
			// A process that is not our child: FindProcess opens a pidfd,
			// so that a signal can never reach another process with its PID.
			proc, err := os.FindProcess(line.PID)
			if err != nil {
				continue // gone already; the primary reports its exit
			}
			p := newProcess(line.Index, proc)
			c.mu.Lock()
			c.procs[line.PID] = p
			c.mu.Unlock()
			c.forked <- p
		case "counts":
			if p := c.process(line.PID, false); p != nil {
				p.take(line.CountsLine)
			}
		case "exit":
			if p := c.process(line.PID, true); p != nil {
				p.end(exitError(line.Exit))
			}
		}
	}
}

// process returns the worker with pid, forgetting it if it exited.
func (c *NodeCluster) process(pid int, exited bool) *Process {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.procs[pid]
	if exited {
		delete(c.procs, pid)
	}
	return p
}

// endAll ends the workers whose exit the primary did not report.
func (c *NodeCluster) endAll(err error) {
	c.mu.Lock()
	procs := c.procs
	c.procs = map[int]*Process{}
	c.mu.Unlock()
	for _, p := range procs {
		p.end(err)
	}
}

// end marks a relayed process as exited, its counts all taken.
func (p *Process) end(err error) {
	p.waitErr = err
	close(p.countsRead)
	close(p.exited)
	_ = p.proc.Release()
}

// exitError turns Node's account of an exit into Go's words, so that
// both kinds of worker read the same in the record: nil for status 0.
func exitError(how string) error {
	if sig, ok := strings.CutPrefix(how, "signal: "); ok {
		if n := unix.SignalNum(sig); n != 0 {
			return fmt.Errorf("signal: %v", n)
		}
	}
	if how == "exit status 0" {
		return nil
	}
	return errors.New(how)
}
