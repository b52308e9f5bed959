package scenarios

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"clusterbench/modes"
	"clusterbench/plan"
)

// Variant names, fixed so that a comparison knows which side is which.
const (
	Base = "base"
	Head = "head"
)

// Variants are the two builds of the app under test that a run measures
// side by side: every trial point and repetition runs once for each, on
// the same machine, alternating, so that `clusterbench compare DIR` can
// pair them. Both are required when the section is given.
type Variants struct {
	Base Variant `yaml:"base"`
	Head Variant `yaml:"head"`
}

// Variant is one build of the app under test. What it leaves out is the
// experiment's: a variant with nothing set runs the experiment as written.
type Variant struct {
	// App is the user's worker app as one shell command line, e.g.
	// "./server --port $PORT": sh runs it (exec), so $PORT is expanded.
	App string `yaml:"app"`
	// Listen is how App gets its socket: fd (the default) or port.
	Listen string `yaml:"listen"`
	// Dir is where the app runs, e.g. the checkout of the base: the
	// variant's App, or else the experiment's worker. Relative to the
	// directory clusterbench runs in.
	Dir string `yaml:"dir"`
	// Bin is another clusterbench executable, e.g. the base's build of
	// this repository: it measures the variant's trials with its own
	// serve and its own Go worker. Relative like Dir.
	Bin string `yaml:"bin"`
	// Handler overrides the Go worker's per-request work; the handler
	// keeps its name, so that both variants' trials are one point.
	Handler *VariantHandler `yaml:"handler"`
}

// VariantHandler is the part of a handler a variant may change.
type VariantHandler struct {
	CPU       *time.Duration `yaml:"cpu"`
	Sleep     *time.Duration `yaml:"sleep"`
	BodyBytes *int           `yaml:"body_bytes"`
}

// Named returns the variants with their names, base first.
func (v *Variants) Named() []NamedVariant {
	return []NamedVariant{{Base, v.Base}, {Head, v.Head}}
}

// NamedVariant is a variant with its name.
type NamedVariant struct {
	Name string
	Variant
}

// resolve makes Dir and Bin absolute and checks that they exist, so that
// a trial does not fail later for a path that was never there.
func (v *Variant) resolve(name string) error {
	if v.Listen == "" {
		v.Listen = modes.ListenFD
	}
	if v.Listen != modes.ListenFD && v.Listen != modes.ListenPort {
		return fmt.Errorf("variants: %s: listen must be %s or %s, got %q", name, modes.ListenFD, modes.ListenPort, v.Listen)
	}
	if v.App != "" && v.Bin != "" {
		return fmt.Errorf("variants: %s: give app (your worker app) or bin (another clusterbench, with its own worker), not both", name)
	}
	if v.Dir != "" {
		abs, err := filepath.Abs(v.Dir)
		if err != nil {
			return fmt.Errorf("variants: %s: dir: %w", name, err)
		}
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return fmt.Errorf("variants: %s: dir %s is not a directory", name, v.Dir)
		}
		v.Dir = abs
	}
	if v.Bin != "" {
		abs, err := filepath.Abs(v.Bin)
		if err != nil {
			return fmt.Errorf("variants: %s: bin: %w", name, err)
		}
		if fi, err := os.Stat(abs); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return fmt.Errorf("variants: %s: bin %s is not an executable file", name, v.Bin)
		}
		v.Bin = abs
	}
	return nil
}

// check refuses variants that cannot measure what they say: a dir with no
// app to run in it, or a handler that no Go worker would do.
func (v *Variant) check(name string, e *Experiment) error {
	hasApp := v.App != "" || e.App != nil
	if v.Dir != "" && !hasApp {
		return fmt.Errorf("variants: %s: dir is where an app runs, but neither the variant (app) nor experiment %s (worker) names one; for two builds of clusterbench use bin", name, e.Name)
	}
	if v.Handler != nil && v.App != "" {
		return fmt.Errorf("variants: %s: handler sets the Go worker's work, but the variant runs your app", name)
	}
	return nil
}

// apply makes t the variant's trial.
func (v *NamedVariant) apply(t plan.Trial) plan.Trial {
	t.Variant, t.Bin = v.Name, v.Bin
	switch {
	case v.App != "":
		t.App = &plan.App{Command: []string{"sh", "-c", "exec " + v.App}, Listen: v.Listen, Dir: v.Dir}
	case v.Dir != "" && t.App != nil:
		app := *t.App
		app.Dir = v.Dir
		t.App = &app
	}
	if h := v.Handler; h != nil {
		if h.CPU != nil {
			t.Handler.CPU = *h.CPU
		}
		if h.Sleep != nil {
			t.Handler.Sleep = *h.Sleep
		}
		if h.BodyBytes != nil {
			t.Handler.BodyBytes = *h.BodyBytes
		}
	}
	return t
}

// interleave runs each trial once per variant, base and head in turn: in
// odd rounds (repetitions) base first, in even ones head first (ABBA), so
// that a drift of the machine over a round favours neither.
func (v *Variants) interleave(trials []plan.Trial) []plan.Trial {
	out := make([]plan.Trial, 0, 2*len(trials))
	named := v.Named()
	for _, t := range trials {
		first, second := named[0], named[1]
		if t.Rep%2 == 0 {
			first, second = second, first
		}
		out = append(out, first.apply(t), second.apply(t))
	}
	return out
}

// SetVariants gives f the variants, e.g. from flags, replacing its own,
// and checks them and every trial they make as Parse does.
func (f *File) SetVariants(v *Variants) error {
	f.Variants = v
	if _, err := f.checkVariants(); err != nil {
		return &Error{File: f.Path, Msg: err.Error()}
	}
	for i := range f.Experiments {
		for _, t := range f.variantTrials(f.Experiments[i].trials(1)) {
			if err := t.Validate(); err != nil {
				return &Error{File: f.Path, Msg: fmt.Sprintf("variant %s: %v", t.Variant, err)}
			}
		}
	}
	return f.checkRunTime()
}

// checkVariants resolves and checks f's variants against every experiment;
// it returns the name of the variant at fault.
func (f *File) checkVariants() (string, error) {
	if f.Variants == nil {
		return "", nil
	}
	for _, v := range []struct {
		name string
		v    *Variant
	}{{Base, &f.Variants.Base}, {Head, &f.Variants.Head}} {
		if err := v.v.resolve(v.name); err != nil {
			return v.name, err
		}
		for i := range f.Experiments {
			if err := v.v.check(v.name, &f.Experiments[i]); err != nil {
				return v.name, err
			}
		}
	}
	return "", nil
}

// variantTrials is trials as f runs them: once per variant if it has any.
func (f *File) variantTrials(trials []plan.Trial) []plan.Trial {
	if f.Variants == nil {
		return trials
	}
	return f.Variants.interleave(trials)
}
