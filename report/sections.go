package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"clusterbench/analysis"
	"clusterbench/results"
)

// Section renders one named part of a run's Markdown report, without its
// heading, from the record alone. The README and docs/*.md quote reports
// through sections: a block
//
//	<!-- generated: NAME results/reference/RUN [EXPERIMENT] -->
//	…
//	<!-- end generated -->
//
// holds what section NAME renders from that run's results.json (only the
// trials of EXPERIMENT, if given), and a test rewrites or checks every such
// block, so no figure in the documentation is copied by hand.
type Section func(w io.Writer, r *results.Run) error

// Sections are the sections a document may quote, by name. A new section
// is one line here.
var Sections = map[string]Section{
	"answer":     asMarkdown(answerSection),
	"findings":   asMarkdown(findingsSection),
	"summary":    asMarkdown(pointsTable(WriteSummary)),
	"latency":    asMarkdown(pointsTable(WriteLatency)),
	"resilience": asMarkdown(pointsTable(WriteResilience)),
	"warnings":   asMarkdown(warningList),
	"spread":     asMarkdown(connectionSpread),
	"run":        asMarkdown(runLine),
	"hosts":      asMarkdown(trialsTable(writeLoadHosts)),
	"counts":     asMarkdown(trialsTable(writeWorkerCounts)),
	"record":     recordExcerpt, // JSON as results.json holds it, unescaped
}

// SectionNames lists the sections in order, for error messages.
func SectionNames() []string {
	names := make([]string, 0, len(Sections))
	for n := range Sections {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// WriteSection renders section name of r, restricted to the trials of
// experiment unless it is empty.
func WriteSection(w io.Writer, name string, r *results.Run, experiment string) error {
	section, ok := Sections[name]
	if !ok {
		return fmt.Errorf("report: no section %q (known: %s)", name, strings.Join(SectionNames(), ", "))
	}
	if experiment != "" {
		only := *r
		only.Trials = nil
		for _, t := range r.Trials {
			if t.Experiment == experiment {
				only.Trials = append(only.Trials, t)
			}
		}
		if len(only.Trials) == 0 {
			return fmt.Errorf("report: run %s has no experiment %q", r.Scenario, experiment)
		}
		r = &only
	}
	return section(w, r)
}

// asMarkdown makes a Markdown section of one that renders a record escaped
// as report.md escapes it, so that the section reads as the report does.
func asMarkdown(section Section) Section {
	return func(w io.Writer, r *results.Run) error {
		e, err := escaped(r, markdownText)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		return section(w, e)
	}
}

func answerSection(w io.Writer, r *results.Run) error {
	var b bytes.Buffer
	if err := WriteAnswer(&b, analysis.AnswerOf(r), true); err != nil {
		return err
	}
	_, err := io.WriteString(w, withoutHeading(b.String()))
	return err
}

func findingsSection(w io.Writer, r *results.Run) error {
	var b bytes.Buffer
	if err := WriteFindings(&b, analysis.FindingsOf(r), true); err != nil {
		return err
	}
	_, err := io.WriteString(w, withoutHeading(b.String()))
	return err
}

// pointsTable makes a section of a table renderer over the run's points.
func pointsTable(write func(io.Writer, []*analysis.Point, bool) error) Section {
	return func(w io.Writer, r *results.Run) error {
		return write(w, analysis.Points(r), true)
	}
}

// trialsTable makes a section of a table renderer over the run's
// measured trials, without its heading.
func trialsTable(write func(io.Writer, []*results.Trial) error) Section {
	return func(w io.Writer, r *results.Run) error {
		var b bytes.Buffer
		if err := write(&b, analysis.MeasuredTrials(r)); err != nil {
			return err
		}
		_, err := io.WriteString(w, withoutHeading(b.String()))
		return err
	}
}

// withoutHeading drops Markdown headings and the blank lines around the
// text: the document quoting a section gives it its own heading.
func withoutHeading(s string) string {
	lines := strings.Split(s, "\n")
	lines = slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(l, "#") })
	return strings.Trim(strings.Join(lines, "\n"), "\n") + "\n"
}

// runLine says what a run was and how long it took, from its record, so
// that no document quotes a run's size or time by hand.
func runLine(w io.Writer, r *results.Run) error {
	took := r.Finished.Sub(r.Started).Round(time.Second)
	duration := fmt.Sprintf("%d s", int(took.Seconds()))
	if took >= time.Minute {
		duration = fmt.Sprintf("%d min %d s", int(took.Minutes()), int(took.Seconds())%60)
	}
	scenario := r.Scenario
	if scenario == "flags" { // what run records for an experiment given by flags
		scenario = "A run from flags"
	}
	h := r.Host
	_, err := fmt.Fprintf(w, "%s: %s in %s, started %s on %s × %d CPUs, Linux %s, %s.\n",
		scenario, plural(len(r.Trials), "trial"), duration,
		r.Started.UTC().Format("2006-01-02"), h.CPUModel, h.CPUs, h.Kernel, h.GoVersion)
	return err
}

func warningList(w io.Writer, r *results.Run) error {
	for _, warn := range warnings(r) {
		if _, err := fmt.Fprintf(w, "- %s\n", warn); err != nil {
			return err
		}
	}
	return nil
}

// recordExcerpt shows the record as results.json holds it, with its first
// trial only, that trial's per_worker cut to two entries and its series to
// three (a merged one's served seconds to two, its load hosts to two of
// three seconds each), as a fenced JSON block.
func recordExcerpt(w io.Writer, r *results.Run) error {
	excerpt := *r
	if len(r.Trials) > 0 {
		t := r.Trials[0]
		t.PerWorker = t.PerWorker[:min(2, len(t.PerWorker))]
		t.Series = t.Series[:min(3, len(t.Series))]
		if t.Served != nil {
			served := *t.Served
			served.Seconds = served.Seconds[:min(2, len(served.Seconds))]
			t.Served = &served
		}
		t.LoadHosts = slices.Clone(t.LoadHosts[:min(2, len(t.LoadHosts))])
		for i := range t.LoadHosts {
			t.LoadHosts[i].PerSecond = t.LoadHosts[i].PerSecond[:min(3, len(t.LoadHosts[i].PerSecond))]
		}
		excerpt.Trials = []results.Trial{t}
	}
	data, err := json.MarshalIndent(&excerpt, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "```json\n%s\n```\n", data)
	return err
}

// connectionSpread tabulates, for every point and repetition, how many
// connections each worker got, busiest first: a draw shows as it fell,
// not only as a median.
func connectionSpread(w io.Writer, r *results.Run) error {
	table := NewTable(w, true)
	table.Header([]string{"mode", "workers", "keep-alive", "handler", "load", "rep", "top-2 conn", "connections per worker, busiest first"})
	for _, p := range analysis.Points(r) {
		for _, t := range p.Trials {
			counts := make([]int, len(t.PerWorker))
			for i, c := range t.PerWorker {
				counts[i] = int(c.Connections)
			}
			slices.SortFunc(counts, func(a, b int) int { return b - a })
			each := make([]string, len(counts))
			for i, c := range counts {
				each[i] = fmt.Sprint(c)
			}
			row := []string{p.Mode, fmt.Sprint(p.Workers), onOff(p.KeepAlive), p.Handler, p.Load, fmt.Sprint(t.Rep),
				fmt.Sprintf("%.0f%%", 100*t.Fairness.Connections.Top2Share), strings.Join(each, ", ")}
			if err := table.Append(row); err != nil {
				return err
			}
		}
	}
	return table.Render()
}
