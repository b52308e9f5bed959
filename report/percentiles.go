package report

import (
	"math"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"clusterbench/analysis"
)

// The latency percentile plot is drawn the way HdrHistogram draws a
// percentile distribution: x is 1/(1-p) on a log axis, so that every
// "nine" (90%, 99%, 99.9%) takes the same width and the tail, where modes
// differ, is not squeezed into the right edge.

// curveStepsPerDecade is how finely a curve samples each nine.
const curveStepsPerDecade = 20

// percentileCurve is the latency (ms) of the distribution h at percentiles
// from 0 to the last one its count resolves, 1 - 1/count, where the curve
// ends at the slowest request; x is 1/(1-p).
func percentileCurve(h *hdrhistogram.Histogram) plotter.XYs {
	n := float64(h.TotalCount())
	if n == 0 {
		return nil
	}
	var xys plotter.XYs
	at := func(x float64) {
		xys = append(xys, plotter.XY{X: x, Y: float64(h.ValueAtQuantile(100*(1-1/x))) / 1000})
	}
	for k := 0; ; k++ {
		x := math.Pow(10, float64(k)/curveStepsPerDecade)
		if x >= n {
			break
		}
		if last := len(xys) - 1; last >= 0 && xys[last].X < 2 && x > 2 && n > 2 {
			at(2) // the median, exactly: it is labelled
		}
		at(x)
	}
	return append(xys, plotter.XY{X: math.Max(n, 1), Y: float64(h.Max()) / 1000})
}

// pooledLatency merges the latency histograms of a point's repetitions,
// so that the tail rests on all their requests; nil if none has one. A
// histogram that does not decode is left out: the rest still draws.
func pooledLatency(p *analysis.Point) *hdrhistogram.Histogram {
	var pooled *hdrhistogram.Histogram
	for _, t := range p.Trials {
		h, err := t.LatencyDistribution()
		if err != nil || h == nil {
			continue
		}
		if pooled == nil {
			pooled = hdrhistogram.New(h.LowestTrackableValue(), h.HighestTrackableValue(), int(h.SignificantFigures()))
		}
		pooled.Merge(h)
	}
	return pooled
}

// hasLatencyHistograms reports whether any trial of conds kept its latency
// histogram; older records did not, and keep their old latency figure.
func hasLatencyHistograms(conds []*analysis.Condition) bool {
	for _, c := range conds {
		for _, p := range c.Points {
			for _, t := range p.Trials {
				if t.LatencyHistogram != "" {
					return true
				}
			}
		}
	}
	return false
}

// percentileFigure draws, per condition, each mode's latency by
// percentile, from the histograms of all its repetitions pooled.
func percentileFigure(exp string, conds []*analysis.Condition, styles map[string]modeStyle) *figure {
	f := &figure{title: exp + ": latency of successful requests by percentile (repetitions pooled; log scales)",
		legend: modeLegend(conds, styles, true), cols: panelCols(len(conds))}
	for _, c := range conds {
		p := newPanel(conditionTitle(c), "percentile", "latency (ms)", false)
		p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
		p.X.Tick.Marker, p.Y.Tick.Marker = ninesTicks{}, logTicks{}
		lowest, highest, widest := math.Inf(1), 0.0, 1000.0 // to p99.9 at least
		for _, pt := range c.Points {
			h := pooledLatency(pt)
			if h == nil {
				continue
			}
			var curve plotter.XYs
			for _, xy := range percentileCurve(h) {
				if xy.Y > 0 { // a log scale has no zero
					curve = append(curve, xy)
					lowest, highest, widest = math.Min(lowest, xy.Y), math.Max(highest, xy.Y), math.Max(widest, xy.X)
				}
			}
			if len(curve) == 0 {
				continue
			}
			st := styles[pt.Mode]
			line, err := plotter.NewLine(curve)
			if err != nil {
				continue
			}
			line.Color, line.Width, line.Dashes = st.color, vg.Points(1.5), st.dashes
			p.Add(line)
			// A marker at each nine, so that modes of one colour (beyond
			// ten) are told apart, as in the legend.
			if marks, err := plotter.NewScatter(atNines(curve)); err == nil {
				marks.Color, marks.Shape, marks.Radius = st.color, st.glyph, vg.Points(3)
				p.Add(marks)
			}
		}
		if highest == 0 {
			lowest, highest = 1, 10 // nothing succeeded: an empty panel with a valid axis
		}
		p.X.Min, p.X.Max = 1, widest
		p.Y.Min, p.Y.Max = lowest/1.25, highest*1.25
		f.panels = append(f.panels, p)
	}
	return f
}

// atNines is the curve's points at 50%, 90%, 99%, ... (x = 2, 10, 100, ...).
func atNines(curve plotter.XYs) plotter.XYs {
	var out plotter.XYs
	for _, xy := range curve {
		if isNine(xy.X) {
			out = append(out, xy)
		}
	}
	return out
}

// isNine reports whether x = 1/(1-p) is a tick of ninesTicks.
func isNine(x float64) bool {
	if math.Abs(x-2) < 1e-9 {
		return true
	}
	d := math.Log10(x)
	return d >= 1 && math.Abs(d-math.Round(d)) < 1e-9
}

// ninesTicks label x = 1/(1-p) with p: 50% at 2, then 90%, 99%, 99.9% at
// each power of ten.
type ninesTicks struct{}

func (ninesTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	if lo <= 2 && 2 <= hi {
		ticks = append(ticks, plot.Tick{Value: 2, Label: "50%"})
	}
	for x := 10.0; x <= hi*(1+1e-9); x *= 10 {
		if x >= lo {
			ticks = append(ticks, plot.Tick{Value: x, Label: ninesLabel(x)})
		}
	}
	return ticks
}

// ninesLabel is the percentile at x = 1/(1-p) = 10^k: k nines.
func ninesLabel(x float64) string {
	k := int(math.Round(math.Log10(x)))
	switch {
	case k == 1:
		return "90%"
	case k == 2:
		return "99%"
	}
	return "99." + strings.Repeat("9", k-2) + "%"
}
