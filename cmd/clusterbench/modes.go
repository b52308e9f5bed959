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
		policies := "-"
		if p := m.Info().Policies; len(p) > 0 {
			policies = p[0] + " (default), " + strings.Join(p[1:], ", ")
		}
		if err := table.Append(name, policies, available, m.Info().Summary); err != nil {
			return err
		}
	}
	return table.Render()
}
