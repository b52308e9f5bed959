package main

import (
	"fmt"
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
		} else {
			// A policy may need more than its mode: say which cannot run, and why.
			for _, p := range m.Info().Policies {
				if err := modes.SpecAvailable(modes.Spec{Mode: m, Policy: p}); err != nil {
					available += fmt.Sprintf("; %s: no: %v", policyName(p), err)
				}
			}
		}
		policies := "-"
		if p := m.Info().Policies; len(p) > 0 {
			policies = policyName(p[0]) + " (default), " + strings.Join(p[1:], ", ")
		}
		if err := table.Append(name, policies, available, m.Info().Summary); err != nil {
			return err
		}
	}
	return table.Render()
}

// policyName names a policy in the table; a default without a name is
// the mode alone, with no policy given.
func policyName(p string) string {
	if p == "" {
		return "none"
	}
	return p
}
