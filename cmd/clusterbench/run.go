package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"clusterbench/analysis"
	"clusterbench/loadgen"
	"clusterbench/modes"
	"clusterbench/results"
	"clusterbench/scenarios"
	"clusterbench/worker"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "run [flags] [FILE]", stderr)
	out := fs.String("o", "", "output directory (default results/<timestamp>)")
	profile := fs.Bool("profile", false, "write a CPU profile of each trial's deployment process (the master, in roundrobin mode) to DIR/profiles/")
	var e scenarios.Experiment
	load := scenarios.DefaultLoad
	var (
		modeList  stringList
		workers   intList
		keepAlive = boolList{true}
		rates     = intList{0}
	)
	fs.Var(&modeList, "mode", "comma-separated modes for a one-experiment run from flags, e.g. shared,reuseport")
	fs.Var(&workers, "workers", "comma-separated worker counts (default: number of CPUs)")
	fs.Var(&keepAlive, "keepalive", "keep connections alive: true, false, or both as true,false")
	fs.Var(&rates, "rate", "comma-separated requests per second; 0 = as fast as possible (closed loop)")
	fs.DurationVar(&load.Duration, "duration", load.Duration, "measured duration of each trial")
	fs.DurationVar(&load.Warmup, "warmup", load.Warmup, "warm-up before each trial, left out of the figures")
	fs.IntVar(&load.Concurrency, "concurrency", load.Concurrency, "concurrent requests at maximum rate; starting attackers at a constant rate")
	fs.IntVar(&load.MaxConnections, "max-connections", 0, "cap on open connections (0 = none)")
	fs.DurationVar(&load.Timeout, "timeout", load.Timeout, "request timeout")
	fs.IntVar(&e.Reps, "reps", 1, "repetitions of each trial")
	h := handlerFlags(fs)
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}

	file, err := scenarioFrom(fs, files, e, load, modeList, workers, keepAlive, rates, h)
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("results", time.Now().Format("20060102-150405"))
	}
	command, err := self()
	if err != nil {
		return err
	}

	// Only now is the input known to be valid: from here on, files are written.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the tool at once; Pdeathsig ends the deployment
	}()
	r := &runner{command: command, dir: dir, stdout: stdout, progress: newProgress(stderr)}
	if *profile {
		r.profileDir = filepath.Join(dir, "profiles")
		if err := os.MkdirAll(r.profileDir, 0o755); err != nil {
			return fmt.Errorf("output directory: %w", err)
		}
	}
	return r.run(ctx, file)
}

// scenarioFrom returns the scenario named on the command line, or the one
// experiment described by flags; never both.
func scenarioFrom(fs *flag.FlagSet, files []string, e scenarios.Experiment, load scenarios.Load,
	modeList stringList, workers intList, keepAlive boolList, rates intList, h *worker.Handler) (*scenarios.File, error) {
	var experimentFlags []string
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "o" && f.Name != "profile" {
			experimentFlags = append(experimentFlags, "--"+f.Name)
		}
	})
	switch {
	case len(files) > 1:
		return nil, usagef("run: want at most one scenario file, got %d: %v", len(files), files)
	case len(files) == 1 && len(experimentFlags) > 0:
		return nil, usagef("run: give a scenario file or experiment flags, not both (got %s with %v)", files[0], experimentFlags)
	case len(files) == 1:
		return scenarios.Read(files[0])
	case len(modeList) == 0:
		return nil, usagef("run: give a scenario file, or --mode for a one-experiment run (try scenarios/quick.yaml)")
	}
	e.Modes = modeList
	e.Workers = workers
	e.KeepAlive = keepAlive
	e.Handlers = []scenarios.Handler{{Handler: *h}}
	for _, rate := range rates {
		l := load
		l.Rate = rate
		e.Loads = append(e.Loads, l)
	}
	return scenarios.Single("flags", e)
}

// runner runs a scenario's trials one after another and records them.
type runner struct {
	command    []string
	dir        string
	profileDir string // "" for no profiles
	stdout     io.Writer
	progress   *progress
}

func (r *runner) run(ctx context.Context, file *scenarios.File) error {
	trials := file.Trials()
	rec := &results.Run{
		Schema:   results.Schema,
		Scenario: file.Path,
		Started:  time.Now(),
		Host:     hostInfo(),
		Trials:   []results.Trial{},
	}
	if err := results.Save(r.dir, rec); err != nil {
		return err
	}
	failed := 0
	for i, t := range trials {
		if ctx.Err() != nil {
			break
		}
		r.progress.start(i, len(trials), t)
		tr, finished := r.trial(ctx, i, len(trials), t)
		if !finished {
			break // an interrupted trial is not a measurement
		}
		if tr.Failed() {
			failed++
		}
		rec.Trials = append(rec.Trials, tr)
		r.progress.done(i, len(trials), t, &tr)
		if err := results.Save(r.dir, rec); err != nil {
			return err
		}
	}
	rec.Complete = ctx.Err() == nil
	rec.Finished = time.Now()
	if err := results.Save(r.dir, rec); err != nil {
		return err
	}
	if err := results.WriteReport(r.dir, rec); err != nil {
		return err
	}
	fmt.Fprintln(r.stdout)
	if err := results.WriteSummary(r.stdout, rec.Points(), false); err != nil {
		return err
	}
	for _, w := range rec.Warnings() {
		fmt.Fprintf(r.stdout, "warning: %s\n", w)
	}
	fmt.Fprintf(r.stdout, "\nwrote %s and %s\n", filepath.Join(r.dir, results.FileName), filepath.Join(r.dir, results.ReportName))
	switch {
	case !rec.Complete:
		return fmt.Errorf("interrupted: %d of %d trials finished; they are saved in %s", len(rec.Trials), len(trials), r.dir)
	case failed > 0:
		return fmt.Errorf("%d of %d trials failed; see %s", failed, len(trials), filepath.Join(r.dir, results.ReportName))
	}
	return nil
}

// trial runs one trial: deploy, load, stop, and compare both sides' counts.
// finished is false if ctx interrupted it; a failed trial is finished.
func (r *runner) trial(ctx context.Context, i, n int, t scenarios.Trial) (rec results.Trial, finished bool) {
	spec, _ := modes.ParseSpec(t.Mode) // checked when the scenario was read
	rec = results.Trial{
		Experiment: t.Experiment, Rep: t.Rep, Mode: spec.Mode.Name(), Policy: spec.Policy, Workers: t.Workers, KeepAlive: t.KeepAlive,
		Handler: results.Handler{
			Name: t.Handler.Name, BodyBytes: t.Handler.BodyBytes,
			CPUMicros: float64(t.Handler.CPU) / float64(time.Microsecond), SleepMs: float64(t.Handler.Sleep) / float64(time.Millisecond),
		},
		Load: results.Load{
			Name: t.Load.Name, Engine: "vegeta", Rate: t.Load.Rate,
			DurationSeconds: t.Load.Duration.Seconds(), WarmupSeconds: t.Load.Warmup.Seconds(),
			Concurrency: t.Load.Concurrency, MaxConnections: t.Load.MaxConnections, TimeoutSeconds: t.Load.Timeout.Seconds(),
		},
		Started: time.Now(),
	}
	var extra []string
	if r.profileDir != "" {
		name := fmt.Sprintf("%03d-%s.pprof", i+1, strings.ReplaceAll(t.Mode, ":", "-"))
		extra = append(extra, "--cpuprofile", filepath.Join(r.profileDir, name))
	}
	srv, err := startServer(ctx, r.command, t, extra...)
	if err != nil {
		rec.Error = err.Error()
		return rec, ctx.Err() == nil
	}
	lg, err := loadgen.Run(ctx, loadgen.Config{
		URL:            "http://" + srv.ready.Addr + "/",
		Workers:        t.Workers,
		Rate:           t.Load.Rate,
		Duration:       t.Load.Duration,
		Warmup:         t.Load.Warmup,
		Concurrency:    t.Load.Concurrency,
		MaxConnections: t.Load.MaxConnections,
		KeepAlive:      t.KeepAlive,
		Timeout:        t.Load.Timeout,
		Progress:       func(p loadgen.Progress) { r.progress.update(i, n, t, p) },
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
	fillMeasurement(&rec, lg, served)
	return rec, true
}

// fillMeasurement puts the client's and the workers' accounts side by side
// and records every disagreement.
func fillMeasurement(rec *results.Trial, lg *loadgen.Result, served *serveReport) {
	rec.Requests, rec.Successes, rec.Errors = lg.Requests, lg.Successes, lg.Errors
	rec.ErrorKinds = lg.ErrorKinds
	rec.DurationSeconds = lg.Elapsed.Seconds()
	rec.RateRPS, rec.ThroughputRPS = lg.RateRPS, lg.ThroughputRPS
	rec.Latency = results.Latency(lg.Latency)
	rec.ClientDials = lg.Dials
	rec.Unattributed = lg.Unattributed

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
		if i < len(served.Workers) {
			s := served.Workers[i]
			w.PID, w.WorkerRequests, w.WorkerConnections, w.WorkerAccepted = s.PID, s.Requests, s.Connections, s.Accepted
			w.CPUSeconds, w.Restarts = s.CPUSeconds, s.Restarts
			warmWorker = s.WarmupRequests
			rec.CPU.WorkersSeconds += s.CPUSeconds
		}
		if w.Requests != w.WorkerRequests {
			mismatches = append(mismatches, fmt.Sprintf("worker %d: client counted %d requests, worker %d", i, w.Requests, w.WorkerRequests))
		}
		if w.Connections != w.WorkerConnections {
			mismatches = append(mismatches, fmt.Sprintf("worker %d: client counted %d connections, worker %d", i, w.Connections, w.WorkerConnections))
		}
		if warmClient != warmWorker {
			mismatches = append(mismatches, fmt.Sprintf("worker %d: client counted %d warm-up requests, worker %d", i, warmClient, warmWorker))
		}
	}
	rec.Mismatches = mismatches
	rec.CountsAgree = len(mismatches) == 0
	rec.Fairness = results.FairnessPair{
		Requests:    analysis.FairnessOf(rec.RequestCounts()),
		Connections: analysis.FairnessOf(rec.ConnectionCounts()),
	}
	rec.CPU.LoadgenSeconds = lg.CPUSeconds
	rec.CPU.MasterSeconds = served.MasterCPUSeconds
	rec.CPU.ServingSeconds = served.ServingSeconds
	rec.Frontend = served.Frontend
	rec.Restarts = served.Restarts
	for _, r := range served.Restarts {
		rec.Warnings = append(rec.Warnings, describeRestart(r))
	}

	if lg.Unattributed > 0 {
		rec.Warnings = append(rec.Warnings, fmt.Sprintf("%d successful responses named no worker", lg.Unattributed))
	}
	if rate := float64(rec.Load.Rate); rate > 0 && lg.RateRPS < 0.95*rate {
		rec.Warnings = append(rec.Warnings, fmt.Sprintf("sent %.0f req/s of the %d requested: the load generator could not keep up", lg.RateRPS, rec.Load.Rate))
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
