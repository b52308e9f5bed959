package main

import (
	"io"

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
