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

// Headline is the one-line verdict of a paired comparison.
func (v *PairedVerdict) Headline() string {
	tested := 0
	for _, r := range v.Rows {
		if r.Gated && r.Outcome != NoData {
			tested++
		}
	}
	unpaired := 0
	for _, r := range v.Unpaired.Rows {
		if r.Gated && r.Outcome != NoData {
			unpaired++
		}
	}
	what := fmt.Sprintf("%d paired and %d unpaired gated comparisons (%s)", tested, unpaired, strings.Join(v.Settings.Gate, ", "))
	if v.Regressions == 0 {
		return "no regression: " + what
	}
	return fmt.Sprintf("%s in %s", plural(v.Regressions, "regression"), what)
}

// WriteJSON writes the paired verdict as JSON, for other tools.
func (v *PairedVerdict) WriteJSON(w io.Writer) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// WriteText writes the paired verdict for a terminal: the paired table,
// the unpaired gated metrics, the warnings and the verdict.
func (v *PairedVerdict) WriteText(w io.Writer) error {
	v = v.escaped(visible.Text)
	fmt.Fprintf(w, "RUN %s\n%s\n\n", describe(v.Run), v.rules())
	if err := writePaired(w, v.Rows, false); err != nil {
		return err
	}
	for _, m := range Metrics {
		rows := v.Unpaired.rowsOf(m.Name)
		if len(rows) == 0 || !v.Unpaired.Settings.gated(m.Name) {
			continue
		}
		fmt.Fprintf(w, "\n%s (Mann-Whitney U between the variants)\n", v.Unpaired.metricTitle(m))
		if err := writeTable(w, rows, m, false); err != nil {
			return err
		}
	}
	writeClosing(w, v.Warnings, v.Headline())
	return nil
}

// WriteMarkdown writes the paired verdict for a job summary or a pull
// request comment: the verdict, the paired table, the rest folded.
func (v *PairedVerdict) WriteMarkdown(w io.Writer) error {
	v = v.escaped(report.EscapeMarkdown)
	fmt.Fprintf(w, "## clusterbench compare: %s %s\n\n", verdictMark(v.Regressions), v.Headline())
	fmt.Fprintf(w, "- run: %s\n- %s\n\n", describe(v.Run), v.rules())
	for _, key := range v.Unpaired.Failed {
		fmt.Fprintf(w, "- ❌ `%s`: every trial of head failed\n", key)
	}
	if err := writePaired(w, v.Rows, true); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if len(v.Warnings) > 0 {
		fmt.Fprintf(w, "### Warnings\n\n")
		for _, warning := range v.Warnings {
			fmt.Fprintf(w, "- %s\n", warning)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "<details><summary>Other metrics, between the variants' samples (%d comparisons)</summary>\n\n", len(v.Unpaired.Rows))
	for _, m := range Metrics {
		rows := v.Unpaired.rowsOf(m.Name)
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(w, "#### %s\n\n", v.Unpaired.metricTitle(m))
		if err := writeTable(w, rows, m, true); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "</details>\n")
	return nil
}

func (v *PairedVerdict) rules() string {
	return fmt.Sprintf("paired t-test on log ratios head/base over the rounds, one-sided, Holm-corrected over %d tests, at α=%g; %g%% intervals; "+
		"a regression is significant and beyond its metric's threshold", countTested(v.Rows), v.Settings.Alpha, 100*v.Settings.Confidence)
}

func countTested(rows []PairedRow) int {
	n := 0
	for _, r := range rows {
		if !math.IsNaN(float64(r.PWorse)) {
			n++
		}
	}
	return n
}

// escaped is a copy whose text from the record went through escape.
func (v *PairedVerdict) escaped(escape func(string) string) *PairedVerdict {
	c := *v
	c.Run.Path, c.Run.Scenario, c.Run.Host.CPUModel = escape(v.Run.Path), escape(v.Run.Scenario), escape(v.Run.Host.CPUModel)
	c.Rows = slices.Clone(v.Rows)
	for i := range c.Rows {
		r := &c.Rows[i]
		r.Experiment, r.Mode, r.Condition = escape(r.Experiment), escape(r.Mode), escape(r.Condition)
	}
	c.Warnings = make([]string, len(v.Warnings))
	for i, w := range v.Warnings {
		c.Warnings[i] = escape(w)
	}
	c.Unpaired = v.Unpaired.escaped(escape)
	return &c
}

func writePaired(w io.Writer, rows []PairedRow, markdown bool) error {
	table := report.NewTable(w, markdown)
	table.Header([]string{"metric", "experiment", "mode", "condition", "base", "head", "change [interval]", "threshold", "p (Holm)", "pairs", "verdict"})
	for _, r := range rows {
		m, _ := Lookup(r.Metric)
		metric := r.Metric
		if !r.Gated {
			metric += " (not gated)"
		}
		var b, h []float64
		for _, p := range r.Pairs {
			b, h = append(b, p.Base), append(h, p.Head)
		}
		if err := table.Append([]string{metric, r.Experiment, r.Mode, r.Condition, geomean(b, m), geomean(h, m),
			formatRatio(r), m.FormatThreshold(r.Threshold), formatHolm(r), strconv.Itoa(len(r.Pairs)), string(r.Outcome)}); err != nil {
			return err
		}
	}
	return table.Render()
}

func geomean(xs []float64, m *Metric) string {
	if len(xs) == 0 {
		return "–"
	}
	s := 0.0
	for _, x := range xs {
		s += math.Log(x)
	}
	return m.format(math.Exp(s / float64(len(xs))))
}

// formatRatio shows the change and its interval: "+9.8% [+7.1%, +12.6%]".
func formatRatio(r PairedRow) string {
	if math.IsNaN(float64(r.Ratio)) {
		return "–"
	}
	pct := func(ratio Number) string {
		c := float64(ratio) - 1
		return signed(strconv.FormatFloat(100*c, 'f', 1, 64)+"%", c)
	}
	return fmt.Sprintf("%s [%s, %s]", pct(r.Ratio), pct(r.Lo), pct(r.Hi))
}

// formatHolm shows the corrected p-value of the direction the change took.
func formatHolm(r PairedRow) string {
	if math.IsNaN(float64(r.PWorseHolm)) {
		return "–"
	}
	p := math.Min(float64(r.PWorseHolm), float64(r.PBetterHolm))
	return strconv.FormatFloat(p, 'g', 2, 64)
}
