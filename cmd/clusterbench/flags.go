package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"clusterbench/modes"
	"clusterbench/plan"
	"clusterbench/worker"
)

// handlerFlags registers the worker app's flags, shared by serve and run.
func handlerFlags(fs *flag.FlagSet) *worker.Work {
	h := plan.DefaultHandler.Work
	fs.IntVar(&h.BodyBytes, "body-bytes", h.BodyBytes, "response body size in bytes")
	fs.DurationVar(&h.CPU, "handler-cpu", h.CPU, "busy CPU work per request, e.g. 200us")
	fs.DurationVar(&h.Sleep, "handler-sleep", h.Sleep, "idle wait per request, e.g. 5ms")
	fs.Var(&h.Tail, "handler-tail", "a heavy tail: `PERCENT%:CPU` of requests cost CPU instead of --handler-cpu, e.g. 1%:10ms")
	return &h
}

// appFlags name the user's own worker app on the command line.
type appFlags struct{ command, listen string }

func (a *appFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.command, "worker-command", "", "run your own worker app instead of the Go worker: `COMMAND` as words, or a JSON array (it gets WORKER_INDEX)")
	fs.StringVar(&a.listen, "worker-listen", modes.ListenFD, "how your app gets its socket: fd (a listening socket at fd 3, LISTEN_FDS=1) or port (it listens on $PORT; per-port modes)")
}

// app returns the app the flags name, or nil for the Go worker.
func (a *appFlags) app(fs *flag.FlagSet) (*plan.App, error) {
	if a.command == "" {
		if anyFlag(fs, "worker-listen") {
			return nil, usagef("%s: --worker-listen describes your app: give --worker-command too", fs.Name())
		}
		return nil, nil
	}
	command, err := plan.ParseCommand(a.command)
	if err != nil {
		return nil, usagef("%s: --worker-command: %v", fs.Name(), err)
	}
	return &plan.App{Command: command, Listen: a.listen}, nil
}

// faultFlags describe a fault: kill workers at a time, or (serve only)
// when serve gets SIGUSR1.
type faultFlags struct {
	kill   string // a number of workers, or "all"
	at     time.Duration
	signal string
}

func (f *faultFlags) register(fs *flag.FlagSet, whenAt string) {
	fs.StringVar(&f.kill, "kill-workers", "", "fault injection: kill this many workers (the first ones by index), or all")
	fs.DurationVar(&f.at, "kill-at", 0, "fault injection: kill them this long "+whenAt)
	fs.StringVar(&f.signal, "kill-signal", plan.DefaultSignal.String(), "fault injection: the signal that kills them ("+strings.Join(plan.FaultSignals, ", ")+")")
}

// fault reads the fault the flags describe, nil for none; an error names
// the kill count or the signal as the caller calls them.
func (f *faultFlags) fault(killName, signalName string) (*plan.Fault, error) {
	if f.kill == "" {
		return nil, nil
	}
	kill, err := plan.ParseKill(f.kill)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", killName, err)
	}
	sig, err := plan.ParseSignal(f.signal)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", signalName, err)
	}
	return &plan.Fault{Kill: kill, At: f.at, Signal: sig}, nil
}

// parseModes reads the specs a list of modes names.
func parseModes(names []string) ([]modes.Spec, error) {
	specs := make([]modes.Spec, len(names))
	for i, name := range names {
		var err error
		if specs[i], err = modes.ParseSpec(name); err != nil {
			return nil, err
		}
	}
	return specs, nil
}

// anyFlag reports whether any of the named flags was given.
func anyFlag(fs *flag.FlagSet, names ...string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || slices.Contains(names, f.Name) })
	return given
}
