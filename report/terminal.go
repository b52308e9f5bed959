package report

import (
	"fmt"
	"io"

	"clusterbench/analysis"
	"clusterbench/results"
)

// maxTerminalWarnings is how many warnings the terminal shows; the rest
// are in report.md.
const maxTerminalWarnings = 4

var compactHeader = []string{"mode", "reps", "req/s (CI)", "CPU µs/req", "p99 ms", "Jain conn", "top-2 conn", "errors"}

// writeCompactSummary writes one narrow table per condition: the figures
// that choose a mode, with † where the load generator was the limit.
func writeCompactSummary(w io.Writer, points []*analysis.Point) error {
	for _, c := range analysis.Conditions(points) {
		if _, err := fmt.Fprintf(w, "\n%s, %s:\n", c.Experiment, conditionTitle(c)); err != nil {
			return err
		}
		table := NewTable(w, false)
		table.Header(compactHeader)
		for _, p := range c.Points {
			if err := table.Append(compactRow(p)); err != nil {
				return err
			}
		}
		if err := table.Render(); err != nil {
			return err
		}
	}
	return nil
}

func compactRow(p *analysis.Point) []string {
	if len(p.Trials) == 0 {
		row := make([]string, len(compactHeader))
		copy(row, []string{p.Mode, reps(p), "failed"})
		return row
	}
	median := func(metric func(*results.Trial) float64) float64 { return p.Summary(metric).Median }
	mark := ""
	if p.LoadgenBound() > 0 {
		mark = boundMark
	}
	jain, top := notShared, ""
	if p.SharesApply() {
		jain = fmt.Sprintf("%.3f", median(func(t *results.Trial) float64 { return t.Fairness.Connections.Jain }))
		top = fmt.Sprintf("%.0f%%", 100*median(func(t *results.Trial) float64 { return t.Fairness.Connections.Top2Share }))
	}
	row := []string{
		p.Mode, reps(p),
		compactInterval(p.Summary(func(t *results.Trial) float64 { return t.ThroughputRPS }), whole) + mark,
		fmt.Sprintf("%.1f", median(func(t *results.Trial) float64 { return t.ServerCPUPerRequestUs })),
		fmt.Sprintf("%.2f", median(func(t *results.Trial) float64 { return t.Latency.P99 })),
		jain, top,
		fmt.Sprintf("%.0f", median(func(t *results.Trial) float64 { return float64(t.Errors) })),
	}
	if !p.ClientSide() {
		row[4], row[7] = unknown, unknown
	}
	return row
}

// terminalWarnings are the warnings one line each, the load generator's
// first and in short, at most maxTerminalWarnings and a line for the rest.
func terminalWarnings(r *results.Run) []string {
	var lines []string
	for _, warn := range skippedWarnings(r) {
		lines = append(lines, "warning: "+warn)
	}
	for _, l := range analysis.LoadgenLimits(r) {
		lines = append(lines, fmt.Sprintf("warning: %s/%s: the load generator (%s) was the limit in %d of %d trials (†): compare those by CPU µs/req",
			l.Experiment, l.Load, l.Engine, l.Bound, l.Trials))
	}
	for _, warn := range trialWarnings(r) {
		lines = append(lines, "warning: "+warn)
	}
	if len(lines) > maxTerminalWarnings {
		more := len(lines) - (maxTerminalWarnings - 1)
		lines = append(lines[:maxTerminalWarnings-1], fmt.Sprintf("warning: %d more in %s", more, FileName))
	}
	for i, l := range lines {
		lines[i] = fitted(l, terminalColumns, style{})
	}
	if len(lines) > 0 {
		lines = append([]string{""}, lines...)
	}
	return lines
}
