package plan

import (
	"errors"
	"strings"
	"testing"
	"time"

	"clusterbench/internal/cpuset"
	"clusterbench/modes"
	"clusterbench/worker"
)

func validTrial(t *testing.T) Trial {
	t.Helper()
	spec, err := modes.ParseSpec("roundrobin")
	if err != nil {
		t.Fatal(err)
	}
	load := DefaultLoad
	load.Name, load.Engine = "max-c32", Vegeta
	return Trial{
		Experiment: "e", Rep: 1, Reps: 1, KeepAlive: true, Load: load,
		Deployment: Deployment{Mode: spec, Workers: 2, Handler: DefaultHandler, Respawn: true},
	}
}

func cpus(t *testing.T, list string) CPUs {
	t.Helper()
	c, err := ParseCPUs(list)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestValidate(t *testing.T) {
	if tr := validTrial(t); tr.Validate() != nil {
		t.Fatalf("a valid trial: %v", tr.Validate())
	}
	shared, err := modes.ParseSpec("shared")
	if err != nil {
		t.Fatal(err)
	}
	single, err := modes.ParseSpec("single")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		change func(*Trial)
		part   Part
		want   string // the whole error
	}{
		{"no mode", func(tr *Trial) { tr.Mode = modes.Spec{} }, "", "no mode given (known: "},
		{"zero workers", func(tr *Trial) { tr.Workers = 0 }, "", "workers: must be at least 1, got 0"},
		{"absurd workers", func(tr *Trial) { tr.Workers = 4096 }, "", "workers: must be at most 1024, got 4096 (a limit of clusterbench, against typos)"},
		{"negative proxy processes", func(tr *Trial) { tr.Proxy.Processes = -1 }, "", "proxy-processes: must be at least 0, got -1"},
		{"negative handler cpu", func(tr *Trial) { tr.Handler.Work = worker.Work{CPU: -time.Millisecond} }, PartHandler, "handler-cpu: must be at least 0s, got -1ms"},
		{"absurd handler sleep", func(tr *Trial) { tr.Handler.Sleep = time.Hour }, PartHandler, "handler-sleep: must be at most 1m0s, got 1h0m0s (a limit of clusterbench, against typos)"},
		{"tail of no requests", func(tr *Trial) { tr.Handler.Tail = worker.Tail{CPU: time.Millisecond} }, PartHandler, "handler-tail: fraction must be between 0 and 1, exclusive, got 0"},
		{"tail above one", func(tr *Trial) { tr.Handler.Tail = worker.Tail{Fraction: 1.5, CPU: time.Millisecond} }, PartHandler, "handler-tail: fraction must be between 0 and 1, exclusive, got 1.5"},
		{"absurd tail cpu", func(tr *Trial) { tr.Handler.Tail = worker.Tail{Fraction: 0.1, CPU: time.Hour} }, PartHandler, "handler-tail: cpu: must be at most 10s, got 1h0m0s"},
		{"absurd body", func(tr *Trial) { tr.Handler.BodyBytes = 1 << 30 }, PartHandler, "body-bytes: must be at most 67108864, got 1073741824 (a limit of clusterbench, against typos)"},
		{"negative rate", func(tr *Trial) { tr.Load.Rate = -1 }, PartLoad, "rate: must be at least 0, got -1"},
		{"short duration", func(tr *Trial) { tr.Load.Duration = 0 }, PartLoad, "duration: must be at least 1ms, got 0s"},
		{"no timeout", func(tr *Trial) { tr.Load.Timeout = 0 }, PartLoad, "timeout: must be at least 1ms, got 0s"},
		{"no engine", func(tr *Trial) { tr.Load.Engine = "" }, PartLoad, "loadgen: no load generator given"},
		{"wrk at a rate", func(tr *Trial) { tr.Load.Engine, tr.Load.Rate = Wrk, 100 }, PartLoad,
			"wrk drives a closed loop only, so rate must be 0 (as fast as possible), got 100; use vegeta for a constant rate"},
		{"wrk for part of a second", func(tr *Trial) { tr.Load.Engine, tr.Load.Duration = Wrk, 1500*time.Millisecond }, PartLoad,
			"wrk runs for whole seconds, got a duration of 1.5s"},
		{"placement half given", func(tr *Trial) { tr.Placement = &Placement{LoadGen: cpus(t, "0")} }, PartPlacement,
			"cpus: server is required: give both loadgen and server"},
		{"placement overlapping", func(tr *Trial) { tr.Placement = &Placement{LoadGen: cpus(t, "0"), Server: cpus(t, "0")} }, PartPlacement,
			"cpus: loadgen (0) and server (0) share CPUs; they must be disjoint"},
		{"placement off the machine", func(tr *Trial) { tr.Placement = &Placement{LoadGen: cpus(t, "0"), Server: cpus(t, "1000")} }, PartPlacement,
			"cpus: server: CPU 1000 is not on this machine (online: " + online(t) + ")"},
		{"server CPUs off the machine", func(tr *Trial) { tr.CPUs = cpus(t, "1000") }, PartPlacement,
			"cpus: CPU 1000 is not on this machine (online: " + online(t) + ")"},
		{"fault beyond the workers", func(tr *Trial) { tr.Fault = &Fault{Kill: Kill{N: 3}, Signal: DefaultSignal} }, PartFault,
			"fault: kills 3 workers, but a trial runs only 2"},
		{"fault in one process", func(tr *Trial) {
			tr.Mode = single
			tr.Fault = &Fault{Kill: Kill{N: 1}, At: time.Second, Signal: DefaultSignal}
		}, PartFault, "fault: mode single serves from one process, so killing a worker would kill the whole server; fault injection does not apply to it"},
		{"app in one process", func(tr *Trial) {
			tr.Mode = single
			tr.App = &App{Command: []string{"sh"}, Listen: modes.ListenFD}
		}, PartApp, "worker: mode single cannot run an app that listens on fd (it runs only its own worker app)"},
		{"fault killing nobody", func(tr *Trial) { tr.Fault = &Fault{Signal: DefaultSignal} }, PartFault, "kill: must be at least 1, got 0"},
		{"fault at a negative time", func(tr *Trial) { tr.Fault = &Fault{Kill: Kill{N: 1}, At: -time.Second, Signal: DefaultSignal} }, PartFault,
			"kill-at: must be at least 0, got -1s"},
		{"fault after the load", func(tr *Trial) { tr.Fault = &Fault{Kill: Kill{All: true}, At: 5 * time.Second, Signal: DefaultSignal} }, PartFault,
			"fault: at 5s is not within load max-c32's measured 5s"},
		{"fault measured by wrk", func(tr *Trial) {
			tr.Load.Engine = Wrk
			tr.Fault = &Fault{Kill: Kill{N: 1}, At: time.Second, Signal: DefaultSignal}
		}, PartFault, "fault: load max-c32: " + ErrWrkFault.Error()},
		{"absurd respawn delay", func(tr *Trial) { tr.RespawnDelay = time.Hour }, PartFault,
			"respawn-delay: must be at most 1m0s, got 1h0m0s (a limit of clusterbench, against typos)"},
		{"app without a command", func(tr *Trial) { tr.App = &App{Listen: modes.ListenFD} }, PartApp,
			"worker: command is required, e.g. [python3, examples/python/app.py]"},
		{"app listening oddly", func(tr *Trial) { tr.Mode, tr.App = shared, &App{Command: []string{"sh"}, Listen: "socket"} }, PartApp,
			`worker: listen must be fd or port, got "socket"`},
		{"app not found", func(tr *Trial) {
			tr.Mode, tr.App = shared, &App{Command: []string{"no-such-program-here"}, Listen: modes.ListenFD}
		}, PartApp,
			`worker: command: exec: "no-such-program-here": executable file not found in $PATH`},
		{"app in a mode that cannot give it a socket", func(tr *Trial) { tr.App = &App{Command: []string{"sh"}, Listen: modes.ListenFD} }, PartApp,
			"worker: mode roundrobin cannot run an app that listens on fd (it runs only its own worker app)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr := validTrial(t)
			tt.change(&tr)
			err := tr.Validate()
			var inv *Invalid
			if !errors.As(err, &inv) {
				t.Fatalf("Validate = %v; want an *Invalid", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) || inv.Part != tt.part {
				t.Errorf("Validate = %q in part %q; want %q in part %q", err, inv.Part, tt.want, tt.part)
			}
		})
	}
}

func online(t *testing.T) string {
	t.Helper()
	set, err := cpuset.Online()
	if err != nil {
		t.Fatal(err)
	}
	return set.String()
}
