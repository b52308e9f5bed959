package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/olekukonko/tablewriter"

	"clusterbench/internal/cpuset"
	"clusterbench/internal/cputime"
	"clusterbench/internal/netns"
	"clusterbench/internal/supervise"
	"clusterbench/modes"
	"clusterbench/scenarios"
	"clusterbench/worker"
)

// serveReport is what serve prints when it stops; `run` reads it too.
type serveReport struct {
	Mode   string `json:"mode"`
	Policy string `json:"policy,omitempty"`
	Addr   string `json:"addr"`
	modes.Account
	// ServingSeconds is the time from every worker serving to the stop.
	ServingSeconds float64 `json:"serving_seconds"`
	// MasterCPUSeconds is this process's CPU time while serving: the
	// master's work in modes that have one, next to nothing in the others;
	// with a master program's (Node's cluster primary) added.
	MasterCPUSeconds float64  `json:"master_cpu_seconds"`
	Errors           []string `json:"errors,omitempty"`
}

// readyMessage is written to --ready-fd once every worker serves.
type readyMessage struct {
	Addr string `json:"addr"`
	PIDs []int  `json:"pids"`
	// ProxyPID is the process a proxy mode's proxy runs under.
	ProxyPID int `json:"proxy_pid,omitempty"`
	// MasterPID is a master that is a program of its own (Node's primary).
	MasterPID int `json:"master_pid,omitempty"`
}

// stopGrace bounds how long a worker may take to finish after SIGTERM.
const stopGrace = 10 * time.Second

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "serve [flags] [-- CMD ARGS...]", stderr)
	mode := fs.String("mode", "", "distribution mode, MODE or MODE:POLICY (see `clusterbench modes`)")
	workers := fs.Int("workers", scenarios.DefaultWorkers(), "number of worker processes")
	addr := fs.String("addr", "127.0.0.1:8080", "public address HOST:PORT (port 0 picks a free one)")
	asJSON := fs.Bool("json", false, "print the per-worker counts as JSON when stopped")
	h := handlerFlags(fs)
	respawn := fs.Bool("respawn", true, "replace a worker that exits while serving")
	respawnDelay := fs.Duration("respawn-delay", 0, "wait this long before replacing a worker that exited")
	var fault faultFlags
	fault.register(fs, "after serving starts; 0: when serve gets SIGUSR1")
	var appFlag appFlags
	appFlag.register(fs)
	proxyProcesses := fs.Int("proxy-processes", 0, "proxy modes: the proxy's worker processes (nginx) or threads (HAProxy); 0 = one per CPU")
	upstreamKeepAlive := fs.Bool("upstream-keepalive", false, "proxy modes: keep the proxy's connections to the workers open between requests")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (the master, in roundrobin mode) to `FILE`")
	readyFD := fs.Int("ready-fd", 0, "write {\"addr\",\"pids\"} as JSON to this inherited fd once serving (used by run)")
	cpus := fs.String("cpus", "", "pin the deployment (master, proxy and workers) to these CPUs, a list like 1 or 1-3, so that a load generator can have the others")
	private := fs.Bool("netns", false, "serve in a private network namespace, reachable only by the command after -- (always so for modes that write firewall rules)")
	flagArgs, client := splitCommand(args)
	rest, err := parseFlags(fs, flagArgs)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("serve: unexpected argument %q (a command to run against the deployment goes after --)", rest[0])
	}
	if *mode == "" {
		return usagef("serve: --mode is required (known: %v)", modes.Names())
	}
	spec, err := modes.ParseSpec(*mode)
	if err != nil {
		return usageError{err}
	}
	if err := scenarios.Limits.Workers.Check(*workers); err != nil {
		return usagef("serve: --workers %v", err)
	}
	if err := scenarios.CheckHandler(*h); err != nil {
		return usageError{err}
	}
	if err := scenarios.Limits.ProxyProcesses.Check(*proxyProcesses); err != nil {
		return usagef("serve: --proxy-processes %v", err)
	}
	if err := fault.check(*workers, *respawnDelay); err != nil {
		return usagef("serve: %v", err)
	}
	app, err := appFlag.app(fs)
	if err != nil {
		return err
	}
	if app != nil {
		if err := app.Check([]string{*mode}); err != nil {
			return usagef("serve: %v", err)
		}
	}
	var pin cpuset.Set
	if *cpus != "" {
		if pin, err = cpuset.ParseUsable(*cpus); err != nil {
			return usagef("serve: --cpus: %v", err)
		}
	}
	if len(client) > 0 {
		if _, err := exec.LookPath(client[0]); err != nil {
			return usagef("serve: command after --: %v", err)
		}
	}
	command, err := self()
	if err != nil {
		return err
	}
	if (*private || spec.Mode.Info().PrivateNetwork) && !netns.Private() {
		switch {
		case len(client) == 0 && *private:
			return usagef("serve: --netns needs a command after -- to run against the deployment: nothing else can reach a private network namespace")
		case len(client) == 0:
			return usagef("serve: mode %s writes firewall rules, so it serves only in a private network namespace, "+
				"which only a command started with it can reach; give one after --, e.g. "+
				"clusterbench serve --mode %s -- wrk -d 10s http://127.0.0.1:8080/", spec.Mode.Info().Name, spec)
		case *readyFD > 0:
			return usagef("serve: --ready-fd cannot reach out of a private network namespace")
		}
		return serveIsolated(ctx, command, args, stdout, stderr)
	}

	if !pin.IsEmpty() {
		// Before anything starts: the workers and the proxy inherit it.
		if err := cpuset.PinSelf(pin); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	logger := log.New(stderr, "", 0)
	launcher := supervise.Launcher{Command: append(command, workerCommand), Stderr: stderr}
	if app != nil {
		launcher = appLauncher(app, stderr)
	}
	d, err := modes.Deploy(ctx, spec, modes.Config{
		Addr:              *addr,
		Workers:           *workers,
		Work:              *h,
		ProxyProcesses:    *proxyProcesses,
		UpstreamKeepAlive: *upstreamKeepAlive,
		Launcher:          launcher,
		Respawn:           *respawn,
		RespawnDelay:      *respawnDelay,
		Logf:              logger.Printf,
	})
	if err != nil {
		return err
	}
	if app != nil {
		if err := probeApp(ctx, d.Addr()); err != nil {
			d.Stop(stopGrace)
			return err
		}
	}
	stopFaults := fault.inject(d, logger.Printf)
	defer stopFaults()
	if *cpuProfile != "" {
		stopProfile, err := startCPUProfile(*cpuProfile)
		if err != nil {
			d.Stop(stopGrace)
			return err
		}
		defer stopProfile()
	}
	servingSince, cpuSince := time.Now(), cputime.Self()
	if *readyFD > 0 {
		f := os.NewFile(uintptr(*readyFD), "ready")
		err := json.NewEncoder(f).Encode(readyMessage{Addr: d.Addr(), PIDs: d.PIDs(), ProxyPID: d.ProxyPID(), MasterPID: d.MasterPID()})
		f.Close()
		if err != nil {
			d.Stop(stopGrace)
			return fmt.Errorf("serve: ready: %w", err)
		}
	} else if len(client) == 0 {
		fmt.Fprintf(stderr, "serving %s with %d workers on http://%s/ (Ctrl-C to stop)\n", spec, *workers, d.Addr())
	}

	var clientErr error
	if len(client) > 0 {
		// Its output goes to stdout, unless stdout is for the JSON report.
		clientOut := stdout
		if *asJSON {
			clientOut = stderr
		}
		clientErr = runClient(ctx, stop, client, d.Addr(), clientOut, stderr)
	} else {
		<-ctx.Done()
	}
	stop() // a second Ctrl-C now ends serve at once; Pdeathsig still ends the workers
	stopFaults()
	report := serveReport{
		Mode: spec.Mode.Info().Name, Policy: spec.Policy, Addr: d.Addr(),
		ServingSeconds:   time.Since(servingSince).Seconds(),
		MasterCPUSeconds: (cputime.Self() - cpuSince).Seconds(),
	}
	var stopErr error
	report.Account, stopErr = d.Stop(stopGrace)
	report.MasterCPUSeconds += report.MasterProgramCPUSeconds
	if stopErr != nil {
		report.Errors = []string{stopErr.Error()}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	} else if err := printWorkers(stdout, report); err != nil {
		return err
	}
	return errors.Join(clientErr, stopErr)
}

func printWorkers(w io.Writer, r serveReport) error {
	table := tablewriter.NewTable(w)
	table.Header("worker", "pid", "requests", "connections", "accepted", "cpu s", "restarts")
	var requests, conns uint64
	for _, wr := range r.Workers {
		requests += wr.Requests
		conns += wr.Connections
		if err := table.Append(fmt.Sprint(wr.Index), fmt.Sprint(wr.PID), fmt.Sprint(wr.Requests),
			fmt.Sprint(wr.Connections), fmt.Sprint(wr.Accepted), fmt.Sprintf("%.2f", wr.CPUSeconds), fmt.Sprint(wr.Restarts)); err != nil {
			return err
		}
	}
	table.Footer("total", "", fmt.Sprint(requests), fmt.Sprint(conns), "", "", "")
	if err := table.Render(); err != nil {
		return err
	}
	fmt.Fprintf(w, "master: %.2f s CPU in %.1f s serving", r.MasterCPUSeconds, r.ServingSeconds)
	if r.ProxyCPUSeconds > 0 {
		fmt.Fprintf(w, "; proxy: %.2f s CPU", r.ProxyCPUSeconds)
	}
	for _, k := range slices.Sorted(maps.Keys(r.Frontend)) {
		fmt.Fprintf(w, ", %s %d", k, r.Frontend[k])
	}
	fmt.Fprintln(w)
	for _, rs := range r.Restarts {
		fmt.Fprintln(w, describeRestart(rs))
	}
	return nil
}

// handlerFlags registers the worker app's flags, shared by serve and run.
func handlerFlags(fs *flag.FlagSet) *worker.Work {
	h := scenarios.DefaultHandler.Work
	fs.IntVar(&h.BodyBytes, "body-bytes", h.BodyBytes, "response body size in bytes")
	fs.DurationVar(&h.CPU, "handler-cpu", h.CPU, "busy CPU work per request, e.g. 200us")
	fs.DurationVar(&h.Sleep, "handler-sleep", h.Sleep, "idle wait per request, e.g. 5ms")
	return &h
}

// workerAppName describes the built-in worker app for reports.
func workerAppName() string {
	return "clusterbench Go worker (net/http, " + runtime.Version() + "; Go's netpoller wakes every worker waiting on a shared socket, no EPOLLEXCLUSIVE)"
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
