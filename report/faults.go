package report

import (
	"fmt"
	"image/color"
	"io"
	"maps"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"clusterbench/analysis"
	"clusterbench/results"
)

// describeFault says what the fault did, in words: "kill 1 of 8 workers
// (SIGKILL at 2s), replaced at once".
func describeFault(f *results.Fault, workers int) string {
	what := fmt.Sprintf("kill %d of %d workers", f.Kill, workers)
	if f.Kill == workers {
		what = fmt.Sprintf("kill all %d workers", workers)
	}
	what += fmt.Sprintf(" (%s, %.1fs into the measured load)", f.Signal, f.AtSeconds)
	switch {
	case !f.Respawn:
		return what + ", not replaced"
	case f.RespawnDelaySeconds > 0:
		return what + fmt.Sprintf(", replaced after %gs", f.RespawnDelaySeconds)
	}
	return what + ", replaced at once"
}

// shortFault is describeFault for a table cell: "1 of 8, SIGKILL at 2.0s, respawn".
func shortFault(f *results.Fault, workers int) string {
	respawn := "respawn"
	switch {
	case !f.Respawn:
		respawn = "no respawn"
	case f.RespawnDelaySeconds > 0:
		respawn = fmt.Sprintf("respawn after %gs", f.RespawnDelaySeconds)
	}
	return fmt.Sprintf("%d of %d, %s at %.1fs, %s", f.Kill, workers, f.Signal, f.AtSeconds, respawn)
}

var resilienceHeader = []string{
	"mode", "workers", "keep-alive", "handler", "load", "reps", "killed",
	"lost requests", "errors after the kill", "errors for ms", "replacement ready ms", "replacement's first response ms",
	"port closed after ms", "throughput before → after req/s", "counts",
}

func resilienceRow(p *analysis.Point) []string {
	f := p.Fault()
	ms := func(metric func(*results.Fault) float64) string {
		s, missing := p.FaultSummary(metric)
		switch {
		case s.N == 0:
			return "never"
		case missing > 0:
			return fmt.Sprintf("%.0f (never in %d of %d)", 1000*s.Median, missing, len(p.Trials))
		}
		return fmt.Sprintf("%.0f", 1000*s.Median)
	}
	lost, _ := p.FaultSummary(func(f *results.Fault) float64 { return float64(f.LostRequests) })
	errorsFor, _ := p.FaultSummary(func(f *results.Fault) float64 {
		if f.LostRequests == 0 {
			return 0
		}
		return f.ErrorsForSeconds
	})
	before, _ := p.FaultSummary(func(f *results.Fault) float64 { return f.Before.ThroughputRPS })
	after, _ := p.FaultSummary(func(f *results.Fault) float64 { return f.After.ThroughputRPS })
	ready, replacement := "no replacement", "no replacement"
	if f.Respawn {
		ready = ms(func(f *results.Fault) float64 { return analysis.OrNaN(f.ReplacementReadySeconds) })
		replacement = ms(func(f *results.Fault) float64 { return analysis.OrNaN(f.RecoverySeconds) })
	}
	closed := "stayed open"
	if s, _ := p.FaultSummary(func(f *results.Fault) float64 { return analysis.OrNaN(f.PortClosedSeconds) }); s.N > 0 {
		closed = ms(func(f *results.Fault) float64 { return analysis.OrNaN(f.PortClosedSeconds) })
	}
	return []string{
		p.Mode, fmt.Sprint(p.Workers), onOff(p.KeepAlive), p.Handler, p.Load, reps(p), shortFault(f, p.Workers),
		fmt.Sprintf("%.0f", lost.Median), errorKindsAfter(p), fmt.Sprintf("%.0f", 1000*errorsFor.Median), ready, replacement,
		closed, fmt.Sprintf("%.0f → %.0f", before.Median, after.Median), countsAuthority(p),
	}
}

// errorKindsAfter is the median count of each kind of error from the
// kill on, "none" without errors.
func errorKindsAfter(p *analysis.Point) string {
	kinds := map[string]bool{}
	for _, t := range p.Trials {
		if t.Fault != nil {
			for k := range t.Fault.After.ErrorKinds {
				kinds[k] = true
			}
		}
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		s, _ := p.FaultSummary(func(f *results.Fault) float64 { return float64(f.After.ErrorKinds[k]) })
		part := fmt.Sprintf("%s %.0f", k, s.Median)
		if s.Max != s.Median {
			part += fmt.Sprintf(" (up to %.0f)", s.Max)
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// countsAuthority says in a few words whose counts a point stands on.
func countsAuthority(p *analysis.Point) string {
	disagree, unreported := 0, 0
	for _, t := range p.Trials {
		if t.CountsDisagree() {
			disagree++
		}
		unreported += len(t.Unreported)
	}
	switch {
	case disagree > 0:
		return fmt.Sprintf("disagree in %d of %d", disagree, len(p.Trials))
	case unreported > 0:
		return fmt.Sprintf("client for %d killed; rest agree", unreported)
	}
	return "both agree"
}

// WriteResilience writes the damage table of the points that had a fault;
// it writes nothing if none had.
func WriteResilience(w io.Writer, points []*analysis.Point, markdown bool) error {
	var rows []*analysis.Point
	for _, p := range points {
		if p.Fault() != nil {
			rows = append(rows, p)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	table := NewTable(w, markdown)
	table.Header(resilienceHeader)
	for _, p := range rows {
		if err := table.Append(resilienceRow(p)); err != nil {
			return err
		}
	}
	return table.Render()
}

var killDashes = []vg.Length{vg.Points(2), vg.Points(2)}

// faultFigure draws, per condition, the millisecond timeline around the
// kill when the record kept it (see timelineFigure), else successful
// responses and errors per second over the measured load (median of
// repetitions, one step per second), with the kill marked.
func faultFigure(exp string, conds []*analysis.Condition, styles map[string]modeStyle) *figure {
	if hasTimelines(conds) {
		return timelineFigure(exp, conds, styles)
	}
	f := &figure{title: exp + ": successful responses and errors per second (median of repetitions), the kill marked",
		legend: append(modeLegend(conds, styles, true), legendEntry{label: "the kill", color: color.Black, glyph: noGlyph{}, dashes: killDashes}),
		cols:   2}
	for _, c := range conds {
		if !analysis.HasFault([]*analysis.Condition{c}) {
			continue
		}
		f.panels = append(f.panels,
			seriesPanel("successful responses: "+conditionTitle(c), "responses/s", c, styles, func(s results.Second) uint64 { return s.Successes }),
			seriesPanel("errors: "+conditionTitle(c), "errors/s", c, styles, func(s results.Second) uint64 { return s.Errors }))
	}
	return f
}

func seriesPanel(title, yLabel string, c *analysis.Condition, styles map[string]modeStyle, count func(results.Second) uint64) *plot.Plot {
	p := newPanel(title, "seconds into the measured load", yLabel, false)
	var highest float64
	var killAt []float64
	for _, pt := range c.Points {
		var perSecond [][]float64 // by second, over repetitions
		for _, t := range pt.Trials {
			if t.Fault != nil {
				killAt = append(killAt, t.Fault.AtSeconds)
			}
			for i, s := range t.Series {
				if i == len(perSecond) {
					perSecond = append(perSecond, nil)
				}
				if s.Seconds > 0 {
					perSecond[i] = append(perSecond[i], float64(count(s))/s.Seconds)
				}
			}
		}
		// Each second is a step over its width, so that nothing is drawn
		// between seconds that was never measured; a mark in its middle.
		var steps, marks plotter.XYs
		for i, xs := range perSecond {
			if m := analysis.Summarize(xs); m.N > 0 {
				steps = append(steps, plotter.XY{X: float64(i), Y: m.Median})
				marks = append(marks, plotter.XY{X: float64(i) + 0.5, Y: m.Median})
				highest = math.Max(highest, m.Median)
			}
		}
		if len(steps) == 0 {
			continue
		}
		steps = append(steps, plotter.XY{X: steps[len(steps)-1].X + 1, Y: steps[len(steps)-1].Y})
		st := styles[pt.Mode]
		line, err := plotter.NewLine(steps)
		if err != nil {
			continue
		}
		line.StepStyle = plotter.PostStep
		line.Color, line.Width, line.Dashes = st.color, vg.Points(1.5), st.dashes
		points, err := plotter.NewScatter(marks)
		if err != nil {
			continue
		}
		points.Color, points.Shape, points.Radius = st.color, st.glyph, vg.Points(3)
		p.Add(line, points)
	}
	headroom(p, math.Max(highest, 1))
	if at := analysis.Summarize(killAt); at.N > 0 {
		kill, err := plotter.NewLine(plotter.XYs{{X: at.Median, Y: 0}, {X: at.Median, Y: p.Y.Max}})
		if err == nil {
			kill.Color, kill.Dashes, kill.Width = color.Black, killDashes, vg.Points(1)
			p.Add(kill)
		}
	}
	p.Y.Min = 0
	return p
}
