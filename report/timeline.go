package report

import (
	"image/color"
	"maps"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"clusterbench/analysis"
	"clusterbench/results"
)

// A fault's effects last a few milliseconds; a record that kept the
// millisecond timeline around the kill draws it, x in milliseconds from
// the kill, so that a gap of 3 ms shows. Older records keep their
// second-by-second plot.

// hasTimelines reports whether every trial with a fault in conds kept its
// millisecond timeline.
func hasTimelines(conds []*analysis.Condition) bool {
	found := false
	for _, c := range conds {
		for _, p := range c.Points {
			for _, t := range p.Trials {
				if t.Fault == nil {
					continue
				}
				if t.Fault.Timeline == nil {
					return false
				}
				found = true
			}
		}
	}
	return found
}

// faultCaption is the fault figure's caption, after what it draws.
func faultCaption(conds []*analysis.Condition) string {
	if hasTimelines(conds) {
		return "successful responses and errors per millisecond around the kill, the kill and the replacements' first responses marked"
	}
	return "successful responses and errors per second, the kill marked"
}

// recoveryDashes mark a replacement's first response, in its mode's colour.
var recoveryDashes = []vg.Length{vg.Points(1), vg.Points(3)}

// timelinePanel draws each mode's count per millisecond around the kill
// (median of repetitions, one step per bin), the kill at 0 and, in the
// mode's colour, the median time to a replacement's first response.
func timelinePanel(title, yLabel string, c *analysis.Condition, styles map[string]modeStyle, count func(*results.Timeline) []uint32) *plot.Plot {
	p := newPanel(title, "milliseconds from the kill", yLabel, false)
	var highest float64
	from, to := math.Inf(1), math.Inf(-1)
	var recoveries []struct {
		ms float64
		st modeStyle
	}
	for _, pt := range c.Points {
		steps, recovery := timelineSteps(pt, count)
		if len(steps) == 0 {
			continue
		}
		for _, xy := range steps {
			highest = math.Max(highest, xy.Y)
		}
		from, to = math.Min(from, steps[0].X), math.Max(to, steps[len(steps)-1].X)
		st := styles[pt.Mode]
		line, err := plotter.NewLine(steps)
		if err != nil {
			continue
		}
		line.StepStyle = plotter.PostStep
		line.Color, line.Width, line.Dashes = st.color, vg.Points(1.2), st.dashes
		p.Add(line)
		if recovery.N > 0 {
			recoveries = append(recoveries, struct {
				ms float64
				st modeStyle
			}{recovery.Median, st})
		}
	}
	headroom(p, math.Max(highest, 1))
	mark := func(x float64, c color.Color, dashes []vg.Length, width vg.Length) {
		if l, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0}, {X: x, Y: p.Y.Max}}); err == nil {
			l.Color, l.Dashes, l.Width = c, dashes, width
			p.Add(l)
		}
	}
	mark(0, color.Black, killDashes, vg.Points(1))
	for _, r := range recoveries {
		mark(r.ms, r.st.color, recoveryDashes, vg.Points(1.5))
	}
	if !math.IsInf(from, 0) {
		p.X.Min, p.X.Max = from, to
	}
	p.Y.Min = 0
	return p
}

// timelineSteps is a point's count per millisecond around the kill, the
// median of its repetitions bin by bin, as the corners of a step line
// (the last bin closed by a point at its end), and the time from the kill
// to a replacement's first response in ms.
func timelineSteps(pt *analysis.Point, count func(*results.Timeline) []uint32) (plotter.XYs, analysis.Summary) {
	byMs := map[int][]float64{} // a bin's start, whole ms from the kill -> per ms, over repetitions
	var width float64
	var recovery []float64
	for _, t := range pt.Trials {
		if t.Fault == nil || t.Fault.Timeline == nil || t.Fault.Timeline.BinMs <= 0 {
			continue
		}
		tl := t.Fault.Timeline
		width = tl.BinMs
		for i, n := range count(tl) {
			// Repetitions' kills fall at slightly different times within
			// a bin; each bin is placed at its nearest whole millisecond
			// from its kill.
			ms := int(math.Round(tl.StartMs + float64(i)*tl.BinMs))
			byMs[ms] = append(byMs[ms], float64(n)/tl.BinMs)
		}
		if r := t.Fault.RecoverySeconds; r != nil {
			recovery = append(recovery, 1000**r)
		}
	}
	if len(byMs) == 0 {
		return nil, analysis.Summary{}
	}
	var steps plotter.XYs
	for _, ms := range slices.Sorted(maps.Keys(byMs)) {
		steps = append(steps, plotter.XY{X: float64(ms), Y: analysis.Summarize(byMs[ms]).Median})
	}
	last := steps[len(steps)-1]
	return append(steps, plotter.XY{X: last.X + width, Y: last.Y}), analysis.Summarize(recovery)
}
