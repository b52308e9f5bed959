package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"gopkg.in/yaml.v3"

	"clusterbench/loadgen"
)

// Fault kills workers at a time into each trial's measured load, to see
// how a mode copes: who gets the errors, and how long until a replacement
// serves.
type Fault struct {
	// Kill is how many workers to kill, the first ones by index, or "all".
	Kill string `yaml:"kill"`
	// At is the time into the measured load.
	At time.Duration `yaml:"at"`
	// Signal kills them: SIGKILL is a crash, SIGTERM a graceful stop.
	Signal string `yaml:"signal"`
	// Respawn replaces each killed worker after RespawnDelay.
	Respawn      bool          `yaml:"respawn"`
	RespawnDelay time.Duration `yaml:"respawn_delay"`
}

// KillAll is Fault.Kill for every worker.
const KillAll = "all"

// DefaultFault is what a fault leaves out.
var DefaultFault = Fault{Signal: "SIGKILL", Respawn: true}

// FaultSignals are the signals a fault may send: those that end the
// worker app. (It ignores SIGINT, which a Ctrl-C sends the whole group.)
var FaultSignals = []string{"SIGKILL", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGABRT", "SIGSEGV"}

// ParseSignal reads a signal name, with or without "SIG", in any case.
func ParseSignal(name string) (syscall.Signal, error) {
	canonical := strings.ToUpper(name)
	if !strings.HasPrefix(canonical, "SIG") {
		canonical = "SIG" + canonical
	}
	for _, s := range FaultSignals {
		if s == canonical {
			return unix.SignalNum(s), nil
		}
	}
	return 0, fmt.Errorf("%q is not one of %s", name, strings.Join(FaultSignals, ", "))
}

// Count is how many of n workers the fault kills.
func (f *Fault) Count(n int) int {
	if f.Kill == KillAll {
		return n
	}
	k, _ := strconv.Atoi(f.Kill) // checked when read
	return k
}

// check checks the fault's own values and spells the signal canonically.
func (f *Fault) check() error {
	if f.Kill != KillAll {
		k, err := strconv.Atoi(f.Kill)
		if err != nil {
			return fmt.Errorf("kill: %q is not a number of workers or %q", f.Kill, KillAll)
		}
		if k < 1 {
			return fmt.Errorf("kill: must be at least 1, got %d", k)
		}
	}
	if f.At < 0 {
		return fmt.Errorf("kill-at: must be at least 0, got %v", f.At)
	}
	sig, err := ParseSignal(f.Signal)
	if err != nil {
		return fmt.Errorf("kill-signal: %w", err)
	}
	f.Signal = unix.SignalName(sig)
	if err := Limits.RespawnDelay.Check(f.RespawnDelay); err != nil {
		return fmt.Errorf("respawn-delay: %w", err)
	}
	return nil
}

// checkFault checks the fault against the rest of the experiment: it
// must kill no more workers than run, fall within every measured load,
// and be measured by vegeta.
func (e *Experiment) checkFault() error {
	f := e.Fault
	if f == nil {
		return nil
	}
	if err := f.check(); err != nil {
		return err
	}
	for _, w := range e.Workers {
		if k := f.Count(w); k > w {
			return fmt.Errorf("fault: kills %d workers, but a trial runs only %d", k, w)
		}
	}
	for _, l := range e.Loads {
		if f.At >= l.Duration {
			return fmt.Errorf("fault: at %v is not within load %s's measured %v", f.At, l.Name, l.Duration)
		}
		if l.Engine == "wrk" {
			return fmt.Errorf("fault: load %s: %v", l.Name, loadgen.ErrWrkFault)
		}
	}
	return nil
}

// UnmarshalYAML starts from DefaultFault, like Handler's.
func (f *Fault) UnmarshalYAML(n *yaml.Node) error {
	type plain Fault
	p := plain(DefaultFault)
	if err := n.Decode(&p); err != nil {
		return err
	}
	*f = Fault(p)
	return nil
}

// isKill accepts a number of workers or "all"; a number is rewritten as a
// string, the type Kill is kept in.
func isKill(n *yaml.Node) error {
	if n.Tag == "!!int" {
		n.Tag = "!!str"
	}
	if n.Tag != "!!str" {
		return fmt.Errorf("%q is not a number of workers or %q", n.Value, KillAll)
	}
	if n.Value == KillAll {
		return nil
	}
	k, err := strconv.Atoi(n.Value)
	if err != nil {
		return fmt.Errorf("%q is not a number of workers or %q", n.Value, KillAll)
	}
	return IntLimit{1, Limits.Workers.Max}.Check(k)
}

func isSignal(n *yaml.Node) error {
	_, err := ParseSignal(n.Value)
	return err
}
