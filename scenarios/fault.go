package scenarios

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"clusterbench/plan"
)

// Fault kills workers at a time into each trial's measured load, to see
// how a mode copes: who gets the errors, and how long until a replacement
// serves. Respawn and RespawnDelay go to the trial's deployment.
type Fault struct {
	// Kill is how many workers to kill, the first ones by index, or "all".
	Kill plan.Kill `yaml:"kill"`
	// At is the time into the measured load.
	At time.Duration `yaml:"at"`
	// Signal kills them: SIGKILL is a crash, SIGTERM a graceful stop.
	Signal plan.Signal `yaml:"signal"`
	// Respawn replaces each killed worker after RespawnDelay.
	Respawn      bool          `yaml:"respawn"`
	RespawnDelay time.Duration `yaml:"respawn_delay"`
}

// DefaultFault is what a fault leaves out.
var DefaultFault = Fault{Signal: plan.DefaultSignal, Respawn: true}

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

// isKill accepts a number of workers or "all".
func isKill(n *yaml.Node) error {
	if n.Tag != "!!str" && n.Tag != "!!int" {
		return fmt.Errorf("%q is not a number of workers or %q", n.Value, plan.KillAll)
	}
	k, err := plan.ParseKill(n.Value)
	if err != nil {
		return err
	}
	if k.All {
		return nil
	}
	return plan.IntLimit{Min: 1, Max: plan.Limits.Workers.Max}.Check(k.N)
}

func isSignal(n *yaml.Node) error {
	_, err := plan.ParseSignal(n.Value)
	return err
}
