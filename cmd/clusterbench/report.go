package main

import (
	"fmt"
	"io"
	"path/filepath"

	"clusterbench/report"
	"clusterbench/results"
)

func cmdReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", "report DIR\n\n"+
		"Renders DIR/report.md, DIR/report.html, its PNG plots and DIR/bench.txt again from DIR/results.json alone,\n"+
		"byte for byte as run wrote them; a partial run is rendered and marked partial.", stderr)
	dirs, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(dirs) != 1 {
		return usagef("report: want one run directory, got %d arguments", len(dirs))
	}
	dir := dirs[0]
	r, err := results.Read(dir)
	if err != nil {
		return usageError{err}
	}
	if err := report.Write(dir, r); err != nil {
		return err
	}
	fmt.Fprintln(stdout, filepath.Join(dir, report.FileName))
	fmt.Fprintln(stdout, filepath.Join(dir, report.HTMLFileName))
	fmt.Fprintln(stdout, filepath.Join(dir, report.BenchFileName))
	for _, p := range report.Plots(r) {
		fmt.Fprintln(stdout, filepath.Join(dir, p.File))
	}
	return nil
}
