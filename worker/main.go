package worker

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"clusterbench/internal/accept"
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
	// Threads is the process's GOMAXPROCS when it serves alone in place of
	// that many workers; 0 leaves the runtime's default.
	Threads int
	// Accept is how the worker takes connections from a socket it shares
	// with the others; "" is Go's own listener (accept.Race).
	Accept accept.Policy
}

// Args are the flags that tell Main the spec.
func (s Spec) Args() []string {
	args := []string{
		"--index", strconv.Itoa(s.Index),
		"--body-bytes", strconv.Itoa(s.Work.BodyBytes),
		"--handler-cpu", s.Work.CPU.String(),
		"--handler-sleep", s.Work.Sleep.String(),
		"--tail-fraction", strconv.FormatFloat(s.Work.Tail.Fraction, 'g', -1, 64),
		"--tail-cpu", s.Work.Tail.CPU.String(),
		"--spin-rate", strconv.FormatFloat(s.SpinRate, 'f', -1, 64),
		"--threads", strconv.Itoa(s.Threads),
	}
	if s.Accept != "" {
		args = append(args, "--accept", string(s.Accept))
	}
	return args
}

// parseArgs reads the spec that Spec.Args wrote.
func parseArgs(args []string) (Spec, error) {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	var spec Spec
	fs.IntVar(&spec.Index, "index", 0, "worker index")
	fs.IntVar(&spec.Work.BodyBytes, "body-bytes", 0, "response body size")
	fs.DurationVar(&spec.Work.CPU, "handler-cpu", 0, "CPU work per request")
	fs.DurationVar(&spec.Work.Sleep, "handler-sleep", 0, "sleep per request")
	fs.Float64Var(&spec.Work.Tail.Fraction, "tail-fraction", 0, "fraction of requests that cost --tail-cpu")
	fs.DurationVar(&spec.Work.Tail.CPU, "tail-cpu", 0, "CPU work of the slow requests")
	fs.Float64Var(&spec.SpinRate, "spin-rate", 0, "busy-loop iterations per microsecond (0: calibrate here)")
	fs.IntVar(&spec.Threads, "threads", 0, "GOMAXPROCS (0: the runtime's default)")
	fs.Func("accept", "how to take connections from a shared socket (race, exclusive, blocking)", func(v string) error {
		spec.Accept = accept.Policy(v)
		return accept.Available(spec.Accept)
	})
	err := fs.Parse(args)
	return spec, err
}

// countsEvery is how often a worker sends counts that changed: often, so
// that a worker killed without warning loses little of its account.
const countsEvery = 100 * time.Millisecond

// CountsLine is one line of the counts pipe: Main writes them, and the
// Node worker app's primary relays its workers' in the same shape.
type CountsLine struct {
	Counters
	Ready bool `json:"ready,omitempty"`
	Final bool `json:"final,omitempty"`
	// CPUSeconds is the process's CPU time so far, from workers that
	// another program started (Node's primary): whoever watches them is not
	// their parent, so it cannot learn their CPU time when they exit.
	CPUSeconds float64 `json:"cpu_seconds,omitempty"`
}

// Main runs a worker process: it serves HTTP on the listening socket at fd 3
// and writes its counters as JSON lines to fd 4: once when ready, then every
// countsEvery while they change, and a final line after a graceful stop on
// SIGTERM.
func Main(args []string) error {
	spec, err := parseArgs(args)
	if err != nil {
		return err
	}
	if spec.Threads > 0 {
		runtime.GOMAXPROCS(spec.Threads)
	}
	if spec.SpinRate == 0 && spec.Work.Busy() {
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

	ln, err := inheritedListener(spec.Accept)
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
	if err := enc.Encode(CountsLine{Counters: srv.Counters(pid), Ready: true}); err != nil {
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
				_ = enc.Encode(CountsLine{Counters: now})
			}
		case err := <-serveErr:
			return fmt.Errorf("worker: serve: %w", err)
		case <-stop:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := hs.Shutdown(ctx)
			cancel()
			if encErr := enc.Encode(CountsLine{Counters: srv.Counters(pid), Final: true}); encErr != nil {
				return fmt.Errorf("worker: final counts: %w", encErr)
			}
			return err
		}
	}
}

// inheritedListener serves what the parent put at fd 3: a listening socket,
// accepted on by policy, or in round-robin mode a channel on which the
// master hands over connections it accepted.
func inheritedListener(policy accept.Policy) (net.Listener, error) {
	f := os.NewFile(listenFD, "listener")
	if handoff.IsChannel(listenFD) {
		return handoff.NewListener(f)
	}
	ln, err := accept.Listen(f, policy)
	if err != nil {
		return nil, fmt.Errorf("worker: no listening socket on fd %d: %w", listenFD, err)
	}
	return ln, nil
}
