package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"clusterbench/internal/netns"
	"clusterbench/internal/tail"
	"clusterbench/loadgen"
	"clusterbench/modes"
	"clusterbench/report"
	"clusterbench/results"
	"clusterbench/scenarios"
	"clusterbench/worker"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "run [flags] [FILE]", stderr)
	out := fs.String("o", "", "output directory (default results/<timestamp>)")
	profile := fs.Bool("profile", false, "write a CPU profile of each trial's deployment process (the master, in roundrobin mode) to DIR/profiles/")
	isolate := fs.Bool("netns", true, "run each trial in a private network namespace when the host allows it; false: on the host loopback (overrides the scenario's netns)")
	var e scenarios.Experiment
	load := scenarios.DefaultLoad
	var (
		modeList  stringList
		required  stringList
		workers   intList
		keepAlive = boolList{true}
		rates     = intList{0}
	)
	fs.Var(&modeList, "mode", "comma-separated modes for a one-experiment run from flags, e.g. shared,reuseport")
	fs.Var(&required, "require", "comma-separated modes that must run: the run fails if one cannot run here (others are skipped and reported)")
	fs.Var(&workers, "workers", "comma-separated worker counts (default: number of CPUs)")
	fs.Var(&keepAlive, "keepalive", "keep connections alive: true, false, or both as true,false")
	fs.Var(&rates, "rate", "comma-separated requests per second; 0 = as fast as possible (closed loop)")
	fs.DurationVar(&load.Duration, "duration", load.Duration, "measured duration of each trial")
	fs.DurationVar(&load.Warmup, "warmup", load.Warmup, "warm-up before each trial, left out of the figures")
	fs.IntVar(&load.Concurrency, "concurrency", load.Concurrency, "concurrent requests at maximum rate; starting attackers at a constant rate")
	fs.IntVar(&load.MaxConnections, "max-connections", 0, "cap on open connections (0 = none)")
	fs.DurationVar(&load.Timeout, "timeout", load.Timeout, "request timeout")
	fs.IntVar(&e.Reps, "reps", 1, "repetitions of each trial")
	fs.StringVar(&e.LoadGen, "loadgen", loadgen.Engines[0], "load generator: vegeta (open loop at --rate, or closed loop) or wrk (closed loop only, for maximum throughput)")
	loadgenCPUs := fs.String("loadgen-cpus", "", "pin the load generator to these CPUs, e.g. 0 (with --server-cpus)")
	serverCPUs := fs.String("server-cpus", "", "pin the server (master, proxy, workers) to these CPUs, e.g. 1-3 (with --loadgen-cpus)")
	fs.IntVar(&e.Proxy.Processes, "proxy-processes", 0, "proxy modes: the proxy's worker processes (nginx) or threads (HAProxy); 0 = one per CPU")
	fs.BoolVar(&e.Proxy.UpstreamKeepAlive, "upstream-keepalive", false, "proxy modes: keep the proxy's connections to the workers open between requests")
	var fault faultFlags
	fault.register(fs, "into each trial's measured load")
	respawn := fs.Bool("respawn", scenarios.DefaultFault.Respawn, "fault injection: replace the killed workers")
	respawnDelay := fs.Duration("respawn-delay", 0, "fault injection: wait this long before replacing a killed worker")
	h := handlerFlags(fs)
	var appFlag appFlags
	appFlag.register(fs)
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if e.App, err = appFlag.app(fs); err != nil {
		return err
	}
	e.Fault = fault.scenario(*respawn, *respawnDelay)
	if e.Fault == nil && anyFlag(fs, "kill-at", "kill-signal", "respawn", "respawn-delay") {
		return usagef("run: --kill-at, --kill-signal, --respawn and --respawn-delay describe a fault: give --kill-workers too")
	}

	e.Required = required
	if *loadgenCPUs != "" || *serverCPUs != "" {
		e.CPUs = &scenarios.Placement{LoadGen: *loadgenCPUs, Server: *serverCPUs}
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
	r := &runner{command: command, dir: dir, stdout: stdout, stderr: stderr, progress: newProgress(stderr)}
	r.isolate, r.isolation = isolation(netnsWanted(fs, *isolate, file))
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
	modeList stringList, workers intList, keepAlive boolList, rates intList, h *worker.Work) (*scenarios.File, error) {
	var experimentFlags []string
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "o" && f.Name != "profile" && f.Name != "netns" {
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
	e.Handlers = []scenarios.Handler{{Work: *h}}
	for _, rate := range rates {
		l := load
		l.Rate = rate
		e.Loads = append(e.Loads, l)
	}
	return scenarios.Single("flags", e)
}

// anyFlag reports whether any of the named flags was given.
func anyFlag(fs *flag.FlagSet, names ...string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || slices.Contains(names, f.Name) })
	return given
}

// netnsWanted is whether the run asks for private namespaces: the flag if
// given, else the scenario's choice, else yes.
func netnsWanted(fs *flag.FlagSet, flagValue bool, file *scenarios.File) bool {
	if anyFlag(fs, "netns") {
		return flagValue
	}
	return file.NetNS == nil || *file.NetNS
}

// isolation decides where trials run, and says so for the report.
func isolation(wanted bool) (isolate bool, description string) {
	if !wanted {
		return false, "host loopback (127.0.0.1): private network namespaces turned off"
	}
	if err := netns.Available(); err != nil {
		return false, "host loopback (127.0.0.1): private network namespaces not allowed here: " + err.Error()
	}
	return true, "private network namespace per trial (its own loopback, 127.0.0.1)"
}

// runner runs a scenario's trials one after another and records them.
type runner struct {
	command    []string
	dir        string
	profileDir string // "" for no profiles
	isolate    bool   // each trial in a private network namespace
	isolation  string // where trials run, for the report
	// availability caches why each mode cannot run (nil: it can).
	availability map[string]error
	stdout       io.Writer
	stderr       io.Writer
	progress     *progress
}

func (r *runner) run(ctx context.Context, file *scenarios.File) error {
	trials := file.Trials()
	rec := &results.Run{
		Schema:   results.Schema,
		Scenario: file.Path,
		Started:  time.Now(),
		Host:     hostInfo(r.isolation),
		Trials:   []results.Trial{},
		Compare:  file.Compare.Settings(),
	}
	if err := results.Save(r.dir, rec); err != nil {
		return err
	}
	failed, requiredSkipped := 0, 0
	for i, t := range trials {
		if ctx.Err() != nil {
			break
		}
		if err := r.unavailable(t.Mode); err != nil {
			if t.Required {
				requiredSkipped++
			}
			rec.Skipped = skip(rec.Skipped, t, err)
			r.progress.skip(i, len(trials), t, err)
			continue
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
	if err := report.Write(r.dir, rec); err != nil {
		return err
	}
	fmt.Fprintln(r.stdout)
	if err := report.WriteTerminal(r.stdout, rec); err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "\nwrote %s, %s, %s and %d plots\n", filepath.Join(r.dir, results.FileName), filepath.Join(r.dir, report.FileName),
		filepath.Join(r.dir, report.BenchFileName), len(report.Plots(rec)))
	switch {
	case !rec.Complete:
		return fmt.Errorf("interrupted: %d of %d trials finished; they are saved in %s", len(rec.Trials), len(trials), r.dir)
	case requiredSkipped > 0:
		return fmt.Errorf("required modes could not run here (%d trials skipped); see %s", requiredSkipped, filepath.Join(r.dir, report.FileName))
	case failed > 0:
		return fmt.Errorf("%d of %d trials failed; see %s", failed, len(trials), filepath.Join(r.dir, report.FileName))
	}
	return nil
}

// unavailable says why a mode cannot run in this run, or returns nil.
// The answer is the same for every trial, so it is found once per mode.
func (r *runner) unavailable(mode string) error {
	if err, ok := r.availability[mode]; ok {
		return err
	}
	spec, _ := modes.ParseSpec(mode) // checked when the scenario was read
	var err error
	if spec.Mode.Info().PrivateNetwork && !r.isolate {
		err = fmt.Errorf("needs a private network namespace, but trials run on the %s", r.isolation)
	} else if err = modes.Available(spec.Mode); err != nil {
		err = fmt.Errorf("not available: %w", err)
	}
	if r.availability == nil {
		r.availability = map[string]error{}
	}
	r.availability[mode] = err
	return err
}

// skip counts a skipped trial under its experiment and mode.
func skip(skipped []results.Skipped, t scenarios.Trial, why error) []results.Skipped {
	for i := range skipped {
		if s := &skipped[i]; s.Experiment == t.Experiment && s.Mode == t.Mode {
			s.Trials++
			return skipped
		}
	}
	return append(skipped, results.Skipped{Experiment: t.Experiment, Mode: t.Mode, Reason: why.Error(), Trials: 1, Required: t.Required})
}

// trial measures one trial in a process of its own (see cmdTrial), in a
// private network namespace if the run has them.
// finished is false if ctx interrupted it; a failed trial is finished.
func (r *runner) trial(ctx context.Context, i, n int, t scenarios.Trial) (results.Trial, bool) {
	req := trialRequest{Index: i, Total: n, Trial: t, Terminal: r.progress.terminal}
	if r.profileDir != "" {
		req.Profile = filepath.Join(r.profileDir, fmt.Sprintf("%03d-%s.pprof", i+1, strings.ReplaceAll(t.Mode, ":", "-")))
	}
	body, err := json.Marshal(req)
	if err != nil {
		panic(err) // plain data: cannot fail
	}
	cmd := exec.CommandContext(ctx, r.command[0], append(r.command[1:], trialCommand)...)
	cmd.Stdin = bytes.NewReader(body)
	var out bytes.Buffer
	var errTail tail.Buffer
	cmd.Stdout = &out
	cmd.Stderr = io.MultiWriter(r.stderr, &errTail) // its progress lines, and why it failed
	// Its own process group, so a Ctrl-C reaches it only as our SIGTERM, and
	// killed if we die: it then takes its deployment (and namespace) with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace + 10*time.Second // time to stop its deployment
	failed := func(format string, args ...any) (results.Trial, bool) {
		rec := newTrialRecord(t)
		rec.Error = fmt.Sprintf(format, args...)
		return rec, ctx.Err() == nil
	}
	if r.isolate {
		if err := netns.Isolate(cmd); err != nil {
			return failed("private network namespace: %v", err)
		}
	}
	runErr := cmd.Run()
	var resp trialResponse
	if err := json.Unmarshal(out.Bytes(), &resp); err != nil {
		return failed("trial process: %v: %s", runErr, lastLine(&errTail))
	}
	return resp.Trial, resp.Finished
}
