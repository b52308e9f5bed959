package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"clusterbench/internal/cpuset"
	"clusterbench/modes"
	"clusterbench/plan"
	"clusterbench/worker"
)

func TestParseValid(t *testing.T) {
	f, err := Parse("ok.yaml", []byte(`
name: ok
experiments:
  - name: one
    modes: [shared, reuseport]
    workers: [2, 8]
    keepalive: [true, false]
    handler:
      - {cpu: 200us}
      - {name: slow, sleep: 5ms, body_bytes: 0}
    load:
      - {rate: 1000, duration: 2s, warmup: 0}
      - {rate: 0}
    reps: 3
  - modes: shared
`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(f.Trials()), 2*2*2*2*2*3+1; got != want {
		t.Errorf("got %d trials; want %d", got, want)
	}
	one := f.Experiments[0]
	if h := one.Handlers[0]; h.CPU != 200*time.Microsecond || h.BodyBytes != DefaultHandler.BodyBytes || h.Name != "cpu-200µs" {
		t.Errorf("first handler = %+v; want 200us CPU with the default body and a derived name", h)
	}
	if h := one.Handlers[1]; h.BodyBytes != 0 || h.Name != "slow" {
		t.Errorf("second handler = %+v; want an explicit zero body kept", h)
	}
	if l := one.Loads[0]; l.Warmup != 0 || l.Duration != 2*time.Second || l.Concurrency != DefaultLoad.Concurrency || l.Name != "1000rps" {
		t.Errorf("first load = %+v; want explicit warmup 0 kept and defaults elsewhere", l)
	}
	if l := one.Loads[1]; l.Warmup != DefaultLoad.Warmup || l.Name != "max-c32" {
		t.Errorf("second load = %+v; want the default warm-up", l)
	}
	second := f.Experiments[1]
	if second.Name != "experiment-2" || len(second.Modes) != 1 || second.Reps != 1 ||
		len(second.Workers) != 1 || second.Workers[0] != plan.DefaultWorkers() || !second.KeepAlive[0] {
		t.Errorf("second experiment = %+v; want defaults filled in", second)
	}
}

func TestParseFault(t *testing.T) {
	f, err := Parse("faults.yaml", []byte(`
experiments:
  - name: one
    modes: [shared]
    workers: 4
    fault: {kill: 1, at: 2s}
  - name: all
    modes: [shared]
    workers: 4
    fault:
      kill: all
      at: 1500ms
      signal: term
      respawn: false
      respawn_delay: 100ms
`))
	if err != nil {
		t.Fatal(err)
	}
	one, all := f.Experiments[0].Fault, f.Experiments[1].Fault
	if *one != (Fault{Kill: plan.Kill{N: 1}, At: 2 * time.Second, Signal: plan.DefaultSignal, Respawn: true}) {
		t.Errorf("fault = %+v; want one worker killed at 2s by SIGKILL, replaced at once (the defaults)", *one)
	}
	if *all != (Fault{Kill: plan.Kill{All: true}, At: 1500 * time.Millisecond, Signal: plan.Signal(syscall.SIGTERM), Respawn: false, RespawnDelay: 100 * time.Millisecond}) {
		t.Errorf("fault = %+v; want all killed by SIGTERM, spelled canonically, not replaced", *all)
	}
	if n := all.Kill.Count(4); n != 4 {
		t.Errorf("kill all of 4 counts %d", n)
	}
	for _, tr := range f.Trials() {
		if tr.Fault == nil || tr.Fault.Signal.String() == "" {
			t.Errorf("trial %+v lost its experiment's fault", tr)
		}
	}
}

func TestTrialsInterleaveModesAndRepetitions(t *testing.T) {
	f, err := Parse("order.yaml", []byte("experiments:\n  - {modes: [shared, roundrobin, roundrobin:rotate], reps: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tr := range f.Trials() {
		got = append(got, tr.Mode.String()+"/"+string(rune('0'+tr.Rep)))
	}
	// A mode with policies is spelled out with its default one.
	want := "shared:race/1 roundrobin:free/1 roundrobin:rotate/1 shared:race/2 roundrobin:free/2 roundrobin:rotate/2"
	if strings.Join(got, " ") != want {
		t.Errorf("trial order %v; want %s", got, want)
	}
}

// TestParseTail reads a heavy-tailed handler and names it by its shape.
func TestParseTail(t *testing.T) {
	f, err := Parse("ok.yaml", []byte(`
experiments:
  - modes: shared
    handler:
      - {cpu: 100us, tail: {fraction: 0.01, cpu: 10ms}}
      - {tail: {fraction: 0.5, cpu: 0}}
      - {name: named, cpu: 1ms}
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		tail worker.Tail
	}{
		{"cpu-100µs-tail-0.01-10ms", worker.Tail{Fraction: 0.01, CPU: 10 * time.Millisecond}},
		{"trivial-tail-0.5-0s", worker.Tail{Fraction: 0.5}},
		{"named", worker.Tail{}},
	}
	for i, tt := range tests {
		if h := f.Experiments[0].Handlers[i]; h.Name != tt.name || h.Tail != tt.tail {
			t.Errorf("handler %d = %+v; want name %s, tail %+v", i, h, tt.name, tt.tail)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // the whole one-line error
	}{
		{"unknown top-level field", "experiment: []\n",
			`bad.yaml:1: unknown field "experiment" in file (known: compare, description, experiments, name, netns, variants)`},
		{"unknown experiment field", "experiments:\n  - modes: [shared]\n    threads: 8\n",
			`bad.yaml:3: unknown field "threads" in experiment (known: cpus, fault, handler, keepalive, load, loadgen, modes, name, proxy, reps, required, worker, workers)`},
		{"unknown load field", "experiments:\n  - modes: [shared]\n    load: {rate: 1, rps: 2}\n",
			`bad.yaml:3: unknown field "rps" in load (known: concurrency, duration, loadgen, max_connections, name, rate, timeout, warmup)`},
		{"zero workers", "experiments:\n  - modes: [shared]\n    workers: 0\n",
			`bad.yaml:3: workers: must be at least 1, got 0`},
		{"zero workers in a list", "experiments:\n  - modes: [shared]\n    workers:\n      - 4\n      - 0\n",
			`bad.yaml:5: workers: must be at least 1, got 0`},
		{"negative duration", "experiments:\n  - modes: [shared]\n    load:\n      duration: -5s\n",
			`bad.yaml:4: duration: must be at least 1ms, got -5s`},
		{"negative warmup", "experiments:\n  - modes: [shared]\n    load: {warmup: -1s}\n",
			`bad.yaml:3: warmup: must be at least 0s, got -1s`},
		{"unknown mode", "experiments:\n  - modes: [shared, fancy]\n",
			`bad.yaml:2: modes: unknown mode "fancy" (known: haproxy, iptables, nginx, node-none, node-rr, reuseport, roundrobin, shared, single)`},
		{"unknown policy", "experiments:\n  - modes: [shared, roundrobin:fastest]\n",
			`bad.yaml:2: modes: mode "roundrobin" has no policy "fastest" (known: free, rotate)`},
		{"policy of a mode without", "experiments:\n  - modes: [single:rotate]\n",
			`bad.yaml:2: modes: mode "single" has no policies, got "single:rotate"`},
		{"rate below zero", "experiments:\n  - modes: [shared]\n    load: {rate: -1}\n",
			`bad.yaml:3: rate: must be at least 0, got -1`},
		{"wrong type for workers", "experiments:\n  - modes: [shared]\n    workers: eight\n",
			`bad.yaml:3: workers: "eight" is not a whole number`},
		{"wrong type for keepalive", "experiments:\n  - modes: [shared]\n    keepalive: sometimes\n",
			`bad.yaml:3: keepalive: "sometimes" is not true or false`},
		{"duration without unit", "experiments:\n  - modes: [shared]\n    load: {duration: 5}\n",
			`bad.yaml:3: duration: "5" is not a duration (like 500ms, 5s, 200us)`},
		{"negative handler cpu", "experiments:\n  - modes: [shared]\n    handler: {cpu: -1ms}\n",
			`bad.yaml:3: cpu: must be at least 0s, got -1ms`},
		{"zero reps", "experiments:\n  - modes: [shared]\n    reps: 0\n",
			`bad.yaml:3: reps: must be at least 1, got 0`},
		{"handler not a mapping", "experiments:\n  - modes: [shared]\n    handler: fast\n",
			`bad.yaml:3: handler: expected a mapping of keys to values`},
		{"tail fraction zero", "experiments:\n  - modes: [shared]\n    handler:\n      tail: {fraction: 0, cpu: 10ms}\n",
			`bad.yaml:4: fraction: must be between 0 and 1, got 0`},
		{"tail fraction one", "experiments:\n  - modes: [shared]\n    handler:\n      tail: {fraction: 1, cpu: 10ms}\n",
			`bad.yaml:4: fraction: must be between 0 and 1, got 1`},
		{"tail fraction a percentage", "experiments:\n  - modes: [shared]\n    handler:\n      tail: {fraction: 1%, cpu: 10ms}\n",
			`bad.yaml:4: fraction: "1%" is not a number`},
		{"negative tail cpu", "experiments:\n  - modes: [shared]\n    handler:\n      tail: {fraction: 0.01, cpu: -1ms}\n",
			`bad.yaml:4: cpu: must be at least 0s, got -1ms`},
		{"absurd tail cpu", "experiments:\n  - modes: [shared]\n    handler:\n      tail: {fraction: 0.01, cpu: 1m}\n",
			`bad.yaml:4: cpu: must be at most 10s, got 1m0s (a limit of clusterbench, against typos)`},
		{"tail without fraction", "experiments:\n  - modes: [shared]\n    handler:\n      tail: {cpu: 10ms}\n",
			`bad.yaml:4: handler-tail: fraction must be between 0 and 1, exclusive, got 0`},
		{"unknown tail field", "experiments:\n  - modes: [shared]\n    handler: {tail: {share: 0.1}}\n",
			`bad.yaml:3: unknown field "share" in tail (known: cpu, fraction)`},
		{"fault in one process", "experiments:\n  - modes: [shared, single]\n    fault: {kill: 1, at: 1s}\n",
			`bad.yaml:3: fault: mode single serves from one process, so killing a worker would kill the whole server; fault injection does not apply to it`},
		{"tail not a mapping", "experiments:\n  - modes: [shared]\n    handler: {tail: 1%:10ms}\n",
			`bad.yaml:3: tail: expected a mapping of keys to values`},
		{"modes missing", "experiments:\n  - workers: 2\n",
			`bad.yaml:2: experiment 1: modes is required (known: haproxy, iptables, nginx, node-none, node-rr, reuseport, roundrobin, shared, single)`},
		{"no experiments", "name: empty\nexperiments: []\n",
			`bad.yaml:2: experiments: empty list`},
		{"empty file", "",
			`bad.yaml: empty scenario: expected a mapping with experiments`},
		{"unknown load generator", "experiments:\n  - modes: [shared]\n    loadgen: siege\n",
			`bad.yaml:3: loadgen: unknown load generator "siege" (known: vegeta, wrk)`},
		{"unknown load generator of a load", "experiments:\n  - modes: [shared]\n    load: {loadgen: ab}\n",
			`bad.yaml:3: loadgen: unknown load generator "ab" (known: vegeta, wrk)`},
		{"wrk at a constant rate", "experiments:\n  - modes: [shared]\n    load:\n      - {rate: 0}\n      - {loadgen: wrk, rate: 500}\n",
			`bad.yaml:5: wrk drives a closed loop only, so rate must be 0 (as fast as possible), got 500; use vegeta for a constant rate`},
		{"wrk for part of a second", "experiments:\n  - modes: [shared]\n    loadgen: wrk\n    load: {duration: 2s, warmup: 500ms}\n",
			`bad.yaml:4: wrk runs for whole seconds, got a warm-up of 500ms`},
		{"two loads of one name", "experiments:\n  - modes: [shared]\n    load:\n      - {name: a, rate: 10}\n      - {name: a, rate: 20}\n",
			`bad.yaml:5: load name "a" used twice in experiment experiment-1`},
		{"cpus overlap", "experiments:\n  - modes: [shared]\n    cpus: {loadgen: 0, server: 0}\n",
			`bad.yaml:3: cpus: loadgen (0) and server (0) share CPUs; they must be disjoint`},
		{"cpus half given", "experiments:\n  - modes: [shared]\n    cpus: {loadgen: 0}\n",
			`bad.yaml:3: cpus: server is required: give both loadgen and server`},
		{"cpus not a list", "experiments:\n  - modes: [shared]\n    cpus: {loadgen: 0, server: one}\n",
			`bad.yaml:3: server: "one" is not a CPU list (like 0, 0-3 or 0,2-3)`},
		{"cpus beyond the machine", "experiments:\n  - modes: [shared]\n    cpus:\n      loadgen: 0\n      server: 1000\n",
			`bad.yaml:4: cpus: server: CPU 1000 is not on this machine (online: ` + onlineCPUs(t) + `)`},
		{"duplicate experiment names", "experiments:\n  - {name: a, modes: [shared]}\n  - {name: a, modes: [shared]}\n",
			`bad.yaml:3: experiment name "a" used twice`},
		{"netns not a bool", "netns: maybe\nexperiments:\n  - modes: [shared]\n",
			`bad.yaml:1: netns: "maybe" is not true or false`},
		{"required unknown mode", "experiments:\n  - modes: [shared]\n    required: [warp]\n",
			`bad.yaml:3: required: unknown mode "warp" (known: haproxy, iptables, nginx, node-none, node-rr, reuseport, roundrobin, shared, single)`},
		{"required mode not in the experiment", "experiments:\n  - modes: [shared, roundrobin:rotate]\n    required: [roundrobin, iptables]\n",
			`bad.yaml:3: required: iptables is not among the experiment's modes`},
		{"required with a policy", "experiments:\n  - modes: [iptables]\n    required: [iptables:nth]\n",
			`bad.yaml:3: required: name a mode without its policy, got "iptables:nth"`},
		{"duplicate key", "experiments:\n  - modes: [shared]\n    modes: [reuseport]\n",
			`bad.yaml:3: mapping key "modes" already defined at line 2`},
		{"absurd worker count", "experiments:\n  - modes: [shared]\n    workers: [8, 100000]\n",
			`bad.yaml:3: workers: must be at most 1024, got 100000 (a limit of clusterbench, against typos)`},
		{"absurd duration", "experiments:\n  - modes: [shared]\n    load: {duration: 100h}\n",
			`bad.yaml:3: duration: must be at most 1h0m0s, got 100h0m0s (a limit of clusterbench, against typos)`},
		{"absurd rate", "experiments:\n  - modes: [shared]\n    load: {rate: 50000000}\n",
			`bad.yaml:3: rate: must be at most 1000000, got 50000000 (a limit of clusterbench, against typos)`},
		{"absurd concurrency", "experiments:\n  - modes: [shared]\n    load: {concurrency: 1000000}\n",
			`bad.yaml:3: concurrency: must be at most 100000, got 1000000 (a limit of clusterbench, against typos)`},
		{"a run longer than a day", "experiments:\n  - modes: [shared, reuseport]\n    reps: 1000\n    load: {duration: 1h}\n",
			`bad.yaml:2: the trials would measure for 2000h33m0s in all, more than the limit of 24h0m0s: fewer reps, loads or a shorter duration`},
		{"worker app without a command", "experiments:\n  - modes: [shared]\n    worker: {listen: fd}\n",
			`bad.yaml:3: worker: command is required, e.g. [python3, examples/python/app.py]`},
		{"worker app in a mode with its own app", "experiments:\n  - modes: [shared, node-rr]\n    worker:\n      command: [sh, app.sh]\n",
			`bad.yaml:4: worker: mode node-rr cannot run an app that listens on fd (it runs only its own worker app)`},
		{"worker app under an accept policy", "experiments:\n  - modes: [shared, shared:exclusive]\n    worker:\n      command: [sh, app.sh]\n",
			`bad.yaml:4: worker: shared:exclusive steers how the Go worker accepts, which your app does its own way; run it under shared:race`},
		{"worker app on a port in a socket mode", "experiments:\n  - modes: [nginx, reuseport]\n    worker: {command: [sh], listen: port}\n",
			`bad.yaml:3: worker: mode reuseport cannot run an app that listens on port (it can give an app: fd)`},
		{"worker app listening oddly", "experiments:\n  - modes: [shared]\n    worker: {command: [sh], listen: socket}\n",
			`bad.yaml:3: worker: listen must be fd or port, got "socket"`},
		{"worker app not found", "experiments:\n  - modes: [shared]\n    worker: {command: [no-such-program-here]}\n",
			`bad.yaml:3: worker: command: exec: "no-such-program-here": executable file not found in $PATH`},
		{"fault kills more workers than run", "experiments:\n  - modes: [shared]\n    workers: [8, 2]\n    fault: {kill: 3, at: 1s}\n",
			`bad.yaml:4: fault: kills 3 workers, but a trial runs only 2`},
		{"fault after the load", "experiments:\n  - modes: [shared]\n    load: {duration: 2s}\n    fault:\n      kill: all\n      at: 2s\n",
			`bad.yaml:5: fault: at 2s is not within load max-c32's measured 2s`},
		{"fault kills nobody", "experiments:\n  - modes: [shared]\n    fault: {kill: 0}\n",
			`bad.yaml:3: kill: must be at least 1, got 0`},
		{"fault kills some", "experiments:\n  - modes: [shared]\n    fault: {kill: some}\n",
			`bad.yaml:3: kill: "some" is not a number of workers or "all"`},
		{"fault with an unknown signal", "experiments:\n  - modes: [shared]\n    fault: {kill: 1, signal: SIGINT}\n",
			`bad.yaml:3: signal: "SIGINT" is not one of SIGKILL, SIGTERM, SIGHUP, SIGQUIT, SIGABRT, SIGSEGV`},
		{"fault measured by wrk", "experiments:\n  - modes: [shared]\n    loadgen: wrk\n    fault: {kill: 1, at: 1s}\n",
			`bad.yaml:4: fault: load wrk-max-c32: wrk cannot measure a fault (no per-second or before/after counts, and it stops when it cannot connect); use vegeta`},
		{"fault with an unknown key", "experiments:\n  - modes: [shared]\n    fault: {kill: 1, when: 1s}\n",
			`bad.yaml:3: unknown field "when" in fault (known: at, kill, respawn, respawn_delay, signal)`},
		{"compare: unknown metric in the gate", "compare:\n  gate: [throughput, speed]\nexperiments:\n  - modes: [shared]\n",
			`bad.yaml:2: gate: unknown metric "speed" (known: throughput, p50, p99, cpu_per_request, errors, jain_requests, jain_connections, top2_connections, throughput_vs_ref, cpu_per_request_vs_ref, p99_vs_ref)`},
		{"compare: threshold of an unknown metric", "compare:\n  thresholds:\n    thruput: 5%\nexperiments:\n  - modes: [shared]\n",
			`bad.yaml:3: unknown field "thruput" in thresholds (known: cpu_per_request, cpu_per_request_vs_ref, errors, jain_connections, jain_requests, p50, p99, p99_vs_ref, throughput, throughput_vs_ref, top2_connections)`},
		{"compare: threshold not a number", "compare:\n  thresholds: {p99: high}\nexperiments:\n  - modes: [shared]\n",
			`bad.yaml:2: p99: threshold "high" is not a number ≥ 0 or a percentage like 10%`},
		{"compare: a relative threshold above 1 without %", "compare:\n  thresholds: {throughput: 10}\nexperiments:\n  - modes: [shared]\n",
			`bad.yaml:2: throughput: threshold "10" of throughput is a fraction of the baseline, so 10 would be 1000%: write 10% for a percentage`},
		{"compare: alpha out of range", "compare: {alpha: 5}\nexperiments:\n  - modes: [shared]\n",
			`bad.yaml:1: alpha: must be between 0 and 1, got 5`},
		{"compare: reference mode never runs", "compare:\n  gate: [throughput_vs_ref]\n  reference: roundrobin\nexperiments:\n  - modes: [shared, reuseport]\n",
			`bad.yaml:3: compare: the gate has throughput_vs_ref, normalised by the reference mode roundrobin:free, but no experiment runs roundrobin:free beside another mode`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tt.yaml))
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("Parse error = %v; want a *scenarios.Error", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestParseSyntaxError(t *testing.T) {
	// The YAML library decides which line a syntax error is on; we only
	// promise file:line and its one-line message.
	_, err := Parse("bad.yaml", []byte("experiments:\n  - modes: [shared\n"))
	if err == nil || !regexp.MustCompile(`^bad\.yaml:\d+: did not find expected ',' or ']'$`).MatchString(err.Error()) {
		t.Errorf("Parse(unclosed list) = %v; want bad.yaml:LINE: did not find expected ',' or ']'", err)
	}
}

func TestShippedScenariosParse(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files found: %v", err)
	}
	for _, path := range files {
		f, err := Read(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if len(f.Trials()) == 0 {
			t.Errorf("%s: no trials", path)
		}
	}
}

func TestQuickScenarioIsQuick(t *testing.T) {
	f, err := Read("quick.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var load time.Duration
	for _, tr := range f.Trials() {
		load += tr.Load.Duration + tr.Load.Warmup
	}
	// Each trial also spends about a second starting and stopping workers.
	if budget := load + time.Duration(len(f.Trials()))*time.Second; budget > 45*time.Second {
		t.Errorf("quick.yaml needs about %v; want well under a minute", budget)
	}
}

func TestReadMissingFile(t *testing.T) {
	_, err := Read(filepath.Join(t.TempDir(), "nope.yaml"))
	var se *Error
	if !errors.As(err, &se) || !errors.Is(err, os.ErrNotExist) && !strings.Contains(err.Error(), "no such file") {
		t.Errorf("Read(missing) = %v; want a scenarios.Error saying the file does not exist", err)
	}
}

func TestSingleChecksFlags(t *testing.T) {
	shared, _ := modes.ParseSpec("shared")
	ok := Experiment{Modes: []modes.Spec{shared}, Loads: []Load{DefaultLoad}}
	if _, err := Single("flags", ok); err != nil {
		t.Fatalf("Single(valid) = %v", err)
	}
	tests := []struct {
		name   string
		change func(*Experiment)
		want   string
	}{
		{"no mode", func(e *Experiment) { e.Modes = nil }, "no mode given"},
		{"required mode not run", func(e *Experiment) { e.Required = []string{"iptables"} }, "required: iptables is not among the experiment's modes"},
		{"zero workers", func(e *Experiment) { e.Workers = []int{0} }, "workers: must be at least 1, got 0"},
		{"negative rate", func(e *Experiment) { e.Loads[0].Rate = -1 }, "rate: must be at least 0, got -1"},
		{"negative duration", func(e *Experiment) { e.Loads[0].Duration = -time.Second }, "duration: must be at least 1ms, got -1s"},
		{"negative handler cpu", func(e *Experiment) { e.Handlers = []Handler{{Work: worker.Work{CPU: -1}}} }, "handler-cpu: must be at least 0"},
		{"absurd workers", func(e *Experiment) { e.Workers = []int{4096} }, "workers: must be at most 1024, got 4096"},
		{"absurd rate", func(e *Experiment) { e.Loads[0].Rate = 1e8 }, "rate: must be at most 1000000"},
		{"absurd duration", func(e *Experiment) { e.Loads[0].Duration = 48 * time.Hour }, "duration: must be at most 1h0m0s"},
		{"absurd handler sleep", func(e *Experiment) { e.Handlers = []Handler{{Work: worker.Work{Sleep: time.Hour}}} }, "handler-sleep: must be at most 1m0s"},
		{"absurd reps", func(e *Experiment) { e.Reps = 10000 }, "reps: must be at most 1000"},
		{"tail of no requests", func(e *Experiment) {
			e.Handlers = []Handler{{Work: worker.Work{Tail: worker.Tail{CPU: time.Millisecond}}}}
		}, "handler-tail: fraction must be between 0 and 1, exclusive, got 0"},
		{"tail of every request", func(e *Experiment) {
			e.Handlers = []Handler{{Work: worker.Work{Tail: worker.Tail{Fraction: 1, CPU: time.Millisecond}}}}
		}, "handler-tail: fraction must be between 0 and 1, exclusive, got 1"},
		{"absurd tail cpu", func(e *Experiment) {
			e.Handlers = []Handler{{Work: worker.Work{Tail: worker.Tail{Fraction: 0.5, CPU: time.Minute}}}}
		}, "handler-tail: cpu: must be at most 10s"},
		{"negative tail cpu", func(e *Experiment) {
			e.Handlers = []Handler{{Work: worker.Work{Tail: worker.Tail{Fraction: 0.5, CPU: -1}}}}
		}, "handler-tail: cpu: must be at least 0s"},
		{"fault beyond the workers", func(e *Experiment) {
			e.Workers = []int{2}
			e.Fault = &Fault{Kill: plan.Kill{N: 3}, Signal: plan.DefaultSignal}
		}, "fault: kills 3 workers, but a trial runs only 2"},
		{"fault at a negative time", func(e *Experiment) {
			e.Fault = &Fault{Kill: plan.Kill{N: 1}, At: -time.Second, Signal: plan.DefaultSignal}
		}, "kill-at: must be at least 0"},
		{"fault after the load", func(e *Experiment) {
			e.Fault = &Fault{Kill: plan.Kill{All: true}, At: time.Hour, Signal: plan.DefaultSignal}
		}, "fault: at 1h0m0s is not within load"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Experiment{Modes: []modes.Spec{shared}, Loads: []Load{DefaultLoad}}
			tt.change(&e)
			_, err := Single("flags", e)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Single = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestParseCompare(t *testing.T) {
	f, err := Parse("ci.yaml", []byte(`
compare:
  reference: roundrobin
  gate: [throughput_vs_ref, errors]
  thresholds: {throughput_vs_ref: 15%, errors: 0.002, p99: 0.3}
  alpha: 0.02
experiments:
  - modes: [shared, roundrobin]
`))
	if err != nil {
		t.Fatal(err)
	}
	s := f.Compare
	if s.Reference != "roundrobin" || len(s.Gate) != 2 || s.Alpha != 0.02 {
		t.Errorf("settings %+v", s)
	}
	// A percentage is a fraction; a bare number is taken as written.
	if s.Thresholds["throughput_vs_ref"] != 0.15 || s.Thresholds["errors"] != 0.002 || s.Thresholds["p99"] != 0.3 {
		t.Errorf("thresholds %v", s.Thresholds)
	}
	if none, _ := Parse("plain.yaml", []byte("experiments:\n  - modes: [shared]\n")); none.Compare != nil {
		t.Error("a scenario without a compare section has settings")
	}
}

func onlineCPUs(t *testing.T) string {
	online, err := cpuset.Online()
	if err != nil {
		t.Fatal(err)
	}
	return online.String()
}

// TestLoadGenerators: an experiment's loadgen is the default of its
// loads, a load may name its own, and a load of another engine than
// vegeta says so in its default name.
func TestLoadGenerators(t *testing.T) {
	f, err := Parse("engines.yaml", []byte(`experiments:
  - modes: [reuseport]
    loadgen: wrk
    load:
      - {duration: 2s}
      - {loadgen: vegeta, duration: 2s}
      - {loadgen: vegeta, rate: 100}
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range f.Experiments[0].Loads {
		got = append(got, l.Engine.String()+":"+l.Name)
	}
	if want := "wrk:wrk-max-c32 vegeta:max-c32 vegeta:100rps"; strings.Join(got, " ") != want {
		t.Errorf("loads %v; want %s", got, want)
	}
	if f.Trials()[0].Placement != nil {
		t.Errorf("a trial without cpus has a placement: %+v", f.Trials()[0].Placement)
	}
}

func TestPlacementIsSpelledCanonically(t *testing.T) {
	allowed, err := cpuset.Allowed()
	if err != nil {
		t.Fatal(err)
	}
	if allowed.Len() < 2 {
		t.Skipf("placement needs two CPUs; this process may use only %s", allowed)
	}
	f, err := Parse("cpus.yaml", []byte("experiments:\n  - modes: [reuseport]\n    cpus: {loadgen: '1-1', server: 0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if tr := f.Trials()[0]; tr.Placement == nil || tr.Placement.LoadGen.String() != "1" || tr.Placement.Server.String() != "0" || tr.CPUs.String() != "0" {
		t.Errorf("placement %+v, deployment CPUs %s; want loadgen 1 and server 0", tr.Placement, tr.CPUs)
	}
}

// Every user-chosen name that reaches a report is checked where it is
// read, with its line: a long name would break the plots' file names, a
// newline, '|' or Markdown the report, an escape code the terminal.
func TestParseRefusesBadNames(t *testing.T) {
	long := strings.Repeat("x", 5000)
	for _, tt := range []struct {
		name, yaml, want string
	}{
		{"long experiment", "experiments:\n  - modes: [shared]\n    name: " + long + "\n", "bad.yaml:3: name: name of 5000 bytes, at most 64 allowed"},
		{"newline in experiment", "experiments:\n  - modes: [shared]\n    name: \"a\\n## b\"\n", "bad.yaml:3: name: name \"a\\n## b\""},
		{"markdown image", "experiments:\n  - modes: [shared]\n    name: \"![x](http://example.invalid/a.png)\"\n", "bad.yaml:3: name:"},
		{"escape code in load", "experiments:\n  - modes: [shared]\n    load:\n      - {rate: 10}\n      - {name: \"red\\e[31m\", rate: 20}\n", "bad.yaml:5: name:"},
		{"pipe in handler", "experiments:\n  - modes: [shared]\n    handler: {name: \"a|b\"}\n", "bad.yaml:3: name:"},
		{"space in worker app", "experiments:\n  - modes: [shared]\n    worker:\n      name: my app\n      command: [python3, app.py]\n", "bad.yaml:4: name:"},
		{"number as name", "experiments:\n  - modes: [shared]\n    name: 12\n", "bad.yaml:3: name: \"12\" is not a string"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tt.yaml))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Parse = %v; want an error starting %q", err, tt.want)
			}
			if err != nil && strings.ContainsAny(err.Error(), "\n\x1b") {
				t.Errorf("the error %q is not one plain line", err)
			}
		})
	}
}
