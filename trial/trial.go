// Package trial measures one trial end to end: it starts the deployment
// (`clusterbench serve`) as a process tree of its own, drives the load,
// injects the fault, reads each role's CPU time, reconciles the client's,
// the workers' and the kernel's counts, and says what a fault did and
// whether the load generator was the limit. Its runner measures a
// scenario's trials one by one, each in a child process, and keeps the
// record on disk as they finish.
package trial

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"clusterbench/internal/cpuset"
	"clusterbench/internal/netns"
	"clusterbench/loadgen"
	"clusterbench/modes"
	"clusterbench/plan"
	"clusterbench/results"
)

// Child is the trial process (see Command): it measures the trial of req
// and prints the Response on stdout; command re-runs this executable.
func Child(ctx context.Context, command []string, req Request, stdout, stderr io.Writer) error {
	// The runner sends SIGTERM to interrupt; the trial then stops its
	// deployment. A hangup is an interruption too, never a sudden death.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if err := pinLoadgen(req.Trial); err != nil {
		rec := newRecord(req.Trial)
		rec.Error = err.Error()
		return json.NewEncoder(stdout).Encode(Response{Finished: true, Trial: rec})
	}
	rec, finished := Measure(ctx, command, req, stderr, nil)
	return json.NewEncoder(stdout).Encode(Response{Finished: finished, Trial: rec})
}

// pinLoadgen pins this process, the load generator or the one that
// starts it (wrk inherits the mask), to the trial's load generator CPUs.
func pinLoadgen(t plan.Trial) error {
	if t.Placement == nil {
		return nil
	}
	if err := cpuset.PinSelf(t.Placement.LoadGen.CPUSet()); err != nil {
		return fmt.Errorf("CPU placement: %w", err)
	}
	return nil
}

// newRecord is a trial's record before anything is measured.
func newRecord(t plan.Trial) results.Trial {
	spec := t.Mode
	var proxy *results.Proxy
	if spec.Mode.Info().Proxy {
		proxy = &results.Proxy{Processes: t.Proxy.Processes, UpstreamKeepAlive: t.Proxy.UpstreamKeepAlive}
		if proxy.Processes == 0 {
			proxy.Processes = runtime.NumCPU()
		}
	}
	var placement *results.Placement
	if p := t.Placement; p != nil {
		placement = &results.Placement{LoadgenCPUs: p.LoadGen.String(), ServerCPUs: p.Server.String()}
	}
	threads := 0
	if spec.Mode.Info().OneProcess {
		threads = t.Workers
	}
	app := spec.Mode.Info().WorkerApp
	if t.App != nil {
		app = fmt.Sprintf("your app: %s (listens on %s)", t.App.Label(), t.App.Listen)
	}
	return results.Trial{
		WorkerApp:  app,
		Proxy:      proxy,
		Variant:    t.Variant,
		Experiment: t.Experiment, Rep: t.Rep, Mode: spec.Mode.Info().Name, Policy: spec.Policy, Workers: t.Workers, Threads: threads, KeepAlive: t.KeepAlive,
		Handler: results.Handler{
			Name: t.Handler.Name, BodyBytes: t.Handler.BodyBytes,
			CPUMicros: float64(t.Handler.CPU) / float64(time.Microsecond), SleepMs: float64(t.Handler.Sleep) / float64(time.Millisecond),
			Tail: results.HandlerTail{Fraction: t.Handler.Tail.Fraction, CPUMicros: float64(t.Handler.Tail.CPU) / float64(time.Microsecond)},
		},
		Load: results.Load{
			Name: t.Load.Name, Engine: string(t.Load.Engine), Rate: t.Load.Rate,
			DurationSeconds: t.Load.Duration.Seconds(), WarmupSeconds: t.Load.Warmup.Seconds(),
			Concurrency: t.Load.Concurrency, MaxConnections: t.Load.MaxConnections, TimeoutSeconds: t.Load.Timeout.Seconds(),
		},
		Placement: placement,
		NetNS:     netns.Private(),
		Started:   time.Now(),
	}
}

// Observe is called at the measured phase's start (measuring true) and
// end, right after the server's CPU is read, with serve's PID and what it
// said when ready, so that tests can read the deployment by other roads.
type Observe func(servePID int, ready Ready, measuring bool)

// Measure runs one trial: deploy, load, stop, and compare both sides'
// counts; its progress goes to stderr. command re-runs this executable.
// finished is false if ctx interrupted it; a failed trial is finished.
// observe may be nil.
func Measure(ctx context.Context, command []string, req Request, stderr io.Writer, observe Observe) (rec results.Trial, finished bool) {
	t := req.Trial
	p := &progress{w: stderr, terminal: req.Terminal, lastLine: time.Now()}
	rec = newRecord(t)
	d := t.Deployment
	if d.Fault != nil { // armed for SIGUSR1, which the load sends at t.Fault.At
		f := *d.Fault
		f.At = 0
		d.Fault = &f
	}
	kernel := newKernelCounter(t.App, t.Workers)
	srv, err := startServer(ctx, command, d, req.Profile)
	if err != nil {
		rec.Error = err.Error()
		return rec, ctx.Err() == nil
	}
	meter := &cpuMeter{servePID: srv.cmd.Process.Pid, masterPID: srv.ready.MasterPID, proxyPID: srv.ready.ProxyPID}
	lgCPUs := t.LoadgenCPUs()
	var fault *loadgen.Fault
	if t.Fault != nil {
		fault = &loadgen.Fault{At: t.Fault.At, Inject: func() { _ = srv.cmd.Process.Signal(syscall.SIGUSR1) }}
	}
	lg, err := loadgen.Drive(ctx, loadgen.Config{
		Engine:         t.Load.Engine,
		URL:            "http://" + srv.ready.Addr + "/",
		Workers:        t.Mode.Mode.Info().Processes(t.Workers),
		Rate:           t.Load.Rate,
		Duration:       t.Load.Duration,
		Warmup:         t.Load.Warmup,
		Concurrency:    t.Load.Concurrency,
		MaxConnections: t.Load.MaxConnections,
		KeepAlive:      t.KeepAlive,
		Timeout:        t.Load.Timeout,
		CPUs:           lgCPUs,
		Fault:          fault,
		Progress:       func(lp loadgen.Progress) { p.update(req.Index, req.Total, t, lp) },
		Phase: func(measuring bool) {
			meter.read(measuring)
			kernel.read(measuring)
			if observe != nil {
				observe(srv.cmd.Process.Pid, srv.ready, measuring)
			}
		},
	})
	served, stopErr := srv.stop()
	switch {
	case err != nil:
		rec.Error = err.Error()
		return rec, true
	case lg.Interrupted:
		return rec, false
	case stopErr != nil:
		rec.Error = stopErr.Error()
		return rec, true
	}
	if why := allDied(t.Deployment, served); why != "" {
		rec.Error = why
		return rec, true
	}
	used, cpuErr := meter.used(served.exitedCPU())
	var counting appCounting
	if t.App != nil {
		counting = countApp(t.App, t.KeepAlive, kernel, lg, served)
	}
	fillMeasurement(&rec, lg, served, used)
	if t.App != nil {
		appAuthority(&rec, counting, lg)
	}
	if cpuErr != nil {
		rec.Warnings = append(rec.Warnings, "server CPU not measured: "+cpuErr.Error())
	}
	if t.Fault != nil {
		if rec.Fault, err = damage(t.Deployment, lg, served); err != nil {
			rec.Error = err.Error()
			return rec, true
		}
	}
	if why := loadgenLimit(&rec, lgCPUs, runtime.NumCPU()); why != "" {
		rec.LoadgenBound, rec.LoadgenBoundReason = true, why
	}
	return rec, true
}

// DescribeRestart says what happened to a worker that exited mid-trial.
// Its counts are its last report, so they may lag the client's.
func DescribeRestart(r modes.Restart) string {
	msg := fmt.Sprintf("worker %d (pid %d) exited after %.1fs (%s)", r.Worker, r.PID, r.ExitedAt, r.Exit)
	if r.ReplacementPID != 0 {
		msg += fmt.Sprintf("; replaced by pid %d", r.ReplacementPID)
	}
	if r.Error != "" {
		return msg + ": " + r.Error
	}
	return msg + fmt.Sprintf(", serving %.0fms after the exit; the exited process's counts are its last report", 1000*r.ReadyAfter)
}
