package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"

	"github.com/olekukonko/tablewriter"

	"clusterbench/internal/netns"
	"clusterbench/internal/rundir"
	"clusterbench/internal/shellquote"
	"clusterbench/modes"
	"clusterbench/plan"
	"clusterbench/report"
	"clusterbench/results"
	"clusterbench/scenarios"
	"clusterbench/trial"
)

// deploymentFlag is serve's hidden flag: the whole deployment as JSON, as
// a trial starts serve. It is kept out of --help: users give the flags.
const deploymentFlag = "--deployment"

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "serve [flags] [-- CMD ARGS...]", stderr)
	mode := fs.String("mode", "", "distribution mode, MODE or MODE:POLICY (see `clusterbench modes`)")
	workers := fs.Int("workers", plan.DefaultWorkers(), "number of worker processes")
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
	out := fs.String("o", "", "write a run directory `DIR` of what the workers served, from the server's side alone (a load from elsewhere), when serve stops; report DIR renders it again")
	replace := fs.Bool("replace", false, "with -o: replace the run in DIR")
	flagArgs, client := splitCommand(args)
	given, flagArgs := cutDeployment(flagArgs)
	rest, err := parseFlags(fs, flagArgs)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("serve: unexpected argument %q (a command to run against the deployment goes after --)", rest[0])
	}
	var d plan.Deployment
	if given != "" {
		if err := json.Unmarshal([]byte(given), &d); err != nil {
			return usagef("serve: %s: %v", deploymentFlag, err)
		}
	} else {
		if *mode == "" {
			return usagef("serve: --mode is required (known: %v)", modes.Names())
		}
		if d.Mode, err = modes.ParseSpec(*mode); err != nil {
			return usageError{err}
		}
		d.Workers, d.Handler.Work = *workers, *h
		d.Proxy = plan.Proxy{Processes: *proxyProcesses, UpstreamKeepAlive: *upstreamKeepAlive}
		d.Respawn, d.RespawnDelay = *respawn, *respawnDelay
		if fault.kill == "" && fault.at != 0 {
			return usagef("serve: --kill-at needs --kill-workers")
		}
		if d.Fault, err = fault.fault("--kill-workers", "--kill-signal"); err != nil {
			return usagef("serve: %v", err)
		}
		if d.App, err = appFlag.app(fs); err != nil {
			return err
		}
		if *cpus != "" {
			if d.CPUs, err = plan.ParseCPUs(*cpus); err != nil {
				return usagef("serve: --cpus: %v", err)
			}
		}
	}
	if err := d.Validate(); err != nil {
		return usagef("serve: %v", err)
	}
	if len(client) > 0 {
		if _, err := exec.LookPath(client[0]); err != nil {
			return usagef("serve: command after --: %v", err)
		}
	}
	claim := rundir.New
	if *replace {
		claim = rundir.Replace
	}
	if *out == "" && *replace {
		return usagef("serve: --replace needs -o DIR")
	}
	if *out != "" {
		if d.App != nil {
			return usagef("serve: -o: your own app reports no counts of its own, so a record of the server's side alone would hold nothing per worker; " +
				"run it under clusterbench run, which counts from the client and the kernel")
		}
		if err := rundir.Check(*out, claim); err != nil {
			return usageError{fmt.Errorf("serve: %w", err)}
		}
		if d.Handler.Name == "" {
			d.Handler.Name = scenarios.HandlerName(d.Handler.Work)
		}
	}
	command, err := self()
	if err != nil {
		return err
	}
	o := trial.ServeOptions{Addr: *addr, CPUProfile: *cpuProfile, ReadyFD: *readyFD, Client: client, JSON: *asJSON, Args: args}
	if (*private || d.Mode.PrivateNetwork()) && !netns.Private() {
		switch {
		case len(client) == 0 && *private:
			return usagef("serve: --netns needs a command after -- to run against the deployment: nothing else can reach a private network namespace")
		case len(client) == 0:
			return usagef("serve: mode %s changes its network namespace (firewall rules or sysctls), so it serves only in a private network namespace, "+
				"which only a command started with it can reach; give one after --, e.g. "+
				"clusterbench serve --mode %s -- wrk -d 10s http://127.0.0.1:8080/", d.Mode, d.Mode)
		case *readyFD > 0:
			return usagef("serve: --ready-fd cannot reach out of a private network namespace")
		}
		o.Isolated = true
	}
	recorded := false
	if *out != "" && !o.Isolated { // an isolated serve runs again inside, and records there
		_, statErr := os.Stat(*out)
		created := errors.Is(statErr, os.ErrNotExist)
		lock, err := acquire("serve", *out, claim)
		if err != nil {
			return err
		}
		defer func() {
			lock.Release()
			if created && !recorded {
				// It never served: the directory made for it holds only its lock.
				os.RemoveAll(*out)
			}
		}()
		o.Recorder = &trial.Recorder{}
	}
	account, err := trial.Serve(ctx, command, d, o, stdout, stderr)
	if errors.Is(err, modes.ErrAddrInUse) {
		return usagef("serve: --addr: %w", err)
	}
	if account == nil {
		return err
	}
	if o.Recorder != nil {
		info := stdout
		if *asJSON {
			info = stderr // stdout is the account's
		}
		line := shellquote.Join(append([]string{"clusterbench", "serve"}, args...))
		recorded = true
		if recErr := writeServeRecord(info, *out, o.Recorder.Trial(d, account), d, line, *addr); recErr != nil {
			err = errors.Join(err, recErr)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(account); err != nil {
			return err
		}
	} else if err := printWorkers(stdout, account); err != nil {
		return err
	}
	return err
}

// writeServeRecord saves and renders serve's record of the server's
// side in dir; a trial that counted nothing is saved too, and fails serve.
func writeServeRecord(w io.Writer, dir string, t results.Trial, d plan.Deployment, commandLine, addr string) error {
	isolation := "the host's network: serve listened on " + addr + ", where the load came from"
	if netns.Private() {
		isolation = "a private network namespace: serve --netns, reached only by its command"
	}
	rec := trial.ServeRun(t, d, commandLine, isolation)
	if err := results.Save(dir, rec); err != nil {
		return err
	}
	if err := report.Write(dir, rec); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s: %s, %s, %s, %s and %d plots\n", dir, results.FileName, report.FileName,
		report.HTMLFileName, report.BenchFileName, len(report.Plots(rec)))
	if t.Failed() {
		return fmt.Errorf("serve: -o %s: %s", dir, t.Error)
	}
	return nil
}

// cutDeployment takes serve's hidden --deployment flag and its value out
// of args.
func cutDeployment(args []string) (deployment string, rest []string) {
	for i, a := range args {
		if a == deploymentFlag && i+1 < len(args) {
			return args[i+1], append(slices.Clone(args[:i]), args[i+2:]...)
		}
	}
	return "", args
}

func printWorkers(w io.Writer, r *trial.ServeAccount) error {
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
		fmt.Fprintln(w, trial.DescribeRestart(rs))
	}
	return nil
}

// splitCommand splits serve's arguments at the first "--": flags before,
// the client command after.
func splitCommand(args []string) (flags, command []string) {
	for i, a := range args {
		if a == "--" {
			return args[:i], args[i+1:]
		}
	}
	return args, nil
}
