package modes

import (
	"fmt"
	"slices"
	"strings"
)

// Spec is a mode with one of its policies, written "mode" or "mode:policy"
// in scenarios and on the command line. It is read once where it enters
// (YAML, JSON or a flag) and travels typed from there.
type Spec struct {
	Mode   Mode
	Policy string // "" for modes without policies
}

// ParseSpec reads "mode" or "mode:policy"; a mode with policies gets its
// default one when none is named.
func ParseSpec(s string) (Spec, error) {
	name, policy, hasPolicy := strings.Cut(s, ":")
	m, err := Lookup(name)
	if err != nil {
		return Spec{}, err
	}
	policies := m.Info().Policies
	switch {
	case len(policies) == 0 && hasPolicy:
		return Spec{}, fmt.Errorf("mode %q has no policies, got %q", name, s)
	case len(policies) == 0:
		return Spec{Mode: m}, nil
	case !hasPolicy:
		return Spec{Mode: m, Policy: policies[0]}, nil
	case !slices.Contains(policies, policy):
		return Spec{}, fmt.Errorf("mode %q has no policy %q (known: %s)", name, policy, knownPolicies(policies))
	}
	return Spec{Mode: m, Policy: policy}, nil
}

// knownPolicies lists policies for an error message; a default without a
// name is the mode alone.
func knownPolicies(policies []string) string {
	named := slices.DeleteFunc(slices.Clone(policies), func(p string) bool { return p == "" })
	if len(named) < len(policies) {
		return strings.Join(named, ", ") + ", or none"
	}
	return strings.Join(named, ", ")
}

// PrivateNetwork reports whether s runs only in a private network
// namespace that clusterbench made (see Info.PrivateNetwork).
func (s Spec) PrivateNetwork() bool {
	info := s.Mode.Info()
	return info.PrivateNetwork || slices.Contains(info.PrivateNetworkPolicies, s.Policy)
}

// String is the canonical form, with the policy spelled out; "" for no mode.
func (s Spec) String() string {
	if s.Mode == nil {
		return ""
	}
	if s.Policy == "" {
		return s.Mode.Info().Name
	}
	return s.Mode.Info().Name + ":" + s.Policy
}

// IsZero reports whether no mode is set.
func (s Spec) IsZero() bool { return s.Mode == nil }

// MarshalText writes the canonical form, for JSON.
func (s Spec) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a spec as ParseSpec does, for YAML and JSON.
func (s *Spec) UnmarshalText(text []byte) error {
	spec, err := ParseSpec(string(text))
	if err != nil {
		return err
	}
	*s = spec
	return nil
}

// Set reads a spec from a flag.
func (s *Spec) Set(text string) error { return s.UnmarshalText([]byte(text)) }
