package plan

import (
	"fmt"

	"clusterbench/internal/cpuset"
)

// CPUs is a CPU list ("0", "1-3", "0,2-3"), spelled canonically.
type CPUs struct{ set cpuset.Set }

// ParseCPUs reads a CPU list; whether this host has them is Validate's.
func ParseCPUs(list string) (CPUs, error) {
	s, err := cpuset.Parse(list)
	return CPUs{s}, err
}

// CPUSet is the list as a set.
func (c CPUs) CPUSet() cpuset.Set { return c.set }

// Len is the number of CPUs in the list.
func (c CPUs) Len() int { return c.set.Len() }

// IsEmpty reports whether the list has no CPU.
func (c CPUs) IsEmpty() bool { return c.set.IsEmpty() }

// String is the canonical list form, ranges folded: "0-2,5".
func (c CPUs) String() string { return c.set.String() }

// MarshalText writes the canonical list, for JSON.
func (c CPUs) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads a CPU list, for YAML and JSON; "" is no CPUs, as
// MarshalText writes them.
func (c *CPUs) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*c = CPUs{}
		return nil
	}
	v, err := ParseCPUs(string(text))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Set reads a CPU list from a flag.
func (c *CPUs) Set(s string) error { return c.UnmarshalText([]byte(s)) }

// usable says why this process may not run on the CPUs, or returns nil.
func (c CPUs) usable() error {
	_, err := cpuset.ParseUsable(c.String())
	return err
}

// Placement puts the load generator and the server (master, proxy and
// workers) on disjoint CPU sets.
type Placement struct {
	LoadGen CPUs `yaml:"loadgen" json:"loadgen"`
	Server  CPUs `yaml:"server" json:"server"`
}

// check says why the placement cannot be: a set missing or not usable
// here, or the two sharing CPUs.
func (p *Placement) check() error {
	for _, f := range []struct {
		name string
		cpus CPUs
	}{{"loadgen", p.LoadGen}, {"server", p.Server}} {
		if f.cpus.IsEmpty() {
			return fmt.Errorf("cpus: %s is required: give both loadgen and server", f.name)
		}
		if err := f.cpus.usable(); err != nil {
			return fmt.Errorf("cpus: %s: %w", f.name, err)
		}
	}
	if p.LoadGen.set.Overlaps(p.Server.set) {
		return fmt.Errorf("cpus: loadgen (%s) and server (%s) share CPUs; they must be disjoint", p.LoadGen, p.Server)
	}
	return nil
}
