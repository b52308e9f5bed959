package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"clusterbench/results"
)

func cmdReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", "report DIR\n\n"+
		"Renders DIR/report.md, its PNG plots and DIR/bench.txt again from DIR/results.json alone,\n"+
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
	if err := results.WriteReport(dir, r); err != nil {
		return err
	}
	fmt.Fprintln(stdout, filepath.Join(dir, results.ReportName))
	fmt.Fprintln(stdout, filepath.Join(dir, results.BenchName))
	for _, p := range r.Plots() {
		fmt.Fprintln(stdout, filepath.Join(dir, p.File))
	}
	return nil
}

// printFindings shows the report's findings on the terminal, without the
// Markdown emphasis.
func printFindings(w io.Writer, r *results.Run) {
	findings := r.Findings()
	if len(findings) == 0 {
		return
	}
	fmt.Fprintln(w, "\nfindings:")
	plain := strings.NewReplacer("**", "", "`", "")
	for _, f := range findings {
		fmt.Fprintf(w, "- %s\n", plain.Replace(f))
	}
}
