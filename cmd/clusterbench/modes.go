package main

import (
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"

	"clusterbench/modes"
)

func cmdModes(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("modes", "modes", stderr)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("modes: unexpected argument %q", rest[0])
	}
	table := tablewriter.NewTable(stdout)
	table.Header("mode", "policies", "available here", "how connections reach workers")
	for _, name := range modes.Names() {
		m, _ := modes.Lookup(name)
		available := "yes"
		if err := modes.Available(m); err != nil {
			available = "no: " + err.Error()
		}
		if err := table.Append(name, describePolicies(m), available, m.Info().Summary); err != nil {
			return err
		}
	}
	return table.Render()
}

// describePolicies lists a mode's policies, the default marked, and says
// of each that cannot run here why not.
func describePolicies(m modes.Mode) string {
	policies := m.Info().Policies
	if len(policies) == 0 {
		return "-"
	}
	described := make([]string, len(policies))
	for i, p := range policies {
		described[i] = policyName(p)
		if i == 0 {
			described[i] += " (default)"
		}
		if err := modes.PolicyAvailable(m, p); err != nil {
			described[i] += " (not here: " + strings.TrimPrefix(err.Error(), "policy "+p+": ") + ")"
		}
	}
	return strings.Join(described, ", ")
}

// policyName names a policy in the table; a default without a name is
// the mode alone, with no policy given.
func policyName(p string) string {
	if p == "" {
		return "none"
	}
	return p
}
