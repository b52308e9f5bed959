package results

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"clusterbench/analysis"
)

// ReportName is the Markdown report's name inside a run directory.
const ReportName = "report.md"

// Point is one cell of an experiment's matrix: the trials that differ only
// by repetition.
type Point struct {
	Experiment string
	Mode       string
	Workers    int
	KeepAlive  bool
	Handler    string
	Load       string
	Trials     []*Trial // measured repetitions
	Failed     []*Trial
}

// Points groups trials by matrix cell, in order of first appearance.
func (r *Run) Points() []*Point {
	var points []*Point
	index := map[string]*Point{}
	for i := range r.Trials {
		t := &r.Trials[i]
		key := fmt.Sprint(t.Experiment, "\x00", t.Label(), "\x00", t.Workers, "\x00", t.KeepAlive, "\x00", t.Handler.Name, "\x00", t.Load.Name)
		p, ok := index[key]
		if !ok {
			p = &Point{Experiment: t.Experiment, Mode: t.Label(), Workers: t.Workers, KeepAlive: t.KeepAlive, Handler: t.Handler.Name, Load: t.Load.Name}
			index[key] = p
			points = append(points, p)
		}
		if t.Failed() {
			p.Failed = append(p.Failed, t)
		} else {
			p.Trials = append(p.Trials, t)
		}
	}
	return points
}

// Summary of one metric of a point over its repetitions.
func (p *Point) Summary(metric func(*Trial) float64) analysis.Summary {
	xs := make([]float64, len(p.Trials))
	for i, t := range p.Trials {
		xs[i] = metric(t)
	}
	return analysis.Summarize(xs)
}

// Columns of the summary table, shared by the Markdown report and the terminal.
var summaryHeader = []string{
	"mode", "workers", "keep-alive", "handler", "load", "reps",
	"throughput req/s", "p50 ms", "p99 ms", "errors",
	"Jain req", "Jain conn", "top-2 conn", "max/min conn share", "CPU cores master/proxy/workers",
}

func (p *Point) summaryRow() []string {
	if len(p.Trials) == 0 {
		return []string{p.Mode, fmt.Sprint(p.Workers), onOff(p.KeepAlive), p.Handler, p.Load,
			fmt.Sprintf("0/%d", len(p.Failed)), "failed", "", "", "", "", "", "", "", ""}
	}
	thr := p.Summary(func(t *Trial) float64 { return t.ThroughputRPS })
	errs := p.Summary(func(t *Trial) float64 { return float64(t.Errors) })
	maxShare := p.Summary(func(t *Trial) float64 { return t.Fairness.Connections.MaxShare })
	minShare := p.Summary(func(t *Trial) float64 { return t.Fairness.Connections.MinShare })
	return []string{
		p.Mode, fmt.Sprint(p.Workers), onOff(p.KeepAlive), p.Handler, p.Load,
		fmt.Sprint(len(p.Trials)),
		fmt.Sprintf("%.0f ± %.0f%%", thr.Median, 100*thr.Spread()),
		fmt.Sprintf("%.2f", p.Summary(func(t *Trial) float64 { return t.Latency.P50 }).Median),
		fmt.Sprintf("%.2f", p.Summary(func(t *Trial) float64 { return t.Latency.P99 }).Median),
		fmt.Sprintf("%.0f", errs.Median),
		fmt.Sprintf("%.3f", p.Summary(func(t *Trial) float64 { return t.Fairness.Requests.Jain }).Median),
		fmt.Sprintf("%.3f", p.Summary(func(t *Trial) float64 { return t.Fairness.Connections.Jain }).Median),
		fmt.Sprintf("%.0f%%", 100*p.Summary(func(t *Trial) float64 { return t.Fairness.Connections.Top2Share }).Median),
		fmt.Sprintf("%.0f%% / %.0f%%", 100*maxShare.Median, 100*minShare.Median),
		fmt.Sprintf("%.2f / %.2f / %.2f", p.Summary(func(t *Trial) float64 { return t.CPU.MasterCores() }).Median,
			p.Summary(func(t *Trial) float64 { return t.CPU.ProxyCores() }).Median,
			p.Summary(func(t *Trial) float64 { return t.CPU.WorkersCores() }).Median),
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// WriteSummary writes the summary table of points to w, as Markdown or as
// a plain terminal table.
func WriteSummary(w io.Writer, points []*Point, markdown bool) error {
	opts := []tablewriter.Option{
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	}
	if markdown {
		opts = append(opts, tablewriter.WithRenderer(renderer.NewMarkdown()))
	}
	table := tablewriter.NewTable(w, opts...)
	table.Header(summaryHeader)
	for _, p := range points {
		if err := table.Append(p.summaryRow()); err != nil {
			return err
		}
	}
	return table.Render()
}

// WriteReport renders report.md into dir from the record alone.
func WriteReport(dir string, r *Run) error {
	var b bytes.Buffer
	if err := RenderMarkdown(&b, r); err != nil {
		return fmt.Errorf("results: report: %w", err)
	}
	return writeAtomic(filepath.Join(dir, ReportName), b.Bytes())
}

// RenderMarkdown writes the Markdown report of r to w.
func RenderMarkdown(w io.Writer, r *Run) error {
	fmt.Fprintf(w, "# clusterbench report: %s\n\n", r.Scenario)
	if !r.Complete {
		fmt.Fprintf(w, "> **Partial run**: it was interrupted or is still going; only finished trials are shown.\n\n")
	}
	h := r.Host
	fmt.Fprintf(w, "## Conditions\n\n")
	fmt.Fprintf(w, "- Machine: %s × %d CPUs, Linux %s, %s\n", h.CPUModel, h.CPUs, h.Kernel, h.GoVersion)
	fmt.Fprintf(w, "- Worker app: %s\n", h.WorkerApp)
	fmt.Fprintf(w, "- Network: %s\n", h.Isolation)
	fmt.Fprintf(w, "- Started %s; %d trials\n\n", r.Started.Format("2006-01-02 15:04:05 MST"), len(r.Trials))
	fmt.Fprintf(w, "Throughput is the median over repetitions ± half their range. Latency is of successful requests. "+
		"Fairness is Jain's index (1 = even, 1/N = one worker takes all) and shares of the total, per connection, counted by the client. "+
		"CPU cores is the average CPU in use while the deployment served: the master's (the serving process, which accepts and hands over every connection in roundrobin mode), the proxy's (nginx or HAProxy, all its processes) and all workers' together.\n\n")

	points := r.Points()
	for _, exp := range experiments(points) {
		fmt.Fprintf(w, "## Experiment: %s\n\n", exp)
		loads, handlers := conditionsOf(r, exp)
		for _, l := range loads {
			fmt.Fprintf(w, "- load `%s`: %s, %gs measured after %gs warm-up, timeout %gs\n",
				l.Name, describeLoad(l), l.DurationSeconds, l.WarmupSeconds, l.TimeoutSeconds)
		}
		for _, h := range handlers {
			fmt.Fprintf(w, "- handler `%s`: %gµs CPU, %gms sleep, %d-byte body per request\n", h.Name, h.CPUMicros, h.SleepMs, h.BodyBytes)
		}
		fmt.Fprintln(w)
		var rows []*Point
		for _, p := range points {
			if p.Experiment == exp {
				rows = append(rows, p)
			}
		}
		if err := WriteSummary(w, rows, true); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}

	if warnings := r.Warnings(); len(warnings) > 0 {
		fmt.Fprintf(w, "## Warnings\n\n")
		for _, warn := range warnings {
			fmt.Fprintf(w, "- %s\n", warn)
		}
		fmt.Fprintln(w)
	}
	return nil
}

// Warnings lists everything in the run a reader must not miss: failed
// trials, client/worker count mismatches and the trials' own warnings.
func (r *Run) Warnings() []string {
	var out []string
	for _, s := range r.Skipped {
		required := ""
		if s.Required {
			required = " (required: the run failed)"
		}
		out = append(out, fmt.Sprintf("%s/%s: skipped %s%s: %s", s.Experiment, s.Mode, plural(s.Trials, "trial"), required, s.Reason))
	}
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

func experiments(points []*Point) []string {
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

// conditionsOf lists the distinct loads and handlers of an experiment.
func conditionsOf(r *Run, exp string) ([]Load, []Handler) {
	var loads []Load
	var handlers []Handler
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

func describeLoad(l Load) string {
	var parts []string
	if l.Rate == 0 {
		parts = append(parts, fmt.Sprintf("maximum rate, closed loop with %d concurrent requests", l.Concurrency))
	} else {
		parts = append(parts, fmt.Sprintf("%d req/s constant rate (open loop)", l.Rate))
	}
	if l.MaxConnections > 0 {
		parts = append(parts, fmt.Sprintf("at most %d connections", l.MaxConnections))
	}
	return l.Engine + " " + strings.Join(parts, ", ")
}

// plural is "1 trial", "2 trials".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
