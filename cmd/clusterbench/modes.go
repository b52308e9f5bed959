package main

import (
	"io"

	"github.com/olekukonko/tablewriter"

	"clusterbench/modes"
)

func cmdModes(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("modes", "modes", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	table := tablewriter.NewTable(stdout)
	table.Header("mode", "available here", "how connections reach workers")
	for _, name := range modes.Names() {
		m, _ := modes.Lookup(name)
		available := "yes"
		if err := modes.Available(m); err != nil {
			available = "no: " + err.Error()
		}
		if err := table.Append(name, available, m.Summary()); err != nil {
			return err
		}
	}
	return table.Render()
}
