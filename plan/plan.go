// Package plan is the typed description of a trial: what to deploy and
// how to load it, built once from a scenario or from flags, validated
// once (Validate), and sent as JSON to the processes that carry it out.
//
// Values that are written as text (mode specs, kill counts, signals,
// engines, CPU lists) are types that read themselves where they enter, as
// YAML, JSON or a flag, so nothing downstream parses a string again.
package plan

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"clusterbench/modes"
	"clusterbench/worker"
)

// Deployment is what `clusterbench serve` runs: a mode's master, proxy
// and workers. A trial sends it to serve as JSON; serve's flags build it
// too.
type Deployment struct {
	Mode    modes.Spec `json:"mode"`
	Workers int        `json:"workers"`
	// Handler is the per-request work of the Go worker app.
	Handler Handler `json:"handler"`
	Proxy   Proxy   `json:"proxy"`
	// App is the user's own worker app; nil runs the Go worker.
	App *App `json:"app,omitempty"`
	// Respawn replaces a worker that exits while serving, after RespawnDelay.
	Respawn      bool          `json:"respawn"`
	RespawnDelay time.Duration `json:"respawn_delay"`
	// Fault kills workers; nil for none.
	Fault *Fault `json:"fault,omitempty"`
	// CPUs pins the whole deployment; empty for no pinning.
	CPUs CPUs `json:"cpus"`
}

// Trial is one trial: a deployment, the load that drives it, and where it
// stands in its scenario.
type Trial struct {
	Experiment string `json:"experiment"`
	Rep        int    `json:"rep"` // 1-based
	Reps       int    `json:"reps"`
	// Variant names the build under test, "base" or "head", in a run that
	// compares two (see Variant); "" otherwise.
	Variant string `json:"variant,omitempty"`
	// Bin is another clusterbench executable that measures this trial
	// (its trial, serve and worker processes); "" for this one.
	Bin string `json:"bin,omitempty"`
	// Required is true when the experiment requires this trial's mode.
	Required   bool `json:"required"`
	Deployment `json:"deployment"`
	KeepAlive  bool `json:"keepalive"`
	Load       Load `json:"load"`
	// Placement keeps the load generator and the server apart; nil
	// shares all CPUs. Its server side is also the deployment's CPUs.
	Placement *Placement `json:"placement,omitempty"`
}

// Handler is a named per-request work of the worker app.
type Handler struct {
	Name        string `yaml:"name" json:"name"`
	worker.Work `yaml:",inline"`
}

// Load is how the load generator drives one trial.
type Load struct {
	Name string `yaml:"name" json:"name"`
	// Engine is the load generator.
	Engine Engine `yaml:"loadgen" json:"engine"`
	// Rate in requests per second; 0 means as fast as possible (closed loop).
	Rate           int           `yaml:"rate" json:"rate"`
	Duration       time.Duration `yaml:"duration" json:"duration"`
	Warmup         time.Duration `yaml:"warmup" json:"warmup"`
	Concurrency    int           `yaml:"concurrency" json:"concurrency"`
	MaxConnections int           `yaml:"max_connections" json:"max_connections"`
	Timeout        time.Duration `yaml:"timeout" json:"timeout"`
}

// Proxy is the setup of a proxy mode's proxy.
type Proxy struct {
	// Processes is its worker processes (nginx) or threads (HAProxy); 0 means one per CPU.
	Processes int `yaml:"processes" json:"processes"`
	// UpstreamKeepAlive keeps its connections to the workers open.
	UpstreamKeepAlive bool `yaml:"upstream_keepalive" json:"upstream_keepalive"`
}

// Defaults for what a scenario or the flags leave out.
var (
	DefaultHandler = Handler{Name: "trivial", Work: worker.Work{BodyBytes: 64}}
	DefaultLoad    = Load{Duration: 5 * time.Second, Warmup: time.Second, Concurrency: 32, Timeout: 10 * time.Second}
)

// DefaultWorkers is one worker per CPU, like cluster.fork() per core.
func DefaultWorkers() int { return runtime.NumCPU() }

// Part names the part of a description a mistake is in, as a scenario
// file names its sections, so that a scenario can point at the line.
type Part string

// The parts Validate names; other mistakes are the experiment's.
const (
	PartLoad      Part = "load"
	PartPlacement Part = "cpus"
	PartFault     Part = "fault"
	PartApp       Part = "worker"
	PartHandler   Part = "handler"
)

// Invalid is a description that cannot run.
type Invalid struct {
	Part Part // "" for the deployment or trial as a whole
	Err  error
}

func (e *Invalid) Error() string { return e.Err.Error() }
func (e *Invalid) Unwrap() error { return e.Err }

func invalid(part Part, format string, args ...any) error {
	return &Invalid{Part: part, Err: fmt.Errorf(format, args...)}
}

// Validate says why the deployment cannot run, naming the field at fault
// as the flags do, or returns nil. It checks everything up front, so that
// a mistake is refused before anything starts.
func (d *Deployment) Validate() error {
	if d.Mode.IsZero() {
		return invalid("", "no mode given (known: %v)", modes.Names())
	}
	if err := Limits.Workers.Check(d.Workers); err != nil {
		return invalid("", "workers: %w", err)
	}
	if err := Limits.ProxyProcesses.Check(d.Proxy.Processes); err != nil {
		return invalid("", "proxy-processes: %w", err)
	}
	if err := checkWork(d.Handler.Work); err != nil {
		return &Invalid{Part: PartHandler, Err: err}
	}
	if err := Limits.RespawnDelay.Check(d.RespawnDelay); err != nil {
		return invalid(PartFault, "respawn-delay: %w", err)
	}
	if f := d.Fault; f != nil {
		if d.Mode.Mode.Info().OneProcess {
			return invalid(PartFault, "fault: mode %s serves from one process, so killing a worker would kill the whole server; fault injection does not apply to it", d.Mode)
		}
		if f.At < 0 {
			return invalid(PartFault, "kill-at: must be at least 0, got %v", f.At)
		}
		if !f.Kill.All && f.Kill.N < 1 {
			return invalid(PartFault, "kill: must be at least 1, got %d", f.Kill.N)
		}
		if k := f.Kill.Count(d.Workers); k > d.Workers {
			return invalid(PartFault, "fault: kills %d workers, but a trial runs only %d", k, d.Workers)
		}
	}
	if !d.CPUs.IsEmpty() {
		if err := d.CPUs.usable(); err != nil {
			return invalid(PartPlacement, "cpus: %w", err)
		}
	}
	if d.App != nil {
		if err := d.App.check(d.Mode); err != nil {
			return &Invalid{Part: PartApp, Err: err}
		}
	}
	return nil
}

// Validate says why the trial cannot run, or returns nil: its deployment,
// its load, and how the two fit together.
func (t *Trial) Validate() error {
	if err := CheckLoad(t.Load); err != nil {
		return &Invalid{Part: PartLoad, Err: err}
	}
	if t.Load.Engine == Wrk {
		if err := CheckWrk(t.Load.Rate, t.Load.MaxConnections, t.Load.Duration, t.Load.Warmup); err != nil {
			return &Invalid{Part: PartLoad, Err: err}
		}
	}
	if p := t.Placement; p != nil {
		if err := p.check(); err != nil {
			return &Invalid{Part: PartPlacement, Err: err}
		}
	}
	if err := t.Deployment.Validate(); err != nil {
		return err
	}
	if f := t.Fault; f != nil {
		if f.At >= t.Load.Duration {
			return invalid(PartFault, "fault: at %v is not within load %s's measured %v", f.At, t.Load.Name, t.Load.Duration)
		}
		if t.Load.Engine == Wrk {
			return invalid(PartFault, "fault: load %s: %w", t.Load.Name, ErrWrkFault)
		}
	}
	// Last, so that a name made from a wrong value (-1rps) names the value.
	return t.checkNames()
}

// checkWork checks the per-request work against the limits, naming the flags.
func checkWork(w worker.Work) error {
	if err := Limits.BodyBytes.Check(w.BodyBytes); err != nil {
		return fmt.Errorf("body-bytes: %w", err)
	}
	if err := Limits.HandlerCPU.Check(w.CPU); err != nil {
		return fmt.Errorf("handler-cpu: %w", err)
	}
	if err := Limits.HandlerSleep.Check(w.Sleep); err != nil {
		return fmt.Errorf("handler-sleep: %w", err)
	}
	if w.Tail.IsZero() {
		return nil
	}
	if f := w.Tail.Fraction; f <= 0 || f >= 1 {
		return fmt.Errorf("handler-tail: fraction must be between 0 and 1, exclusive, got %v", f)
	}
	if err := Limits.HandlerCPU.Check(w.Tail.CPU); err != nil {
		return fmt.Errorf("handler-tail: cpu: %w", err)
	}
	return nil
}

// CheckLoad checks a load against the limits, naming the flags.
func CheckLoad(l Load) error {
	if l.Engine == "" {
		return errors.New("loadgen: no load generator given")
	}
	for _, c := range []struct {
		name string
		err  error
	}{
		{"rate", Limits.Rate.Check(l.Rate)},
		{"duration", Limits.Duration.Check(l.Duration)},
		{"warmup", Limits.Warmup.Check(l.Warmup)},
		{"concurrency", Limits.Concurrency.Check(l.Concurrency)},
		{"max-connections", Limits.MaxConnections.Check(l.MaxConnections)},
		{"timeout", Limits.Timeout.Check(l.Timeout)},
	} {
		if c.err != nil {
			return fmt.Errorf("%s: %w", c.name, c.err)
		}
	}
	return nil
}

// LoadgenCPUs is how many CPUs the trial's load generator may use.
func (t *Trial) LoadgenCPUs() int {
	if t.Placement != nil {
		return t.Placement.LoadGen.Len()
	}
	return runtime.NumCPU()
}
