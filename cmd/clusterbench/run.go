package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"clusterbench/internal/listflag"
	"clusterbench/internal/rundir"
	"clusterbench/internal/shellquote"
	"clusterbench/plan"
	"clusterbench/report"
	"clusterbench/results"
	"clusterbench/scenarios"
	"clusterbench/trial"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "run [flags] [FILE]", stderr)
	out := fs.String("o", "", "output directory, absent or empty unless --replace or --continue (default results/<timestamp>)")
	profile := fs.Bool("profile", false, "write a CPU profile of each trial's deployment process (the master, in roundrobin mode) to DIR/profiles/")
	replace := fs.Bool("replace", false, "replace the run in the output directory: its files are removed first")
	resume := fs.Bool("continue", false, "continue the interrupted run in the output directory (-o): keep its trials and run the missing ones; the scenario must be the same")
	isolate := fs.Bool("netns", true, "run each trial in a private network namespace when the host allows it; false: on the host loopback (overrides the scenario's netns)")
	var e scenarios.Experiment
	load := scenarios.DefaultLoad
	modeList, required, workers, keepAlive, rates := listflag.Strings(), listflag.Strings(), listflag.Ints(), listflag.Bools(true), listflag.Ints(0)
	fs.Var(modeList, "mode", "comma-separated modes for a one-experiment run from flags, e.g. shared,reuseport")
	fs.Var(required, "require", "comma-separated modes that must run: the run fails if one cannot run here (others are skipped and reported)")
	fs.Var(workers, "workers", "comma-separated worker counts (default: number of CPUs)")
	fs.Var(keepAlive, "keepalive", "keep connections alive: true, false, or both as true,false")
	fs.Var(rates, "rate", "comma-separated requests per second; 0 = as fast as possible (closed loop)")
	fs.DurationVar(&load.Duration, "duration", load.Duration, "measured duration of each trial")
	fs.DurationVar(&load.Warmup, "warmup", load.Warmup, "warm-up before each trial, left out of the figures")
	fs.IntVar(&load.Concurrency, "concurrency", load.Concurrency, "concurrent requests at maximum rate; starting attackers at a constant rate")
	fs.IntVar(&load.MaxConnections, "max-connections", 0, "cap on open connections (0 = none)")
	fs.DurationVar(&load.Timeout, "timeout", load.Timeout, "request timeout")
	fs.IntVar(&e.Reps, "reps", 1, "repetitions of each trial")
	engine := fs.String("loadgen", plan.Engines[0].String(), "load generator: vegeta (open loop at --rate, or closed loop) or wrk (closed loop only, for maximum throughput)")
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
	var variants variantFlags
	variants.register(fs)
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if e.App, err = appFlag.app(fs); err != nil {
		return err
	}
	if fault.kill == "" && anyFlag(fs, "kill-at", "kill-signal", "respawn", "respawn-delay") {
		return usagef("run: --kill-at, --kill-signal, --respawn and --respawn-delay describe a fault: give --kill-workers too")
	}
	e.Required = required.Values
	file, err := scenarioFrom(fs, files, len(modeList.Values) > 0, func() (*scenarios.File, error) {
		// The flags' typed values; a mistake in them is the one-experiment
		// scenario's, named "flags" as Single names the others.
		bad := func(format string, args ...any) error {
			return &scenarios.Error{File: "flags", Msg: fmt.Sprintf(format, args...)}
		}
		if e.Modes, err = parseModes(modeList.Values); err != nil {
			return nil, bad("%v", err)
		}
		if e.LoadGen, err = plan.ParseEngine(*engine); err != nil {
			return nil, bad("loadgen: %v", err)
		}
		if f, err := fault.fault("kill", "kill-signal"); err != nil {
			return nil, bad("%v", err)
		} else if f != nil {
			e.Fault = &scenarios.Fault{Kill: f.Kill, At: f.At, Signal: f.Signal, Respawn: *respawn, RespawnDelay: *respawnDelay}
		}
		if *loadgenCPUs != "" || *serverCPUs != "" {
			e.CPUs = &plan.Placement{}
			if e.CPUs.LoadGen, err = plan.ParseCPUs(*loadgenCPUs); err != nil && *loadgenCPUs != "" {
				return nil, bad("cpus: loadgen: %v", err)
			}
			if e.CPUs.Server, err = plan.ParseCPUs(*serverCPUs); err != nil && *serverCPUs != "" {
				return nil, bad("cpus: server: %v", err)
			}
		}
		e.Workers, e.KeepAlive = workers.Values, keepAlive.Values
		e.Handlers = []scenarios.Handler{{Work: *h}}
		for _, rate := range rates.Values {
			l := load
			l.Rate = rate
			e.Loads = append(e.Loads, l)
		}
		single, err := scenarios.Single("flags", e)
		if err != nil {
			return nil, err
		}
		single.Source = shellquote.Join(append([]string{"clusterbench", "run"}, args...))
		return single, nil
	})
	if err != nil {
		return err
	}
	if err := variants.apply(fs, file); err != nil {
		return err
	}
	claim := rundir.New
	switch {
	case *replace && *resume:
		return usagef("run: give --replace or --continue, not both")
	case *resume && *out == "":
		return usagef("run: --continue needs the run's directory as -o DIR")
	case *replace:
		claim = rundir.Replace
	case *resume:
		claim = rundir.Continue
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("results", time.Now().Format("20060102-150405"))
	}
	command, err := self()
	if err != nil {
		return err
	}
	if err := rundir.Check(dir, claim); err != nil {
		return usageError{fmt.Errorf("run: %w", err)}
	}
	var previous *results.Run
	if *resume {
		if previous, err = continuable(dir, file); err != nil {
			return err
		}
	}

	// Only now is the input known to be valid: from here on, files are written.
	lock, err := acquire("run", dir, claim)
	if err != nil {
		return err
	}
	defer lock.Release()
	if *resume {
		// Again under the lock: the run may have gone on since.
		if previous, err = continuable(dir, file); err != nil {
			return err
		}
	}
	// A closed terminal (SIGHUP) interrupts as Ctrl-C does: the run keeps what it measured.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the tool at once; Pdeathsig ends the deployment
	}()
	r := trial.Runner{Command: command, Dir: dir, Stderr: stderr, Continue: previous}
	r.Isolate, r.Isolation = trial.Isolation(netnsWanted(fs, *isolate, file))
	if *profile {
		r.ProfileDir = filepath.Join(dir, "profiles")
		if err := os.MkdirAll(r.ProfileDir, 0o755); err != nil {
			return fmt.Errorf("output directory: %w", err)
		}
	}
	rec, outcome, err := r.Run(ctx, file)
	if err != nil {
		return err
	}
	return render(stdout, dir, rec, outcome)
}

// acquire locks the output directory of command (run, serve -o, merge)
// for it: a directory another run holds, or that became unfit since it
// was checked, is bad input.
func acquire(command, dir string, claim rundir.Claim) (*rundir.Lock, error) {
	lock, err := rundir.Acquire(dir, claim)
	if refused := (*rundir.Refused)(nil); errors.As(err, &refused) {
		return nil, usageError{fmt.Errorf("%s: %w", command, err)}
	}
	return lock, err
}

// scenarioFrom returns the scenario named on the command line, or the one
// experiment that fromFlags builds; never both.
func scenarioFrom(fs *flag.FlagSet, files []string, modesGiven bool, fromFlags func() (*scenarios.File, error)) (*scenarios.File, error) {
	var experimentFlags []string
	fs.Visit(func(f *flag.Flag) {
		if !slices.Contains([]string{"o", "profile", "netns", "replace", "continue"}, f.Name) && !isVariantFlag(f.Name) {
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
	case !modesGiven:
		return nil, usagef("run: give a scenario file, or --mode for a one-experiment run (try scenarios/quick.yaml)")
	}
	return fromFlags()
}

// continuable reads the run in dir that --continue asks to finish, and
// checks that it is an interrupted run of file.
func continuable(dir string, file *scenarios.File) (*results.Run, error) {
	prev, err := results.Read(dir)
	if err != nil {
		return nil, usagef("run: --continue: %v", err)
	}
	if err := trial.CheckContinue(prev, file); err != nil {
		return nil, usagef("run: --continue %s: %v", dir, err)
	}
	return prev, nil
}

// netnsWanted is whether the run asks for private namespaces: the flag if
// given, else the scenario's choice, else yes.
func netnsWanted(fs *flag.FlagSet, flagValue bool, file *scenarios.File) bool {
	if anyFlag(fs, "netns") {
		return flagValue
	}
	return file.NetNS == nil || *file.NetNS
}

// render writes the run's report and prints its summary, and says how
// the run ended.
func render(stdout io.Writer, dir string, rec *results.Run, outcome trial.Outcome) error {
	if err := report.Write(dir, rec); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	if err := report.WriteTerminal(stdout, rec); err != nil {
		return err
	}
	// The directory once, so that the line fits a terminal too.
	fmt.Fprintf(stdout, "\nwrote %s: %s, %s, %s, %s and %d plots\n", dir, results.FileName, report.FileName,
		report.HTMLFileName, report.BenchFileName, len(report.Plots(rec)))
	switch {
	case !rec.Complete:
		return fmt.Errorf("interrupted: %d of %d trials finished; they are saved in %s", len(rec.Trials), outcome.Trials, dir)
	case outcome.RequiredSkipped > 0:
		return fmt.Errorf("required modes could not run here (%d trials skipped); see %s", outcome.RequiredSkipped, filepath.Join(dir, report.FileName))
	case outcome.Failed > 0:
		return fmt.Errorf("%d of %d trials failed; see %s", outcome.Failed, outcome.Trials, filepath.Join(dir, report.FileName))
	}
	return nil
}
