package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"clusterbench/analysis"
	"clusterbench/internal/cpuset"
	"clusterbench/internal/netns"
	"clusterbench/loadgen"
	"clusterbench/modes"
	"clusterbench/results"
	"clusterbench/scenarios"
)

// trialCommand is the hidden subcommand that measures one trial in a
// process of its own. run starts it in a private network namespace when it
// can: the deployment and the load generator then share a fresh loopback,
// and everything the trial set up ends with it.
const trialCommand = "trial"

// trialRequest is what run sends a trial process on its stdin.
type trialRequest struct {
	Index, Total int
	Trial        scenarios.Trial
	Profile      string // file for a CPU profile of the deployment; "" for none
	Terminal     bool   // progress as a live line rather than periodic ones
}

// trialResponse is what a trial process prints on its stdout.
type trialResponse struct {
	Finished bool // false if it was interrupted: not a measurement
	Trial    results.Trial
}

func cmdTrial(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	var req trialRequest
	if err := json.NewDecoder(stdin).Decode(&req); err != nil {
		return usagef("%s: bad request on stdin: %v", trialCommand, err)
	}
	command, err := self()
	if err != nil {
		return err
	}
	// run sends SIGTERM to interrupt; the trial then stops its deployment.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := pinLoadgen(req.Trial); err != nil {
		rec := newTrialRecord(req.Trial)
		rec.Error = err.Error()
		return json.NewEncoder(stdout).Encode(trialResponse{Finished: true, Trial: rec})
	}
	p := &progress{w: stderr, terminal: req.Terminal, lastLine: time.Now()}
	rec, finished := measure(ctx, command, req, p, nil)
	return json.NewEncoder(stdout).Encode(trialResponse{Finished: finished, Trial: rec})
}

// pinLoadgen pins this process, the load generator or the one that
// starts it (wrk inherits the mask), to the trial's load generator CPUs.
func pinLoadgen(t scenarios.Trial) error {
	if t.CPUs == nil {
		return nil
	}
	set, err := cpuset.ParseUsable(t.CPUs.LoadGen)
	if err == nil {
		err = cpuset.PinSelf(set)
	}
	if err != nil {
		return fmt.Errorf("CPU placement: %w", err)
	}
	return nil
}

// loadgenCPUs is how many CPUs the load generator may use.
func loadgenCPUs(t scenarios.Trial) int {
	if t.CPUs != nil {
		set, _ := cpuset.Parse(t.CPUs.LoadGen) // checked when the scenario was read
		return set.Len()
	}
	return runtime.NumCPU()
}

// newTrialRecord is a trial's record before anything is measured.
func newTrialRecord(t scenarios.Trial) results.Trial {
	spec, _ := modes.ParseSpec(t.Mode) // checked when the scenario was read
	var proxy *results.Proxy
	if spec.Mode.Info().Proxy {
		proxy = &results.Proxy{Processes: t.Proxy.Processes, UpstreamKeepAlive: t.Proxy.UpstreamKeepAlive}
		if proxy.Processes == 0 {
			proxy.Processes = runtime.NumCPU()
		}
	}
	var placement *results.Placement
	if t.CPUs != nil {
		placement = &results.Placement{LoadgenCPUs: t.CPUs.LoadGen, ServerCPUs: t.CPUs.Server}
	}
	app := spec.Mode.Info().WorkerApp
	if t.App != nil {
		app = fmt.Sprintf("your app: %s (listens on %s)", t.App.Label(), t.App.Listen)
	}
	return results.Trial{
		WorkerApp:  app,
		Proxy:      proxy,
		Experiment: t.Experiment, Rep: t.Rep, Mode: spec.Mode.Info().Name, Policy: spec.Policy, Workers: t.Workers, KeepAlive: t.KeepAlive,
		Handler: results.Handler{
			Name: t.Handler.Name, BodyBytes: t.Handler.BodyBytes,
			CPUMicros: float64(t.Handler.CPU) / float64(time.Microsecond), SleepMs: float64(t.Handler.Sleep) / float64(time.Millisecond),
		},
		Load: results.Load{
			Name: t.Load.Name, Engine: t.Load.Engine, Rate: t.Load.Rate,
			DurationSeconds: t.Load.Duration.Seconds(), WarmupSeconds: t.Load.Warmup.Seconds(),
			Concurrency: t.Load.Concurrency, MaxConnections: t.Load.MaxConnections, TimeoutSeconds: t.Load.Timeout.Seconds(),
		},
		Placement: placement,
		NetNS:     netns.Private(),
		Started:   time.Now(),
	}
}

// measure runs one trial: deploy, load, stop, and compare both sides' counts.
// finished is false if ctx interrupted it; a failed trial is finished.
// observe, if not nil, is called at the measured phase's start and end,
// right after the server's CPU is read (tests read it too).
func measure(ctx context.Context, command []string, req trialRequest, p *progress, observe func(srv *server, measuring bool)) (rec results.Trial, finished bool) {
	t := req.Trial
	rec = newTrialRecord(t)
	var extra []string
	if req.Profile != "" {
		extra = append(extra, "--cpuprofile", req.Profile)
	}
	if t.CPUs != nil { // the load generator's side is pinned by pinLoadgen
		extra = append(extra, "--cpus", t.CPUs.Server)
	}
	if f := t.Fault; f != nil { // armed for SIGUSR1, which the load sends at f.At
		extra = append(extra, "--kill-workers", f.Kill, "--kill-signal", f.Signal,
			"--respawn="+strconv.FormatBool(f.Respawn), "--respawn-delay", f.RespawnDelay.String())
	}
	extra = append(extra, appArgs(t.App)...)
	kernel := newKernelCounter(t.App, t.Workers)
	srv, err := startServer(ctx, command, t, extra...)
	if err != nil {
		rec.Error = err.Error()
		return rec, ctx.Err() == nil
	}
	meter := &cpuMeter{servePID: srv.cmd.Process.Pid, masterPID: srv.ready.MasterPID, proxyPID: srv.ready.ProxyPID}
	lgCPUs := loadgenCPUs(t)
	var fault *loadgen.Fault
	if t.Fault != nil {
		fault = &loadgen.Fault{At: t.Fault.At, Inject: func() { _ = srv.cmd.Process.Signal(syscall.SIGUSR1) }}
	}
	lg, err := loadgen.Run(ctx, loadgen.Config{
		Engine:         t.Load.Engine,
		URL:            "http://" + srv.ready.Addr + "/",
		Workers:        t.Workers,
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
				observe(srv, measuring)
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
		if rec.Fault, err = damage(t.Fault, lg, served); err != nil {
			rec.Error = err.Error()
			return rec, true
		}
	}
	if why := loadgenLimit(&rec, lgCPUs, runtime.NumCPU()); why != "" {
		rec.LoadgenBound, rec.LoadgenBoundReason = true, why
	}
	return rec, true
}

// loadgenLimit says why the load generator, and not the server, limited
// a trial, or returns "" if it did not. An open loop is limited when it
// sent less than its rate. A closed loop is limited when the load
// generator kept nearly all the cores it could use busy, or, sharing the
// machine with the server, when the machine was busy and the load
// generator took a third or more of it: with that CPU the server could
// have served at least half as much again.
func loadgenLimit(rec *results.Trial, loadgenCPUs, machineCPUs int) string {
	if rate := rec.Load.Rate; rate > 0 {
		if rec.RateRPS < 0.95*float64(rate) {
			return fmt.Sprintf("it sent %.0f req/s of the %d requested", rec.RateRPS, rate)
		}
		return ""
	}
	engine := rec.Load.Engine
	lg, server := rec.CPU.LoadgenCores(), rec.CPU.ServerCores()
	usable := float64(loadgenCPUs)
	if rec.Load.Threads > 0 {
		usable = min(usable, float64(rec.Load.Threads))
	}
	if lg >= 0.9*usable {
		return fmt.Sprintf("%s kept %.2f of the %g cores it could use busy", engine, lg, usable)
	}
	if busy := lg + server; rec.Placement == nil && busy >= 0.85*float64(machineCPUs) && lg >= busy/3 && server > 0 {
		return fmt.Sprintf("the %d CPUs were busy and %s took %.2f cores of them (%.0f%%), the server %.2f: with them the server could have served up to %.1f× as much",
			machineCPUs, engine, lg, 100*lg/busy, server, busy/server)
	}
	return ""
}

// fillMeasurement puts the client's and the workers' accounts side by side
// and records every disagreement.
func fillMeasurement(rec *results.Trial, lg *loadgen.Result, served *serveReport, used serverCPU) {
	rec.Requests, rec.Successes, rec.Errors = lg.Requests, lg.Successes, lg.Errors
	rec.ErrorKinds = lg.ErrorKinds
	rec.DurationSeconds = lg.Elapsed.Seconds()
	rec.RateRPS, rec.ThroughputRPS = lg.RateRPS, lg.ThroughputRPS
	rec.Latency = results.Latency(lg.Latency)
	rec.ClientDials = lg.Dials
	rec.Unattributed = lg.Unattributed
	rec.Load.Threads = lg.Threads
	rec.Series = series(lg)
	rec.LoadgenPeakRSSBytes = lg.PeakRSSBytes

	n := max(rec.Workers, len(lg.PerWorker), len(served.Workers))
	rec.PerWorker = make([]results.WorkerCounts, n)
	var mismatches []string
	for i := range n {
		w := &rec.PerWorker[i]
		w.Index = i
		var warmClient, warmWorker uint64
		if i < len(lg.PerWorker) {
			w.Requests, w.Connections = lg.PerWorker[i].Requests, lg.PerWorker[i].Connections
			warmClient = lg.WarmupPerWorker[i]
		}
		var processes []modes.ProcessResult
		if i < len(served.Workers) {
			s := served.Workers[i]
			w.PID, w.WorkerRequests, w.WorkerConnections, w.WorkerAccepted = s.PID, s.Requests, s.Connections, s.Accepted
			w.CPUSeconds, w.LifetimeCPUSeconds, w.Restarts = used.workers[s.PID], s.CPUSeconds, s.Restarts
			warmWorker = s.WarmupRequests
			processes = s.Processes
			if len(processes) > 0 {
				w.CPUSeconds = 0
				for _, p := range processes {
					w.CPUSeconds += used.workers[p.PID]
				}
			}
		}
		if len(processes) > 0 && tellsProcessesApart(lg, i) {
			// Compared process by process: one that died without final
			// counts is left to the client, and says what it missed.
			var unreported []string
			w.Processes, unreported, mismatches = reconcile(i, processes, lg, served, mismatches)
			rec.Unreported = append(rec.Unreported, unreported...)
		} else {
			if w.Requests != w.WorkerRequests {
				mismatches = append(mismatches, fmt.Sprintf("worker %d: client counted %d requests, worker %d", i, w.Requests, w.WorkerRequests))
			}
			if w.Connections != w.WorkerConnections {
				mismatches = append(mismatches, fmt.Sprintf("worker %d: client counted %d connections, worker %d", i, w.Connections, w.WorkerConnections))
			}
		}
		if warmClient != warmWorker {
			mismatches = append(mismatches, fmt.Sprintf("worker %d: client counted %d warm-up requests, worker %d", i, warmClient, warmWorker))
		}
	}
	rec.Mismatches = mismatches
	rec.CountsAgree = len(mismatches) == 0
	rec.CountsAuthority = countsAuthority(len(mismatches), len(rec.Unreported))
	rec.Fairness = results.FairnessPair{
		Requests:    analysis.FairnessOf(rec.RequestCounts()),
		Connections: analysis.FairnessOf(rec.ConnectionCounts()),
	}
	rec.CPU = results.CPU{
		LoadgenSeconds: lg.CPUSeconds,
		MasterSeconds:  used.master,
		ProxySeconds:   used.proxy,
		ServingSeconds: used.seconds,
	}
	for _, s := range used.workers { // replaced processes included
		rec.CPU.WorkersSeconds += s
	}
	if rec.Successes > 0 {
		rec.ServerCPUPerRequestUs = 1e6 * rec.CPU.ServerSeconds() / float64(rec.Successes)
	}
	rec.Frontend = served.Frontend
	for _, r := range served.Restarts {
		// The record's own copy: results imports no other package.
		rec.Restarts = append(rec.Restarts, results.Restart(r))
		if !r.Killed { // the fault's own victims are in its damage report
			rec.Warnings = append(rec.Warnings, describeRestart(r))
		}
	}

	if lg.Unattributed > 0 {
		rec.Warnings = append(rec.Warnings, fmt.Sprintf("%d successful responses named no worker", lg.Unattributed))
	}
	for _, e := range served.Errors {
		rec.Warnings = append(rec.Warnings, "deployment: "+e)
	}
	if rec.Successes == 0 {
		rec.Warnings = append(rec.Warnings, "no request succeeded")
	}
}

// describeRestart says what happened to a worker that exited mid-trial.
// Its counts are its last report, so they may lag the client's.
func describeRestart(r modes.Restart) string {
	msg := fmt.Sprintf("worker %d (pid %d) exited after %.1fs (%s)", r.Worker, r.PID, r.ExitedAt, r.Exit)
	if r.ReplacementPID != 0 {
		msg += fmt.Sprintf("; replaced by pid %d", r.ReplacementPID)
	}
	if r.Error != "" {
		return msg + ": " + r.Error
	}
	return msg + fmt.Sprintf(", serving %.0fms after the exit; the exited process's counts are its last report", 1000*r.ReadyAfter)
}
