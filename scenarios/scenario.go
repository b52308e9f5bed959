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
	"runtime"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"clusterbench/compare"
	"clusterbench/internal/cpuset"
	"clusterbench/loadgen"
	"clusterbench/modes"
	"clusterbench/results"
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
}

// Compare is a scenario's rules for `clusterbench compare`.
type Compare struct {
	Reference  string            `yaml:"reference"`
	Gate       []string          `yaml:"gate"`
	Thresholds map[string]string `yaml:"thresholds"`
	Alpha      float64           `yaml:"alpha"`
}

// Settings returns the rules as results.json keeps them; nil for none.
func (c *Compare) Settings() *results.CompareSettings {
	if c == nil {
		return nil
	}
	s := &results.CompareSettings{Reference: c.Reference, Gate: c.Gate, Alpha: c.Alpha}
	for name, v := range c.Thresholds {
		if s.Thresholds == nil {
			s.Thresholds = map[string]float64{}
		}
		m, _ := compare.Lookup(name)
		s.Thresholds[name], _ = m.ParseThreshold(v) // checked when the file was read
	}
	return s
}

// Experiment is one matrix of trials.
type Experiment struct {
	Name      string    `yaml:"name"`
	Modes     []string  `yaml:"modes"`
	Workers   []int     `yaml:"workers"`
	KeepAlive []bool    `yaml:"keepalive"`
	Handlers  []Handler `yaml:"handler"`
	Loads     []Load    `yaml:"load"`
	Reps      int       `yaml:"reps"`
	// Proxy sets up the proxy of proxy modes (nginx, haproxy).
	Proxy Proxy `yaml:"proxy"`
	// Required names modes that must run: if one cannot run on this host,
	// the run fails. Other modes that cannot run are skipped and reported.
	Required []string `yaml:"required"`
	// LoadGen is the engine of the loads that do not name one.
	LoadGen string `yaml:"loadgen"`
	// CPUs keeps the load generator and the server apart; nil shares all CPUs.
	CPUs *Placement `yaml:"cpus"`
	// Fault kills workers in every trial; nil for none.
	Fault *Fault `yaml:"fault"`
	// App is the user's own worker app; nil runs the Go worker.
	App *App `yaml:"worker"`
}

// Placement puts the load generator and the server (master, proxy and
// workers) on disjoint CPU sets, written as CPU lists ("0", "1-3").
type Placement struct {
	LoadGen string `yaml:"loadgen"`
	Server  string `yaml:"server"`
}

// check parses both sets and spells them canonically; they must be
// disjoint and on CPUs this process may use.
func (p *Placement) check() error {
	var sets [2]cpuset.Set
	for i, f := range []struct {
		name string
		list *string
	}{{"loadgen", &p.LoadGen}, {"server", &p.Server}} {
		if *f.list == "" {
			return fmt.Errorf("cpus: %s is required: give both loadgen and server", f.name)
		}
		var err error
		if sets[i], err = cpuset.ParseUsable(*f.list); err != nil {
			return fmt.Errorf("cpus: %s: %w", f.name, err)
		}
		*f.list = sets[i].String()
	}
	if sets[0].Overlaps(sets[1]) {
		return fmt.Errorf("cpus: loadgen (%s) and server (%s) share CPUs; they must be disjoint", sets[0], sets[1])
	}
	return nil
}

// checkLoads checks what depends on several fields of a load, and that
// load names are unique; it returns the index of the load at fault.
func (e *Experiment) checkLoads() (int, error) {
	names := map[string]bool{}
	for i, l := range e.Loads {
		if names[l.Name] {
			return i, fmt.Errorf("load name %q used twice in experiment %s", l.Name, e.Name)
		}
		names[l.Name] = true
		if l.Engine == "wrk" {
			if err := loadgen.CheckWrk(l.Rate, l.MaxConnections, l.Duration, l.Warmup); err != nil {
				return i, err
			}
		}
	}
	return 0, nil
}

// checkRequired checks that every required mode is one of the experiment's.
func (e *Experiment) checkRequired() error {
	for _, name := range e.Required {
		if !slices.ContainsFunc(e.Modes, func(m string) bool { return strings.Split(m, ":")[0] == name }) {
			return fmt.Errorf("required: %s is not among the experiment's modes", name)
		}
	}
	return nil
}

// IsRequired reports whether the experiment requires mode (a name).
func (e *Experiment) IsRequired(mode string) bool { return slices.Contains(e.Required, mode) }

// Proxy is the setup of a proxy mode's proxy.
type Proxy struct {
	// Processes is its worker processes (nginx) or threads (HAProxy); 0 means one per CPU.
	Processes int `yaml:"processes"`
	// UpstreamKeepAlive keeps its connections to the workers open.
	UpstreamKeepAlive bool `yaml:"upstream_keepalive"`
}

// Handler is a named per-request work of the worker app.
type Handler struct {
	Name        string `yaml:"name"`
	worker.Work `yaml:",inline"`
}

// Load is how the load generator drives one trial.
type Load struct {
	Name string `yaml:"name"`
	// Engine is the load generator: vegeta or wrk (see package loadgen).
	Engine string `yaml:"loadgen"`
	// Rate in requests per second; 0 means as fast as possible (closed loop).
	Rate           int           `yaml:"rate"`
	Duration       time.Duration `yaml:"duration"`
	Warmup         time.Duration `yaml:"warmup"`
	Concurrency    int           `yaml:"concurrency"`
	MaxConnections int           `yaml:"max_connections"`
	Timeout        time.Duration `yaml:"timeout"`
}

// Defaults for what an experiment leaves out.
var (
	DefaultHandler = Handler{Name: "trivial", Work: worker.Work{BodyBytes: 64}}
	DefaultLoad    = Load{Duration: 5 * time.Second, Warmup: time.Second, Concurrency: 32, Timeout: 10 * time.Second}
)

// DefaultWorkers is one worker per CPU, like cluster.fork() per core.
func DefaultWorkers() int { return runtime.NumCPU() }

// Trial is one point of an experiment's matrix, at one repetition.
type Trial struct {
	Experiment string
	Rep        int // 1-based
	Reps       int
	Mode       string // MODE or MODE:POLICY, policy spelled out
	Workers    int
	KeepAlive  bool
	Handler    Handler
	Load       Load
	Proxy      Proxy
	// CPUs keeps the load generator and the server apart; nil shares all CPUs.
	CPUs *Placement
	// Fault kills workers while measuring; nil for none.
	Fault *Fault
	// App is the user's own worker app; nil runs the Go worker.
	App *App
	// Required is true when the experiment requires this trial's mode.
	Required bool
}

// Trials expands every experiment into trials. Repetitions are the outer
// loop and modes the inner one, so that slow drift of a shared machine
// spreads over all modes instead of favouring whichever ran first.
func (f *File) Trials() []Trial {
	maxReps := 0
	for _, e := range f.Experiments {
		maxReps = max(maxReps, e.Reps)
	}
	var trials []Trial
	for rep := 1; rep <= maxReps; rep++ {
		for _, e := range f.Experiments {
			if rep > e.Reps {
				continue
			}
			for _, h := range e.Handlers {
				for _, l := range e.Loads {
					for _, w := range e.Workers {
						for _, ka := range e.KeepAlive {
							for _, m := range e.Modes {
								trials = append(trials, Trial{
									Experiment: e.Name, Rep: rep, Reps: e.Reps,
									Mode: m, Workers: w, KeepAlive: ka, Handler: h, Load: l, Proxy: e.Proxy, CPUs: e.CPUs, Fault: e.Fault, App: e.App,
									Required: e.IsRequired(strings.Split(m, ":")[0]),
								})
							}
						}
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
	for i, m := range e.Modes {
		// Spelled out, so reports name the policy: "roundrobin:free".
		if spec, err := modes.ParseSpec(m); err == nil {
			e.Modes[i] = spec.String()
		}
	}
	if len(e.Workers) == 0 {
		e.Workers = []int{DefaultWorkers()}
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
		e.LoadGen = loadgen.Engines[0]
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
}

func handlerName(h Handler) string {
	switch {
	case h.CPU == 0 && h.Sleep == 0:
		return "trivial"
	case h.Sleep == 0:
		return "cpu-" + h.CPU.String()
	}
	return fmt.Sprintf("cpu-%v-sleep-%v", h.CPU, h.Sleep)
}

// loadName names a load by its shape; a load driven by another engine
// than the default says which, so that it never shares a name with a
// vegeta load in reports and comparisons.
func loadName(l Load) string {
	name := fmt.Sprintf("%drps", l.Rate)
	if l.Rate == 0 {
		name = fmt.Sprintf("max-c%d", l.Concurrency)
	}
	if l.Engine != loadgen.Engines[0] {
		name = l.Engine + "-" + name
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
