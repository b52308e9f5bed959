// Package scenarios reads the YAML files that say what to measure, and
// expands them into trials.
//
// A file holds experiments; each experiment is a matrix over modes × workers
// × keep-alive × handlers × loads, repeated reps times. Parsing is strict:
// an unknown field, a wrong type or an impossible value is an error naming
// file:line, because a typo that silently falls back to a default would
// measure the wrong thing and look right.
package scenarios

import (
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"

	"clusterbench/metric"
	"clusterbench/modes"
	"clusterbench/plan"
	"clusterbench/worker"
)

// File is a parsed scenario file.
type File struct {
	Path        string `yaml:"-"`
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// NetNS runs each trial in a private network namespace when the host
	// allows it; nil means yes.
	NetNS       *bool        `yaml:"netns"`
	Experiments []Experiment `yaml:"experiments"`
	// Compare is how a later run is judged against this one by
	// `clusterbench compare`; it is kept in results.json.
	Compare *Compare `yaml:"compare"`
	// Variants are two builds measured side by side, interleaved; nil
	// for a run of one.
	Variants *Variants `yaml:"variants"`
	// Source is the text the file was read from, or for a scenario built
	// from flags their command line: results.json keeps it.
	Source string `yaml:"-"`
}

// Compare is a scenario's rules for `clusterbench compare`.
type Compare struct {
	Reference  string     `yaml:"reference"`
	Gate       []string   `yaml:"gate"`
	Thresholds Thresholds `yaml:"thresholds"`
	Alpha      float64    `yaml:"alpha"`
}

// Thresholds are the smallest changes that count, by metric: a fraction
// of the baseline or a difference, read from a number or a percentage.
type Thresholds map[string]float64

// UnmarshalYAML reads each threshold as its metric writes it.
func (t *Thresholds) UnmarshalYAML(n *yaml.Node) error {
	var written map[string]string
	if err := n.Decode(&written); err != nil {
		return err
	}
	*t = Thresholds{}
	for name, v := range written {
		m, err := metric.Lookup(name)
		if err != nil {
			return err
		}
		if (*t)[name], err = m.ParseThreshold(v); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// Experiment is one matrix of trials.
type Experiment struct {
	Name      string       `yaml:"name"`
	Modes     []modes.Spec `yaml:"modes"`
	Workers   []int        `yaml:"workers"`
	KeepAlive []bool       `yaml:"keepalive"`
	Handlers  []Handler    `yaml:"handler"`
	Loads     []Load       `yaml:"load"`
	Reps      int          `yaml:"reps"`
	// Proxy sets up the proxy of proxy modes (nginx, haproxy).
	Proxy plan.Proxy `yaml:"proxy"`
	// Required names modes that must run: if one cannot run on this host,
	// the run fails. Other modes that cannot run are skipped and reported.
	Required []string `yaml:"required"`
	// LoadGen is the engine of the loads that do not name one.
	LoadGen plan.Engine `yaml:"loadgen"`
	// CPUs keeps the load generator and the server apart; nil shares all CPUs.
	CPUs *plan.Placement `yaml:"cpus"`
	// Fault kills workers in every trial; nil for none.
	Fault *Fault `yaml:"fault"`
	// App is the user's own worker app; nil runs the Go worker.
	App *plan.App `yaml:"worker"`
}

// checkLoadNames checks that load names are unique; it returns the
// index of the load at fault.
func (e *Experiment) checkLoadNames() (int, error) {
	names := map[string]bool{}
	for i, l := range e.Loads {
		if names[l.Name] {
			return i, fmt.Errorf("load name %q used twice in experiment %s", l.Name, e.Name)
		}
		names[l.Name] = true
	}
	return 0, nil
}

// checkRequired checks that every required mode is one of the experiment's.
func (e *Experiment) checkRequired() error {
	for _, name := range e.Required {
		if !slices.ContainsFunc(e.Modes, func(m modes.Spec) bool { return m.Mode.Info().Name == name }) {
			return fmt.Errorf("required: %s is not among the experiment's modes", name)
		}
	}
	return nil
}

// IsRequired reports whether the experiment requires mode (a name).
func (e *Experiment) IsRequired(mode string) bool { return slices.Contains(e.Required, mode) }

// Handler is a named per-request work of the worker app, as a scenario
// writes it: what it leaves out keeps its default.
type Handler plan.Handler

// Load is how the load generator drives one trial, as a scenario writes
// it: what it leaves out keeps its default.
type Load plan.Load

// Defaults for what an experiment leaves out.
var (
	DefaultHandler = Handler(plan.DefaultHandler)
	DefaultLoad    = Load(plan.DefaultLoad)
)

// Trials expands every experiment into trials. Repetitions are the outer
// loop and modes the inner one, so that slow drift of a shared machine
// spreads over all modes instead of favouring whichever ran first.
func (f *File) Trials() []plan.Trial {
	maxReps := 0
	for _, e := range f.Experiments {
		maxReps = max(maxReps, e.Reps)
	}
	var trials []plan.Trial
	for rep := 1; rep <= maxReps; rep++ {
		for _, e := range f.Experiments {
			if rep <= e.Reps {
				trials = append(trials, f.variantTrials(e.trials(rep))...)
			}
		}
	}
	return trials
}

// trials is the experiment's matrix at one repetition.
func (e *Experiment) trials(rep int) []plan.Trial {
	var trials []plan.Trial
	for _, h := range e.Handlers {
		for _, l := range e.Loads {
			for _, w := range e.Workers {
				for _, ka := range e.KeepAlive {
					for _, m := range e.Modes {
						d := plan.Deployment{Mode: m, Workers: w, Handler: plan.Handler(h), Proxy: e.Proxy, App: e.App, Respawn: true}
						if f := e.Fault; f != nil {
							d.Fault = &plan.Fault{Kill: f.Kill, At: f.At, Signal: f.Signal}
							d.Respawn, d.RespawnDelay = f.Respawn, f.RespawnDelay
						}
						if e.CPUs != nil {
							d.CPUs = e.CPUs.Server
						}
						trials = append(trials, plan.Trial{
							Experiment: e.Name, Rep: rep, Reps: e.Reps, Required: e.IsRequired(m.Mode.Info().Name),
							Deployment: d, KeepAlive: ka, Load: plan.Load(l), Placement: e.CPUs,
						})
					}
				}
			}
		}
	}
	return trials
}

// fillDefaults completes what an experiment left out; n is its 1-based position.
func (e *Experiment) fillDefaults(n int) {
	if e.Name == "" {
		e.Name = fmt.Sprintf("experiment-%d", n)
	}
	if len(e.Workers) == 0 {
		e.Workers = []int{plan.DefaultWorkers()}
	}
	if len(e.KeepAlive) == 0 {
		e.KeepAlive = []bool{true}
	}
	if len(e.Handlers) == 0 {
		e.Handlers = []Handler{DefaultHandler}
	}
	for i := range e.Handlers {
		if e.Handlers[i].Name == "" {
			e.Handlers[i].Name = handlerName(e.Handlers[i])
		}
	}
	if len(e.Loads) == 0 {
		e.Loads = []Load{DefaultLoad}
	}
	if e.LoadGen == "" {
		e.LoadGen = plan.Engines[0]
	}
	for i := range e.Loads {
		if e.Loads[i].Engine == "" {
			e.Loads[i].Engine = e.LoadGen
		}
		if e.Loads[i].Name == "" {
			e.Loads[i].Name = loadName(e.Loads[i])
		}
	}
	if e.Reps == 0 {
		e.Reps = 1
	}
	if e.App != nil && e.App.Listen == "" {
		e.App.Listen = modes.ListenFD
	}
}

// HandlerName names a handler by its work, as a scenario does when it
// names none: "trivial", "cpu-200µs".
func HandlerName(w worker.Work) string { return handlerName(Handler{Work: w}) }

func handlerName(h Handler) string {
	name := fmt.Sprintf("cpu-%v-sleep-%v", h.CPU, h.Sleep)
	switch {
	case h.CPU == 0 && h.Sleep == 0:
		name = "trivial"
	case h.Sleep == 0:
		name = "cpu-" + h.CPU.String()
	}
	if !h.Tail.IsZero() {
		name += fmt.Sprintf("-tail-%v-%v", h.Tail.Fraction, h.Tail.CPU)
	}
	return name
}

// LoadName names a load by its shape, as a scenario does when it names
// none: "1000rps", "max-c32", "wrk-max-c32".
func LoadName(l plan.Load) string { return loadName(Load(l)) }

// loadName names a load by its shape; a load driven by another engine
// than the default says which, so that it never shares a name with a
// vegeta load in reports and comparisons.
func loadName(l Load) string {
	name := fmt.Sprintf("%drps", l.Rate)
	if l.Rate == 0 {
		name = fmt.Sprintf("max-c%d", l.Concurrency)
	}
	if l.Engine != plan.Engines[0] {
		name = l.Engine.String() + "-" + name
	}
	return name
}

// UnmarshalYAML starts from DefaultHandler, so a field left out keeps its
// default and an explicit zero stays zero.
func (h *Handler) UnmarshalYAML(n *yaml.Node) error {
	type plain Handler
	p := plain(DefaultHandler)
	p.Name = ""
	if err := n.Decode(&p); err != nil {
		return err
	}
	*h = Handler(p)
	return nil
}

// UnmarshalYAML starts from DefaultLoad, like Handler's.
func (l *Load) UnmarshalYAML(n *yaml.Node) error {
	type plain Load
	p := plain(DefaultLoad)
	if err := n.Decode(&p); err != nil {
		return err
	}
	*l = Load(p)
	return nil
}
