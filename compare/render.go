package compare

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"clusterbench/internal/visible"
	"clusterbench/report"
)

// Number is a float that JSON shows as null when it is not a number,
// since a comparison has undefined values (the change from a median of 0).
type Number float64

func (n Number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

func (n *Number) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*n = Number(math.NaN())
		return nil
	}
	var f float64
	err := json.Unmarshal(data, &f)
	*n = Number(f)
	return err
}

// WriteJSON writes the verdict as JSON, for other tools.
func (r *Verdict) WriteJSON(w io.Writer) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// Headline is the one-line verdict.
func (r *Verdict) Headline() string {
	compared := 0
	for _, row := range r.Rows {
		if row.Gated && row.Outcome != NoData {
			compared++
		}
	}
	if r.Regressions == 0 {
		return fmt.Sprintf("no regression: %d gated comparisons (%s)", compared, strings.Join(r.Settings.Gate, ", "))
	}
	return fmt.Sprintf("%s in %d gated comparisons (%s)", plural(r.Regressions, "regression"), compared, strings.Join(r.Settings.Gate, ", "))
}

// WriteText writes the verdict for a terminal: one table per metric, like
// benchstat, then the warnings and the verdict.
func (r *Verdict) WriteText(w io.Writer) error {
	r = r.escaped(visible.Text)
	fmt.Fprintf(w, "BASE %s\nHEAD %s\n", describe(r.Base), describe(r.Head))
	fmt.Fprintf(w, "%s\n", r.rules())
	// Gated metrics in full; of the others, only what changed, since a
	// CI log is read for its verdict. -export-markdown and -export-json have all.
	var changed []Row
	for _, m := range Metrics {
		rows := r.rowsOf(m.Name)
		if len(rows) == 0 {
			continue
		}
		if !r.Settings.gated(m.Name) {
			for _, row := range rows {
				if row.Outcome == Regression || row.Outcome == Improvement {
					changed = append(changed, row)
				}
			}
			continue
		}
		fmt.Fprintf(w, "\n%s\n", r.metricTitle(m))
		if err := writeTable(w, rows, m, false); err != nil {
			return err
		}
	}
	if len(changed) > 0 {
		fmt.Fprintf(w, "\nOther metrics, reported but not gated, that changed beyond their threshold:\n")
		if err := writeChanges(w, changed, false); err != nil {
			return err
		}
	}
	writeClosing(w, r.Warnings, r.Headline())
	return nil
}

// writeClosing ends a plain verdict, simple or paired: its warnings, then
// its headline.
func writeClosing(w io.Writer, warnings []string, headline string) {
	if len(warnings) > 0 {
		fmt.Fprintln(w)
		for _, warning := range warnings {
			fmt.Fprintf(w, "warning: %s\n", warning)
		}
	}
	fmt.Fprintf(w, "\n%s\n", headline)
}

// verdictMark heads a Markdown verdict: a cross when it found a regression.
func verdictMark(regressions int) string {
	if regressions > 0 {
		return "❌"
	}
	return "✅"
}

// WriteMarkdown writes the verdict for a CI job summary or a pull request
// comment: the verdict and the regressions first, everything else folded.
func (r *Verdict) WriteMarkdown(w io.Writer) error {
	r = r.escaped(report.EscapeMarkdown)
	fmt.Fprintf(w, "## clusterbench compare: %s %s\n\n", verdictMark(r.Regressions), r.Headline())
	fmt.Fprintf(w, "- BASE: %s\n- HEAD: %s\n- %s\n\n", describe(r.Base), describe(r.Head), r.rules())
	var regressions []Row
	for _, row := range r.Rows {
		if row.Gated && row.Outcome == Regression {
			regressions = append(regressions, row)
		}
	}
	if len(regressions) > 0 || len(r.Failed) > 0 {
		fmt.Fprintf(w, "### Regressions\n\n")
		for _, key := range r.Failed {
			fmt.Fprintf(w, "- `%s`: every trial failed in HEAD\n", key)
		}
		if len(regressions) > 0 {
			if err := writeChanges(w, regressions, true); err != nil {
				return err
			}
		}
		fmt.Fprintln(w)
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintf(w, "### Warnings\n\n")
		for _, warning := range r.Warnings {
			fmt.Fprintf(w, "- %s\n", warning)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "<details><summary>All %d comparisons</summary>\n\n", len(r.Rows))
	for _, m := range Metrics {
		rows := r.rowsOf(m.Name)
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(w, "#### %s\n\n", r.metricTitle(m))
		if err := writeTable(w, rows, m, true); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "</details>\n")
	return nil
}

// escaped is a copy of the verdict whose text from the records (paths,
// names, the host, warnings that quote them) went through escape: the one
// place each output makes a record's text safe for where it goes.
func (r *Verdict) escaped(escape func(string) string) *Verdict {
	c := *r
	for _, s := range []*Side{&c.Base, &c.Head} {
		s.Path, s.Scenario, s.Host.CPUModel = escape(s.Path), escape(s.Scenario), escape(s.Host.CPUModel)
	}
	c.Rows = slices.Clone(r.Rows)
	for i := range c.Rows {
		row := &c.Rows[i]
		row.Experiment, row.Mode, row.Condition = escape(row.Experiment), escape(row.Mode), escape(row.Condition)
	}
	all := func(texts []string) []string {
		out := make([]string, len(texts))
		for i, t := range texts {
			out[i] = escape(t)
		}
		return out
	}
	c.Failed, c.OnlyBase, c.OnlyHead, c.Warnings = all(r.Failed), all(r.OnlyBase), all(r.OnlyHead), all(r.Warnings)
	return &c
}

func (r *Verdict) rowsOf(metric string) []Row {
	var out []Row
	for _, row := range r.Rows {
		if row.Metric == metric {
			out = append(out, row)
		}
	}
	return out
}

func (r *Verdict) metricTitle(m *Metric) string {
	gated := "reported"
	if r.Settings.gated(m.Name) {
		gated = "gated"
	}
	title := fmt.Sprintf("%s: %s; %s is better; threshold %s; %s", m.Name, m.Doc, m.Better(), m.FormatThreshold(r.Settings.Thresholds[m.Name]), gated)
	if m.Normalised {
		title += "; reference " + r.Settings.Reference
	}
	return title
}

func (r *Verdict) rules() string {
	return fmt.Sprintf("Mann-Whitney U test at α=%g; medians with %g%% confidence intervals; a regression is significant and beyond its metric's threshold",
		r.Settings.Alpha, 100*r.Settings.Confidence)
}

func describe(s Side) string {
	partial := ""
	if !s.Complete {
		partial = ", partial"
	}
	return fmt.Sprintf("%s (scenario %s, started %s%s; %d × %s)", s.Path, s.Scenario, s.Started.UTC().Format("2006-01-02 15:04 MST"), partial, s.Host.CPUs, s.Host.CPUModel)
}

var tableHeader = []string{"experiment", "mode", "condition", "BASE", "HEAD", "change", "p (n)", "verdict"}

func writeTable(w io.Writer, rows []Row, m *Metric, markdown bool) error {
	table := report.NewTable(w, markdown)
	table.Header(tableHeader)
	for _, row := range rows {
		if err := table.Append([]string{row.Experiment, row.Mode, row.Condition,
			formatStats(row.Base, m), formatStats(row.Head, m), formatChange(row, m), formatP(row), string(row.Outcome)}); err != nil {
			return err
		}
	}
	return table.Render()
}

// writeChanges lists rows of several metrics, with their thresholds.
func writeChanges(w io.Writer, rows []Row, markdown bool) error {
	table := report.NewTable(w, markdown)
	table.Header([]string{"metric", "experiment", "mode", "condition", "BASE", "HEAD", "change", "threshold", "p (n)", "verdict"})
	for _, row := range rows {
		m, _ := Lookup(row.Metric)
		if err := table.Append([]string{row.Metric, row.Experiment, row.Mode, row.Condition,
			formatStats(row.Base, m), formatStats(row.Head, m), formatChange(row, m), m.FormatThreshold(row.Threshold), formatP(row), string(row.Outcome)}); err != nil {
			return err
		}
	}
	return table.Render()
}

// formatStats shows a median and its confidence interval as ± a
// percentage of it, or "±∞" when there are too few values for one.
func formatStats(s Stats, m *Metric) string {
	if s.N == 0 {
		return "–"
	}
	med, lo, hi := float64(s.Median), float64(s.Lo), float64(s.Hi)
	spread := "±∞"
	if !math.IsInf(lo, 0) && !math.IsInf(hi, 0) {
		if med != 0 {
			spread = fmt.Sprintf("±%.0f%%", 100*math.Max(med-lo, hi-med)/math.Abs(med))
		} else {
			spread = "±" + m.format(math.Max(med-lo, hi-med))
		}
	}
	return m.format(med) + " " + spread
}

func formatChange(row Row, m *Metric) string {
	c := float64(row.Change)
	switch {
	case row.Outcome == NoData:
		return "–"
	case math.IsNaN(c):
		return "from 0"
	case m.Absolute:
		return signed(m.format(c), c)
	}
	return signed(strconv.FormatFloat(100*c, 'f', 1, 64)+"%", c)
}

func signed(s string, v float64) string {
	if v > 0 {
		return "+" + s
	}
	return s
}

func formatP(row Row) string {
	if math.IsNaN(float64(row.P)) {
		return fmt.Sprintf("– (n=%d+%d)", row.Base.N, row.Head.N)
	}
	return fmt.Sprintf("%.3f (n=%d+%d)", float64(row.P), row.Base.N, row.Head.N)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
