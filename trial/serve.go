package trial

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	"clusterbench/internal/cpuset"
	"clusterbench/internal/cputime"
	"clusterbench/internal/netns"
	"clusterbench/internal/supervise"
	"clusterbench/modes"
	"clusterbench/plan"
	"clusterbench/worker"
)

// ExitStatus is an exit code whose reason has already been said, by a
// child clusterbench.
type ExitStatus int

func (e ExitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// ServeOptions is how serve runs a deployment, apart from the deployment.
type ServeOptions struct {
	Addr       string // public address HOST:PORT; port 0 picks a free one
	CPUProfile string // file for a CPU profile of serve itself; "" for none
	ReadyFD    int    // inherited fd to write Ready to once serving; 0 for none
	// Client is a command run against the deployment, which ends serve
	// when it exits; nil to serve until interrupted.
	Client []string
	// JSON keeps stdout for the account as JSON: the client writes to stderr.
	JSON bool
	// Isolated runs serve again in a private network namespace, with Args,
	// serve's own arguments; the caller has checked that a Client can
	// reach it there.
	Isolated bool
	Args     []string
	// Recorder, if not nil, keeps the workers' counts and the server's CPU
	// while serving, for a record of the server's side (Recorder.Trial).
	Recorder *Recorder
}

// Serve runs deployment d until ctx ends or the client exits, and
// returns its account; nil if serve ran again in a namespace of its own,
// which printed its account itself. command re-runs this executable.
func Serve(ctx context.Context, command []string, d plan.Deployment, o ServeOptions, stdout, stderr io.Writer) (*ServeAccount, error) {
	if o.Isolated {
		return nil, serveIsolated(ctx, command, o.Args, stdout, stderr)
	}
	// Whatever the deployment starts stays under serve, however it
	// detaches, and ends with it.
	if err := supervise.Adopt(); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	defer func() {
		if n := supervise.KillDescendants(); n > 0 {
			fmt.Fprintf(stderr, "serve: killed %d process(es) the deployment left behind\n", n)
		}
	}()
	if !d.CPUs.IsEmpty() {
		// Before anything starts: the workers and the proxy inherit it.
		if err := cpuset.PinSelf(d.CPUs.CPUSet()); err != nil {
			return nil, err
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	logger := log.New(stderr, "", 0)
	launcher := supervise.Launcher{Command: append(command, WorkerCommand), Stderr: stderr}
	if d.App != nil {
		launcher = appLauncher(d.App, stderr)
	}
	dep, err := modes.Deploy(ctx, d.Mode, modes.Config{
		Addr:              o.Addr,
		Workers:           d.Workers,
		Work:              d.Handler.Work,
		ProxyProcesses:    d.Proxy.Processes,
		UpstreamKeepAlive: d.Proxy.UpstreamKeepAlive,
		Launcher:          launcher,
		Respawn:           d.Respawn,
		RespawnDelay:      d.RespawnDelay,
		Logf:              logger.Printf,
	})
	if err != nil {
		return nil, err
	}
	if d.App != nil {
		if err := probeApp(ctx, dep); err != nil {
			dep.Stop(StopGrace)
			return nil, err
		}
	}
	stopFault := injectFault(dep, d.Fault, logger.Printf)
	defer stopFault()
	if o.CPUProfile != "" {
		stopProfile, err := startCPUProfile(o.CPUProfile)
		if err != nil {
			dep.Stop(StopGrace)
			return nil, err
		}
		defer stopProfile()
	}
	servingSince, cpuSince := time.Now(), cputime.Self()
	// Before anyone is told it serves, so that it sees every request.
	stopRecording := make(chan struct{})
	endRecording := sync.OnceFunc(func() { close(stopRecording) })
	defer endRecording()
	if o.Recorder != nil {
		o.Recorder.watch(dep, stopRecording)
	}
	if o.ReadyFD > 0 {
		f := os.NewFile(uintptr(o.ReadyFD), "ready")
		err := json.NewEncoder(f).Encode(Ready{Addr: dep.Addr(), PIDs: dep.PIDs(), ProxyPID: dep.ProxyPID(), MasterPID: dep.MasterPID()})
		f.Close()
		if err != nil {
			dep.Stop(StopGrace)
			return nil, fmt.Errorf("serve: ready: %w", err)
		}
	} else if len(o.Client) == 0 {
		workers := fmt.Sprintf("%d workers", d.Workers)
		if d.Mode.Mode.Info().OneProcess {
			workers = fmt.Sprintf("one process of %d threads", d.Workers)
		}
		fmt.Fprintf(stderr, "serving %s with %s on http://%s/ (Ctrl-C to stop)\n", d.Mode, workers, dep.Addr())
	}

	var clientErr error
	if len(o.Client) > 0 {
		// Its output goes to stdout, unless stdout is for the JSON account.
		clientOut := stdout
		if o.JSON {
			clientOut = stderr
		}
		started := func(int) {}
		if o.Recorder != nil {
			started = o.Recorder.client
		}
		clientErr = runClient(ctx, stop, o.Client, dep.Addr(), clientOut, stderr, started)
	} else {
		<-ctx.Done()
	}
	stop() // a second Ctrl-C now ends serve at once; Pdeathsig still ends the workers
	stopFault()
	if o.Recorder != nil {
		endRecording()
		<-o.Recorder.stopped // its last CPU reading, while the workers still run
	}
	account := &ServeAccount{
		Mode: d.Mode.Mode.Info().Name, Policy: d.Mode.Policy, Addr: dep.Addr(),
		ServingSeconds:   time.Since(servingSince).Seconds(),
		MasterCPUSeconds: (cputime.Self() - cpuSince).Seconds(),
	}
	var stopErr error
	stopping := time.Now() // what the workers serve as they stop counts here, not after their grace
	account.Account, stopErr = dep.Stop(StopGrace)
	account.MasterCPUSeconds += account.MasterProgramCPUSeconds
	if o.Recorder != nil {
		final := make([]worker.Counters, len(account.Workers))
		for i, w := range account.Workers {
			final[i] = w.Counters
		}
		o.Recorder.finish(stopping, final)
	}
	if stopErr != nil {
		account.Errors = []string{stopErr.Error()}
	}
	return account, errors.Join(clientErr, stopErr)
}

// startCPUProfile profiles this process until the returned function is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// clientGrace bounds how long the client may take to finish after it was
// asked to stop, as wrk and vegeta do on SIGINT by printing their results.
const clientGrace = 10 * time.Second

// runClient runs the user's command against the deployment at addr and
// returns when it exits; started gets its PID. A stop signal to serve
// reaches the command as SIGINT, once; stop is called then, so a second
// signal ends serve at once.
func runClient(ctx context.Context, stop func(), command []string, addr string, stdout, stderr io.Writer, started func(pid int)) error {
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Env = append(os.Environ(), "CLUSTERBENCH_ADDR="+addr, "CLUSTERBENCH_URL=http://"+addr+"/")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	// Its own process group, so that a Ctrl-C reaches it once, from us;
	// killed if serve dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("serve: command: %w", err)
	}
	started(cmd.Process.Pid)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		stop()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case err = <-done:
		case <-time.After(clientGrace):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			err = <-done
		}
		if interruptedBy(err, syscall.SIGINT) {
			err = nil // it ended as asked
		}
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // anything it left in its group
	if err != nil {
		return fmt.Errorf("serve: command %s: %w", command[0], err)
	}
	return nil
}

// serveIsolated runs serve again in a private network namespace with the
// same arguments, passes on stop signals and returns its exit code. The
// namespace, and any firewall rules in it, end with the last process inside.
func serveIsolated(ctx context.Context, command, args []string, stdout, stderr io.Writer) error {
	cmd := exec.Command(command[0], append(append(command[1:], ServeCommand), args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := netns.Isolate(cmd); err != nil {
		return fmt.Errorf("serve: private network namespace: %w", err)
	}
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(signals)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	forwarded := false
	for {
		select {
		case err := <-done:
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				return ExitStatus(exit.ExitCode()) // it has said why
			}
			return err
		case sig := <-signals:
			if sig == syscall.SIGUSR1 { // a fault's trigger, not a stop
				_ = cmd.Process.Signal(sig)
				continue
			}
			if forwarded {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // a second Ctrl-C: at once
				continue
			}
			forwarded = true
			_ = cmd.Process.Signal(sig)
		case <-ctx.Done():
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			return ctx.Err()
		}
	}
}

// interruptedBy reports whether err is a process ending by signal sig.
func interruptedBy(err error, sig syscall.Signal) bool {
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return false
	}
	status, ok := exit.Sys().(syscall.WaitStatus)
	return ok && status.Signaled() && status.Signal() == sig
}
