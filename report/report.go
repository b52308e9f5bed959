// Package report renders a run record for people: report.md with its PNG
// plots and figures, bench.txt for benchstat, and the tables, findings and
// warnings a run prints on the terminal.
//
// Everything is rendered from the record alone, through package analysis,
// so `clusterbench report DIR` gives the same files byte for byte later.
package report

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"clusterbench/analysis"
	"clusterbench/internal/visible"
	"clusterbench/results"
)

// FileName is the Markdown report's name inside a run directory.
const FileName = "report.md"

// Columns of the summary table, shared by the Markdown report and the terminal.
var summaryHeader = []string{
	"mode", "workers", "keep-alive", "handler", "load", "reps",
	"throughput req/s", "server CPU µs/req", "p50 ms", "p99 ms", "errors",
	"Jain req", "Jain conn", "top-2 req", "top-2 conn", "chance ≤ Jain conn", "max/min req share", "max/min conn share",
	"CPU cores loadgen/master/proxy/workers",
}

// boundMark follows a throughput that the load generator limited in at
// least one repetition.
const boundMark = " †"

func summaryRow(p *analysis.Point) []string {
	if len(p.Trials) == 0 {
		row := make([]string, len(summaryHeader))
		copy(row, []string{p.Mode, fmt.Sprint(p.Workers), onOff(p.KeepAlive), p.Handler, p.Load, reps(p), "failed"})
		return row
	}
	thr := p.Summary(func(t *results.Trial) float64 { return t.ThroughputRPS })
	errs := p.Summary(func(t *results.Trial) float64 { return float64(t.Errors) })
	share := func(f func(t *results.Trial) float64) string { return fmt.Sprintf("%.0f%%", 100*p.Summary(f).Median) }
	mark := ""
	if p.LoadgenBound() > 0 {
		mark = boundMark
	}
	row := []string{
		p.Mode, fmt.Sprint(p.Workers), onOff(p.KeepAlive), p.Handler, p.Load,
		reps(p),
		withInterval(thr, whole) + mark,
		fmt.Sprintf("%.1f", p.Summary(func(t *results.Trial) float64 { return t.ServerCPUPerRequestUs }).Median),
		fmt.Sprintf("%.2f", p.Summary(func(t *results.Trial) float64 { return t.Latency.P50 }).Median),
		fmt.Sprintf("%.2f", p.Summary(func(t *results.Trial) float64 { return t.Latency.P99 }).Median),
		fmt.Sprintf("%.0f", errs.Median),
		fmt.Sprintf("%.3f", p.Summary(func(t *results.Trial) float64 { return t.Fairness.Requests.Jain }).Median),
		fmt.Sprintf("%.3f", p.Summary(func(t *results.Trial) float64 { return t.Fairness.Connections.Jain }).Median),
		share(func(t *results.Trial) float64 { return t.Fairness.Requests.Top2Share }),
		share(func(t *results.Trial) float64 { return t.Fairness.Connections.Top2Share }),
		chanceColumn(p),
		share(func(t *results.Trial) float64 { return t.Fairness.Requests.MaxShare }) + " / " + share(func(t *results.Trial) float64 { return t.Fairness.Requests.MinShare }),
		share(func(t *results.Trial) float64 { return t.Fairness.Connections.MaxShare }) + " / " + share(func(t *results.Trial) float64 { return t.Fairness.Connections.MinShare }),
		fmt.Sprintf("%.2f / %.2f / %.2f / %.2f", p.Summary(func(t *results.Trial) float64 { return t.CPU.LoadgenCores() }).Median,
			p.Summary(func(t *results.Trial) float64 { return t.CPU.MasterCores() }).Median,
			p.Summary(func(t *results.Trial) float64 { return t.CPU.ProxyCores() }).Median,
			p.Summary(func(t *results.Trial) float64 { return t.CPU.WorkersCores() }).Median),
	}
	if !p.ClientSide() {
		// The workers counted alone: latency, errors and the load
		// generator are the client's, elsewhere.
		for _, col := range []string{"p50 ms", "p99 ms", "errors"} {
			row[slices.Index(summaryHeader, col)] = unknown
		}
	}
	if p.Trials[0].Origin != "" {
		cores := slices.Index(summaryHeader, "CPU cores loadgen/master/proxy/workers")
		row[cores] = unknown + strings.TrimPrefix(row[cores], strings.Split(row[cores], " / ")[0])
	}
	if !p.SharesApply() {
		// One process served as every worker: its share is all, by construction.
		first := slices.Index(summaryHeader, "Jain req")
		for i := range fairnessColumns {
			row[first+i] = notShared
		}
	}
	return row
}

// unknown is a figure the record cannot have: the client's, in a record
// of the server's side alone, or the load generators' of a load that
// came from other machines.
const unknown = "-"

// The summary table's fairness columns, from "Jain req" on, and what
// they say where per-worker shares do not apply.
const (
	fairnessColumns = 7
	notShared       = "n/a: one process"
)

// chanceColumn is how often a random spread of as many connections over
// as many workers is at most as even as the point's (median over its
// repetitions): below analysis.BeyondChance the mode skews beyond chance,
// near 100% it spreads more evenly than chance.
func chanceColumn(p *analysis.Point) string {
	var xs []float64
	for _, t := range p.Trials {
		if a := analysis.AgainstChanceOf(t); a != nil {
			xs = append(xs, a.JainAtMost)
		}
	}
	if len(xs) == 0 {
		return "-"
	}
	return percent(analysis.Summarize(xs).Median)
}

// reps counts the measured repetitions, and the failed ones if any.
func reps(p *analysis.Point) string {
	if len(p.Failed) > 0 {
		return fmt.Sprintf("%d (+%d failed)", len(p.Trials), len(p.Failed))
	}
	return fmt.Sprint(len(p.Trials))
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// WriteSummary writes the summary table of points to w, as Markdown or as
// a plain terminal table.
func WriteSummary(w io.Writer, points []*analysis.Point, markdown bool) error {
	table := NewTable(w, markdown)
	table.Header(summaryHeader)
	for _, p := range points {
		if err := table.Append(summaryRow(p)); err != nil {
			return err
		}
	}
	return table.Render()
}

// NewTable returns a table in the style of every clusterbench table:
// headers as written, left-aligned, no wrapping; Markdown or for a terminal.
func NewTable(w io.Writer, markdown bool) *tablewriter.Table {
	opts := []tablewriter.Option{
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	}
	if markdown {
		opts = append(opts, tablewriter.WithRenderer(renderer.NewMarkdown()))
	}
	return tablewriter.NewTable(w, opts...)
}

// Write renders report.md, report.html, the plots and bench.txt into dir from
// the record alone, so the same record always gives the same files.
func Write(dir string, r *results.Run) error {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := WritePlots(dir, r); err != nil {
		return err
	}
	if err := writeBenchFile(dir, r); err != nil {
		return err
	}
	// From the Markdown and the plots just written, so both say the same.
	var page bytes.Buffer
	if err := WriteHTML(&page, b.Bytes(), dir); err != nil {
		return err
	}
	if err := results.WriteFile(filepath.Join(dir, HTMLFileName), page.Bytes()); err != nil {
		return err
	}
	return results.WriteFile(filepath.Join(dir, FileName), b.Bytes())
}

// WriteMarkdown writes the Markdown report of r to w.
func WriteMarkdown(w io.Writer, r *results.Run) error {
	plots := Plots(r) // file names from the record as read, as WritePlots names them
	// The scenario is many lines, shown as they are in a fence of its own.
	scenarioText := r.ScenarioText
	r, err := escaped(r, markdownText)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "# clusterbench report: %s\n\n", r.Scenario)
	if !r.Complete {
		fmt.Fprintf(w, "> **Partial run**: it was interrupted or is still going; only finished trials are shown.\n\n")
	}
	if err := WriteAnswer(w, analysis.AnswerOf(r), true); err != nil {
		return err
	}
	h := r.Host
	fmt.Fprintf(w, "## Conditions\n\n")
	fmt.Fprintf(w, "- Machine: %s × %d CPUs, Linux %s, %s\n", h.CPUModel, h.CPUs, h.Kernel, h.GoVersion)
	if h.MemoryBytes > 0 {
		fmt.Fprintf(w, "- Memory: %.1f GiB\n", float64(h.MemoryBytes)/(1<<30))
	}
	if len(h.Programs) > 0 {
		fmt.Fprintf(w, "- Programs used: %s\n", describePrograms(h.Programs))
	}
	if h.Tool != "" {
		fmt.Fprintf(w, "- clusterbench: %s\n", h.Tool)
	}
	for _, app := range workerApps(r) {
		fmt.Fprintf(w, "- Worker app: %s\n", app)
	}
	for _, c := range byModes(r, func(t *results.Trial) string { return t.Counting }) {
		fmt.Fprintf(w, "- Counting: %s\n", c)
	}
	fmt.Fprintf(w, "- Network: %s\n", h.Isolation)
	fmt.Fprintf(w, "- Started %s; %s\n", r.Started.UTC().Format("2006-01-02 15:04:05 MST"), plural(len(r.Trials), "trial"))
	if scenarioText != "" {
		fmt.Fprintf(w, "- Scenario: as run, at the [end of this report](#%s)\n", scenarioAnchor)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Throughput is the median over repetitions. %s † marks a point where the load generator, not the server, was the limit in at least one repetition (see Warnings). "+
		"Server CPU µs/req is the CPU time of master, proxy and workers per successful request: it does not depend on the load generator, so it ranks the modes by efficiency even where throughput does not. "+
		"Latency is of successful requests. "+
		"Fairness is Jain's index (1 = even, 1/N = one worker takes all) and shares of the total, per connection, counted by the client. "+
		"Chance ≤ Jain conn is how often connections placed on the workers uniformly at random (as many of them, over as many workers) come out at most as even as measured, "+
		"the median over repetitions: below 1%% the mode skews beyond chance; near 100%% it spreads more evenly than chance would (a few dozen connections are uneven by chance alone). "+
		"CPU cores is the average CPU in use while measuring: the load generator's, the master's (the serving process, which accepts and hands over every connection in roundrobin mode; with Node's cluster primary in the node modes), the proxy's (nginx or HAProxy, all its processes) and all workers' together.%s\n\n",
		intervalNote, schemaNote(r))

	// Warnings come before the findings: that the load generator was the
	// limit changes how to read every table and finding.
	if warnings := warnings(r); len(warnings) > 0 {
		fmt.Fprintf(w, "## Warnings\n\n")
		for _, warn := range warnings {
			fmt.Fprintf(w, "- %s\n", warn)
		}
		fmt.Fprintln(w)
	}
	if err := WriteFindings(w, analysis.FindingsOf(r), true); err != nil {
		return err
	}

	points := analysis.Points(r)
	for _, exp := range experiments(points) {
		fmt.Fprintf(w, "## Experiment: %s\n\n", exp)
		loads, handlers := conditionsOf(r, exp)
		for _, l := range loads {
			if l.Engine == "" { // serve's record: the load came from elsewhere
				fmt.Fprintf(w, "- load `%s`: from elsewhere, not driven by clusterbench; the workers counted requests for %.3gs\n", l.Name, l.DurationSeconds)
				continue
			}
			fmt.Fprintf(w, "- load `%s`: %s, %gs measured after %gs warm-up, timeout %gs\n",
				l.Name, describeLoad(l), l.DurationSeconds, l.WarmupSeconds, l.TimeoutSeconds)
		}
		for _, h := range handlers {
			fmt.Fprintf(w, "- handler `%s`: %gµs CPU, %gms sleep, %d-byte body per request%s\n", h.Name, h.CPUMicros, h.SleepMs, h.BodyBytes, describeTail(h.Tail))
		}
		fmt.Fprintf(w, "- CPU placement: %s\n", placementOf(r, exp))
		var rows []*analysis.Point
		for _, p := range points {
			if p.Experiment == exp {
				rows = append(rows, p)
			}
		}
		if f := rows[0].Fault(); f != nil {
			fmt.Fprintf(w, "- fault: %s; the first workers by index are killed\n", describeFault(f, rows[0].Workers))
		}
		fmt.Fprintln(w)
		if err := WriteSummary(w, rows, true); err != nil {
			return err
		}
		fmt.Fprintln(w)
		if err := writeLoadHosts(w, trialsOf(rows)); err != nil {
			return err
		}
		if err := writeWorkerCounts(w, trialsOf(rows)); err != nil {
			return err
		}
		if hasLatencyDetail(rows) {
			fmt.Fprintf(w, "### Latency and busy time\n\n%s\n\n", latencyNote)
			if err := WriteLatency(w, rows, true); err != nil {
				return err
			}
			fmt.Fprintln(w)
		}
		if analysis.HasFault(analysis.Conditions(rows)) {
			fmt.Fprintf(w, "### Resilience\n\n%s\n\n", resilienceNote)
			if err := WriteResilience(w, rows, true); err != nil {
				return err
			}
			fmt.Fprintln(w)
		}
		for _, p := range plots {
			if markdownText(p.Experiment) == exp {
				fmt.Fprintf(w, "![%s: %s](%s)\n\n", exp, p.Caption, p.File)
			}
		}
	}

	if scenarioText != "" {
		fmt.Fprintf(w, "## Scenario\n\nThe scenario as run, %s:\n\n", describeScenario(r))
		writeFenced(w, scenarioText)
	}
	return nil
}

// WriteTerminal writes what a run prints when it ends, in at most
// terminalColumns: the answer, a compact table per condition, and the
// warnings one line each. The full tables and the findings are in
// report.md only.
func WriteTerminal(w io.Writer, r *results.Run) error {
	r, err := escaped(r, visible.Text) // one line per warning, no escape codes
	if err != nil {
		return err
	}
	if err := WriteAnswer(w, analysis.AnswerOf(r), false); err != nil {
		return err
	}
	if err := writeCompactSummary(w, analysis.Points(r)); err != nil {
		return err
	}
	for _, line := range terminalWarnings(r) {
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

// resilienceNote explains the resilience table's columns.
const resilienceNote = "Medians of repetitions. Lost requests are those that failed from the kill on; the errors are counted by kind as the client saw them, " +
	"and last from the kill to the last error. A replacement is ready when the deployment sees it serve; its first response is when the client got one from it " +
	"(told apart by X-Worker-Pid). With no worker left and none coming, the deployment closes its port, as Node's cluster does. " +
	"Counts: a killed process cannot give final counts, so its last periodic report (every 100 ms) may miss what it served last; " +
	"for it the client's count stands (\"client for 1 killed\"), and every other process must agree with the client exactly (\"rest agree\")."

// warnings lists everything in the run a reader must not miss: skipped
// modes, where the load generator was the limit, failed trials,
// client/worker count mismatches and the trials' own warnings.
func warnings(r *results.Run) []string {
	return slices.Concat(skippedWarnings(r), loadgenWarnings(r), trialWarnings(r))
}

func skippedWarnings(r *results.Run) []string {
	var out []string
	for _, s := range r.Skipped {
		required := ""
		if s.Required {
			required = " (required: the run failed)"
		}
		out = append(out, fmt.Sprintf("%s/%s: skipped %s%s: %s", s.Experiment, s.Mode, plural(s.Trials, "trial"), required, s.Reason))
	}
	return out
}

func loadgenWarnings(r *results.Run) []string {
	var out []string
	for _, l := range analysis.LoadgenLimits(r) {
		out = append(out, fmt.Sprintf("%s/%s: the load generator (%s), not the server, was the limit in %d of %d trials (%s; e.g. %s, rep %d: %s): "+
			"their throughput measures the load generator, so compare those modes by server CPU µs/req, "+
			"or measure again with `loadgen: wrk` or with `cpus:` to give the load generator CPUs of its own",
			l.Experiment, l.Load, l.Engine, l.Bound, l.Trials, strings.Join(l.Modes, ", "), l.Example.Label(), l.Example.Rep, l.Example.LoadgenBoundReason))
	}
	return out
}

// trialWarnings are the failed trials, count mismatches and the trials'
// own warnings.
func trialWarnings(r *results.Run) []string {
	var out []string
	for _, t := range r.Trials {
		name := fmt.Sprintf("%s/%s workers=%d keep-alive=%s handler=%s load=%s rep %d",
			t.Experiment, t.Label(), t.Workers, onOff(t.KeepAlive), t.Handler.Name, t.Load.Name, t.Rep)
		if t.Error != "" {
			out = append(out, fmt.Sprintf("%s: failed: %s", name, t.Error))
		}
		for _, m := range t.Mismatches {
			out = append(out, fmt.Sprintf("%s: count mismatch: %s", name, m))
		}
		for _, m := range t.Warnings {
			out = append(out, fmt.Sprintf("%s: %s", name, m))
		}
	}
	return out
}

func experiments(points []*analysis.Point) []string {
	var names []string
	seen := map[string]bool{}
	for _, p := range points {
		if !seen[p.Experiment] {
			seen[p.Experiment] = true
			names = append(names, p.Experiment)
		}
	}
	return names
}

// describeTail says what a heavy-tailed handler's slow requests cost; "" for none.
func describeTail(t results.HandlerTail) string {
	if t == (results.HandlerTail{}) {
		return ""
	}
	return fmt.Sprintf("; %g%% of requests cost %gµs CPU instead", 100*t.Fraction, t.CPUMicros)
}

// conditionsOf lists the distinct loads and handlers of an experiment.
func conditionsOf(r *results.Run, exp string) ([]results.Load, []results.Handler) {
	var loads []results.Load
	var handlers []results.Handler
	seenLoad, seenHandler := map[string]bool{}, map[string]bool{}
	for _, t := range r.Trials {
		if t.Experiment != exp {
			continue
		}
		if !seenLoad[t.Load.Name] {
			seenLoad[t.Load.Name] = true
			loads = append(loads, t.Load)
		}
		if !seenHandler[t.Handler.Name] {
			seenHandler[t.Handler.Name] = true
			handlers = append(handlers, t.Handler)
		}
	}
	return loads, handlers
}

func describeLoad(l results.Load) string {
	var parts []string
	if l.Rate == 0 {
		parts = append(parts, fmt.Sprintf("maximum rate, closed loop with %d concurrent requests", l.Concurrency))
	} else {
		parts = append(parts, fmt.Sprintf("%d req/s constant rate (open loop)", l.Rate))
	}
	if l.MaxConnections > 0 {
		parts = append(parts, fmt.Sprintf("at most %d connections", l.MaxConnections))
	}
	engine := l.Engine
	if l.Threads > 0 {
		engine += fmt.Sprintf(" (%d threads)", l.Threads)
	}
	return engine + " " + strings.Join(parts, ", ")
}

// conditionTitle names a condition: "8 workers, keep-alive on, handler trivial, load max-c32".
func conditionTitle(c *analysis.Condition) string {
	return fmt.Sprintf("%s, keep-alive %s, handler %s, load %s", plural(c.Workers, "worker"), onOff(c.KeepAlive), c.Handler, c.Load)
}

// plural is "1 trial", "2 trials", "2 processes".
func plural(n int, noun string) string {
	switch {
	case n == 1:
		return "1 " + noun
	case strings.HasSuffix(noun, "s"):
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// trialsOf lists the measured trials of points.
func trialsOf(points []*analysis.Point) []*results.Trial {
	var out []*results.Trial
	for _, p := range points {
		out = append(out, p.Trials...)
	}
	return out
}

// placementOf describes where an experiment's load generator and server ran.
func placementOf(r *results.Run, exp string) string {
	for _, t := range r.Trials {
		if t.Experiment != exp {
			continue
		}
		if t.Origin != "" {
			return "none by clusterbench: the load came from elsewhere, to the deployment that serve ran"
		}
		if p := t.Placement; p != nil {
			return fmt.Sprintf("load generator on CPUs %s, server (master, proxy and workers) on CPUs %s, pinned with sched_setaffinity", p.LoadgenCPUs, p.ServerCPUs)
		}
		break
	}
	return fmt.Sprintf("none: the load generator and the server share all %d CPUs", r.Host.CPUs)
}

// schemaNote warns that an older record's CPU figures span more than the
// measured phase.
func schemaNote(r *results.Run) string {
	if r.Schema >= 2 {
		return ""
	}
	return fmt.Sprintf(" (This record is schema %d: its CPU figures span the deployment's life, start-up and warm-up included, and it has no load generator flags.)", r.Schema)
}

// workerApps says which app each mode ran, when they differ: the Go worker
// and Node's cluster app accept differently on a shared socket.
func workerApps(r *results.Run) []string {
	apps := byModes(r, func(t *results.Trial) string { return cmp.Or(t.WorkerApp, r.Host.WorkerApp) })
	if len(apps) == 0 {
		return []string{r.Host.WorkerApp}
	}
	return apps
}

// byModes lists the distinct values of what among the trials, each with
// the modes it was found in; trials without a value are left out.
func byModes(r *results.Run, what func(*results.Trial) string) []string {
	var values []string
	modesOf := map[string][]string{}
	every := true // every trial has a value
	for i := range r.Trials {
		t := &r.Trials[i]
		v := what(t)
		if v == "" {
			every = false
			continue
		}
		if !slices.Contains(values, v) {
			values = append(values, v)
		}
		if !slices.Contains(modesOf[v], t.Mode) {
			modesOf[v] = append(modesOf[v], t.Mode)
		}
	}
	if len(values) == 1 && every {
		return values
	}
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = fmt.Sprintf("%s, for %s", v, strings.Join(modesOf[v], ", "))
	}
	return out
}
