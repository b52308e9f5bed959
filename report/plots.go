package report

import (
	"bytes"
	"fmt"
	"image/color"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"clusterbench/analysis"
	"clusterbench/internal/cpuset"
	"clusterbench/results"
)

// Plot is one PNG of a run directory: what it shows, for the report's
// image text, and its file name.
type Plot struct {
	Experiment string
	Caption    string
	File       string
	figure     func() *figure
}

// Plots lists the PNGs of a run: for each experiment, throughput, load
// share per worker, latency and CPU per role, each with one panel per
// condition, server CPU per request where the record has it, and for an
// experiment with a fault its damage over time. Names depend only on the
// record, so the report can link them.
func Plots(r *results.Run) []Plot {
	points := analysis.Points(r)
	styles := modeStyles(points)
	var out []Plot
	used := map[string]bool{}
	all := analysis.Conditions(points)
	for _, exp := range experiments(points) {
		var conds []*analysis.Condition
		for _, c := range all {
			if c.Experiment == exp {
				conds = append(conds, c)
			}
		}
		if !hasMeasurement(conds) {
			continue
		}
		base := fileSafe(exp)
		for i := 2; used[base]; i++ {
			base = fmt.Sprintf("%s-%d", fileSafe(exp), i)
		}
		used[base] = true
		out = append(out,
			Plot{exp, "throughput per mode", base + "-throughput.png", func() *figure { return throughputFigure(exp, conds, styles) }},
			Plot{exp, "each worker's share, busiest to idlest", base + "-share.png", func() *figure { return shareFigure(exp, conds, styles) }})
		if clientSide(conds) {
			out = append(out, Plot{exp, "latency percentiles", base + "-latency.png", func() *figure { return latencyFigure(exp, conds, styles) }})
		}
		out = append(out, Plot{exp, "CPU per process role", base + "-cpu.png", func() *figure { return cpuFigure(exp, conds, r.Host.CPUs) }})
		if served := servedTrials(conds); len(served) > 0 {
			out = append(out, Plot{exp, "requests per second, workers and load hosts", base + "-served.png",
				func() *figure { return servedFigure(exp, served) }})
		}
		if hasCPUPerRequest(conds) {
			out = append(out, Plot{exp, "server CPU per request", base + "-cpu-per-request.png",
				func() *figure { return cpuPerRequestFigure(exp, conds, styles) }})
		}
		if analysis.HasFault(conds) {
			out = append(out, Plot{exp, faultCaption(conds), base + "-fault.png",
				func() *figure { return faultFigure(exp, conds, styles) }})
		}
	}
	return out
}

// Render draws the plot as PNG.
func (p Plot) Render() ([]byte, error) {
	var b bytes.Buffer
	if err := p.figure().writePNG(&b); err != nil {
		return nil, fmt.Errorf("report: %s: %w", p.File, err)
	}
	return b.Bytes(), nil
}

// WritePlots renders every plot of r into dir.
func WritePlots(dir string, r *results.Run) error {
	for _, p := range Plots(r) {
		png, err := p.Render()
		if err != nil {
			return err
		}
		if err := results.WriteFile(filepath.Join(dir, p.File), png); err != nil {
			return err
		}
	}
	return nil
}

func hasMeasurement(conds []*analysis.Condition) bool {
	for _, c := range conds {
		for _, p := range c.Points {
			if len(p.Trials) > 0 {
				return true
			}
		}
	}
	return false
}

// clientSide reports whether a client measured any point of conds: a
// record of the server's side alone has no latency to draw.
func clientSide(conds []*analysis.Condition) bool {
	for _, c := range conds {
		for _, p := range c.Measured() {
			if p.ClientSide() {
				return true
			}
		}
	}
	return false
}

// fileSafe keeps letters, digits, '-', '_' and '.' of an experiment name,
// and at most maxNameBytes of them; Plots makes the names unique.
func fileSafe(name string) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, name)
	if strings.Trim(safe, "-.") == "" {
		return "experiment"
	}
	return truncate(safe, maxNameBytes)
}

// maxNameBytes bounds a name in a file name or a benchmark key: a file
// name holds 255 bytes, and a suffix (-2, -throughput.png) follows.
const maxNameBytes = 100

// truncate cuts s to at most n bytes, at a character's start.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// modeStyles gives every mode label of the run its look (see styleOf).
func modeStyles(points []*analysis.Point) map[string]modeStyle {
	styles := map[string]modeStyle{}
	for _, p := range points {
		styles[p.Mode] = styleOf(p.Mode)
	}
	return styles
}

func modeLegend(conds []*analysis.Condition, styles map[string]modeStyle, lines bool) []legendEntry {
	var entries []legendEntry
	seen := map[string]bool{}
	for _, c := range conds {
		for _, p := range c.Points {
			if seen[p.Mode] {
				continue
			}
			seen[p.Mode] = true
			s := styles[p.Mode]
			e := legendEntry{label: p.Mode, color: s.color}
			if lines {
				e.glyph, e.dashes = s.glyph, s.dashes
			}
			entries = append(entries, e)
		}
	}
	return entries
}

func panelCols(n int) int { return min(n, 2) }

// newPanel starts a panel. A panel whose x axis names modes has no
// vertical grid lines, which would cross its bars.
func newPanel(title, xLabel, yLabel string, modesOnX bool) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(11)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Y.Tick.Marker = plainTicks{}
	grid := plotter.NewGrid()
	if modesOnX {
		grid.Vertical.Color = nil
	}
	p.Add(grid)
	return p
}

// plainTicks are gonum's default ticks, labelled without trailing zeros
// ("25", not "25.00").
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', -1, 64)
		}
	}
	return ticks
}

// logTicks label 1, 2 and 5 of every decade, so that a log axis spanning
// less than a decade still has numbers on it.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for decade := math.Pow(10, math.Floor(math.Log10(lo))); decade <= hi; decade *= 10 {
		for m := 1.0; m < 10; m++ {
			v := m * decade
			if v < lo || v > hi {
				continue
			}
			tick := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				tick.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ticks = append(ticks, tick)
		}
	}
	return ticks
}

// modeAxis labels the x axis with the condition's modes, slanted so that
// long names do not overlap.
func modeAxis(p *plot.Plot, c *analysis.Condition) {
	names := make([]string, len(c.Points))
	for i, pt := range c.Points {
		names[i] = pt.Mode
		if len(pt.Trials) == 0 {
			names[i] += " (failed)"
		}
	}
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = math.Pi / 7
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YTop
	p.X.Min, p.X.Max = -0.6, float64(len(names))-0.4
}

// errorPoints are points with a range around each, drawn as error bars.
type errorPoints struct {
	plotter.XYs
	plotter.YErrors
}

func rangeAround(x float64, s analysis.Summary, scale float64) (plotter.XY, struct{ Low, High float64 }) {
	return plotter.XY{X: x, Y: s.Median * scale}, struct{ Low, High float64 }{(s.Median - s.Min) * scale, (s.Max - s.Median) * scale}
}

func addErrorBars(p *plot.Plot, pts errorPoints, c color.Color) {
	if bars := errorBars(pts, c); bars != nil {
		p.Add(bars)
	}
}

// errorBars draws pts' ranges; nil for none.
func errorBars(pts errorPoints, c color.Color) *plotter.YErrorBars {
	if len(pts.XYs) == 0 {
		return nil
	}
	bars, err := plotter.NewYErrorBars(pts)
	if err != nil {
		return nil // only for NaN or infinite values, which Summarize never returns
	}
	bars.LineStyle.Color = c
	bars.LineStyle.Width = vg.Points(1.2)
	bars.CapWidth = vg.Points(6)
	return bars
}

// headroom leaves space above the highest value so that the top of a bar
// and its range are never cut.
func headroom(p *plot.Plot, highest float64) {
	p.Y.Min = 0
	p.Y.Max = math.Max(p.Y.Max, highest*1.08)
	if p.Y.Max <= 0 {
		p.Y.Max = 1
	}
}

func barWidth(n int) vg.Length {
	return vg.Length(math.Min(28, 300/float64(max(n, 1))))
}

// throughputMark is what a throughput panel draws for one mode: the median
// and range over repetitions, in requests/s or, at a fixed rate, in
// percent of it, and in how many repetitions the load generator, not the
// server, was the limit.
type throughputMark struct {
	x            float64
	mode         string
	summary      analysis.Summary
	loadgenBound int
	reps         int
}

// throughputMarks are the marks of a condition's measured modes; rate > 0
// gives them in percent of that rate.
func throughputMarks(c *analysis.Condition, rate float64) []throughputMark {
	var marks []throughputMark
	for i, pt := range c.Points {
		if len(pt.Trials) == 0 {
			continue
		}
		s := pt.Summary(func(t *results.Trial) float64 { return t.ThroughputRPS })
		if rate > 0 {
			s = pt.Summary(func(t *results.Trial) float64 { return 100 * t.ThroughputRPS / rate })
		}
		marks = append(marks, throughputMark{x: float64(i), mode: pt.Mode, summary: s, loadgenBound: pt.LoadgenBound(), reps: len(pt.Trials)})
	}
	return marks
}

// offeredRate is a condition's fixed rate in requests/s, 0 for a closed
// loop: every repetition of every mode was offered the same rate.
func offeredRate(c *analysis.Condition) float64 {
	rate := -1
	for _, p := range c.Points {
		for _, t := range p.Trials {
			if rate >= 0 && t.Load.Rate != rate {
				return 0
			}
			rate = t.Load.Rate
		}
	}
	return float64(max(rate, 0))
}

// plotBoundMark, the tables' mark, is drawn above a bar the load generator limited: its height is
// what the load generator managed, not what the server could do.
const plotBoundMark = "†"

func boundLabel(m throughputMark) string {
	if m.loadgenBound == m.reps {
		return plotBoundMark
	}
	return fmt.Sprintf("%s %d/%d", plotBoundMark, m.loadgenBound, m.reps)
}

func throughputFigure(exp string, conds []*analysis.Condition, styles map[string]modeStyle) *figure {
	f := &figure{title: exp + ": throughput (median of repetitions; bars span the lowest to the highest)",
		legend: modeLegend(conds, styles, false), cols: panelCols(len(conds))}
	bound, fixed := false, false
	for _, c := range conds {
		rate := offeredRate(c)
		marks := throughputMarks(c, rate)
		for _, m := range marks {
			bound = bound || m.loadgenBound > 0
		}
		if rate > 0 {
			fixed = true
			f.panels = append(f.panels, deliveredPanel(c, marks, rate, styles))
		} else {
			f.panels = append(f.panels, throughputPanel(c, marks, styles))
		}
	}
	if fixed {
		f.title = exp + ": throughput, at a fixed rate in percent of it (median of repetitions; ranges span the lowest to the highest)"
		f.legend = append(f.legend, legendEntry{label: "the offered rate", color: referenceGrey, glyph: noGlyph{}, dashes: fairDashes})
	}
	if bound {
		f.legend = append(f.legend, legendEntry{label: "the load generator was the limit (n/m: in n of m repetitions)", mark: plotBoundMark})
	}
	return f
}

// throughputPanel draws a closed loop's throughput as bars from zero.
func throughputPanel(c *analysis.Condition, marks []throughputMark, styles map[string]modeStyle) *plot.Plot {
	p := newPanel(conditionTitle(c), "", "throughput (requests/s)", true)
	modeAxis(p, c)
	var highest float64
	for _, m := range marks {
		bar, err := plotter.NewBarChart(plotter.Values{m.summary.Median}, barWidth(len(c.Points)))
		if err != nil {
			continue
		}
		bar.XMin = m.x
		bar.Color = styles[m.mode].color
		bar.LineStyle.Width = 0
		p.Add(bar)
		xy, e := rangeAround(m.x, m.summary, 1)
		addErrorBars(p, errorPoints{plotter.XYs{xy}, plotter.YErrors{e}}, color.Black)
		highest = math.Max(highest, m.summary.Max)
	}
	headroom(p, highest*1.05) // room for the marks above the ranges
	addBoundMarks(p, marks)
	return p
}

// deliveredPanel draws a fixed rate's throughput as percent of the rate,
// points with their ranges on an axis zoomed to them: every mode
// delivers about the rate, and bars from zero would all look alike.
func deliveredPanel(c *analysis.Condition, marks []throughputMark, rate float64, styles map[string]modeStyle) *plot.Plot {
	p := newPanel(conditionTitle(c), "", fmt.Sprintf("delivered (%% of the offered %.0f requests/s)", rate), true)
	modeAxis(p, c)
	offered := plotter.NewFunction(func(float64) float64 { return 100 })
	offered.Color, offered.Dashes, offered.Width = referenceGrey, fairDashes, vg.Points(1)
	p.Add(offered)
	lowest, highest := 100.0, 100.0
	for _, m := range marks {
		st := styles[m.mode]
		xy, e := rangeAround(m.x, m.summary, 1)
		addErrorBars(p, errorPoints{plotter.XYs{xy}, plotter.YErrors{e}}, st.color)
		dot, err := plotter.NewScatter(plotter.XYs{xy})
		if err != nil {
			continue
		}
		dot.Color, dot.Shape, dot.Radius = st.color, draw.CircleGlyph{}, vg.Points(5)
		p.Add(dot)
		lowest, highest = math.Min(lowest, m.summary.Min), math.Max(highest, m.summary.Max)
	}
	p.Y.Min, p.Y.Max = zoom(lowest, highest)
	addBoundMarks(p, marks)
	return p
}

// zoom is an axis range around lo..hi with room for the marks above, at
// least two percent wide, so that noise is not blown up into a finding.
func zoom(lo, hi float64) (float64, float64) {
	const least = 2
	span := hi - lo
	lo, hi = lo-0.15*span, hi+0.25*span
	if widen := least - (hi - lo); widen > 0 {
		lo, hi = lo-widen/2, hi+widen/2
	}
	// Whole percents at the ends, so that the ticks fall on round numbers.
	return math.Max(0, math.Floor(lo)), math.Ceil(hi)
}

// addBoundMarks writes plotBoundMark above each mark the load generator limited.
func addBoundMarks(p *plot.Plot, marks []throughputMark) {
	var labels plotter.XYLabels
	for _, m := range marks {
		if m.loadgenBound > 0 {
			labels.XYs = append(labels.XYs, plotter.XY{X: m.x, Y: m.summary.Max})
			labels.Labels = append(labels.Labels, boundLabel(m))
		}
	}
	if len(labels.XYs) == 0 {
		return
	}
	l, err := plotter.NewLabels(labels)
	if err != nil {
		return
	}
	for i := range l.TextStyle {
		l.TextStyle[i] = markStyle
		l.TextStyle[i].XAlign, l.TextStyle[i].YAlign = draw.XCenter, draw.YBottom
	}
	l.Offset = vg.Point{Y: vg.Points(4)}
	p.Add(l)
}

// referenceGrey draws reference lines (fair share, offered rate, CPUs),
// lighter than the data so that lines on them stay visible.
var referenceGrey = rgb(0x8c8c8c)

func shareFigure(exp string, conds []*analysis.Condition, styles map[string]modeStyle) *figure {
	f := &figure{title: exp + ": each worker's share, busiest to idlest (median of repetitions; bars span the lowest to the highest)",
		legend: append(modeLegend(conds, styles, true), legendEntry{label: "fair share 1/N", color: referenceGrey, glyph: noGlyph{}, dashes: fairDashes}),
		cols:   2}
	// Busy time only where the latency table is: older records keep their plots.
	busy := false
	for _, c := range conds {
		busy = busy || hasLatencyDetail(c.Points)
	}
	if busy {
		f.cols = 3
	}
	counted := func(counts func(*results.Trial) []uint64) func(*analysis.Point) []analysis.Summary {
		return func(p *analysis.Point) []analysis.Summary { return p.SortedShares(counts) }
	}
	for _, c := range conds {
		f.panels = append(f.panels,
			sharePanel("per request: "+conditionTitle(c), "share of requests (%)", c, styles, counted((*results.Trial).RequestCounts)),
			sharePanel("per connection: "+conditionTitle(c), "share of connections (%)", c, styles, counted((*results.Trial).ConnectionCounts)))
		if busy {
			f.panels = append(f.panels,
				sharePanel("busy time: "+conditionTitle(c), "share of the workers' CPU time (%)", c, styles, (*analysis.Point).SortedBusyShares))
		}
	}
	return f
}

var fairDashes = []vg.Length{vg.Points(4), vg.Points(3)}

// noGlyph draws nothing: a legend entry that is a plain line.
type noGlyph struct{}

func (noGlyph) DrawGlyph(*draw.Canvas, draw.GlyphStyle, vg.Point) {}

func sharePanel(title, yLabel string, c *analysis.Condition, styles map[string]modeStyle, sortedShares func(*analysis.Point) []analysis.Summary) *plot.Plot {
	p := newPanel(title, "worker, busiest to idlest", yLabel, false)
	layers, highest := shareLayers(c, styles, sortedShares)
	p.Add(layers...)
	p.X.Min, p.X.Max = 0.5, float64(c.Workers)+0.5
	p.X.Tick.Marker = integerTicks{}
	headroom(p, highest)
	return p
}

// shareLayers are what a share panel draws, bottom first: the fair share,
// in grey, under the modes' lines, which often run along it.
func shareLayers(c *analysis.Condition, styles map[string]modeStyle, sortedShares func(*analysis.Point) []analysis.Summary) ([]plot.Plotter, float64) {
	fair := plotter.NewFunction(func(float64) float64 { return 100 / float64(c.Workers) })
	fair.Color, fair.Dashes, fair.Width = referenceGrey, fairDashes, vg.Points(1)
	layers := []plot.Plotter{fair}
	var highest float64
	n := len(c.Points)
	for i, pt := range c.Points {
		ranks := sortedShares(pt)
		if len(ranks) == 0 {
			continue
		}
		// Each mode is nudged sideways a little so that ranges do not hide each other.
		nudge := (float64(i) - float64(n-1)/2) * 0.5 / float64(max(n, 1))
		var pts errorPoints
		for rank, s := range ranks {
			xy, e := rangeAround(float64(rank+1)+nudge, s, 100)
			pts.XYs = append(pts.XYs, xy)
			pts.YErrors = append(pts.YErrors, e)
			highest = math.Max(highest, 100*s.Max)
		}
		st := styles[pt.Mode]
		line, points, err := plotter.NewLinePoints(pts.XYs)
		if err != nil {
			continue
		}
		line.Color, line.Width, line.Dashes = st.color, vg.Points(1.5), st.dashes
		points.Color, points.Shape, points.Radius = st.color, st.glyph, vg.Points(3)
		layers = append(layers, line, points)
		if bars := errorBars(pts, st.color); bars != nil {
			layers = append(layers, bars)
		}
	}
	return layers, highest
}

// integerTicks marks every worker rank.
type integerTicks struct{}

func (integerTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for x := math.Ceil(lo); x <= hi; x++ {
		ticks = append(ticks, plot.Tick{Value: x, Label: fmt.Sprint(x)})
	}
	return ticks
}

var percentiles = []struct {
	name  string
	value func(results.Latency) float64
}{
	{"p50", func(l results.Latency) float64 { return l.P50 }},
	{"p90", func(l results.Latency) float64 { return l.P90 }},
	{"p99", func(l results.Latency) float64 { return l.P99 }},
	{"p99.9", func(l results.Latency) float64 { return l.P999 }},
	{"max", func(l results.Latency) float64 { return l.Max }},
}

// latencyFigure is the percentile plot when the trials kept latency
// histograms, else the recorded percentiles, as older records have
// always been drawn.
func latencyFigure(exp string, conds []*analysis.Condition, styles map[string]modeStyle) *figure {
	if hasLatencyHistograms(conds) {
		return percentileFigure(exp, conds, styles)
	}
	f := &figure{title: exp + ": latency of successful requests (median of repetitions; log scale)",
		legend: modeLegend(conds, styles, true), cols: panelCols(len(conds))}
	names := make([]string, len(percentiles))
	for i, pc := range percentiles {
		names[i] = pc.name
	}
	for _, c := range conds {
		p := newPanel(conditionTitle(c), "percentile", "latency (ms)", false)
		p.NominalX(names...)
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
		lowest, highest := math.Inf(1), 0.0
		for _, pt := range c.Points {
			var xys plotter.XYs
			for i, pc := range percentiles {
				v := pt.Summary(func(t *results.Trial) float64 { return pc.value(t.Latency) }).Median
				if v > 0 { // a log scale has no zero; no successful request means no latency
					xys = append(xys, plotter.XY{X: float64(i), Y: v})
					lowest, highest = math.Min(lowest, v), math.Max(highest, v)
				}
			}
			if len(xys) == 0 {
				continue
			}
			st := styles[pt.Mode]
			line, points, err := plotter.NewLinePoints(xys)
			if err != nil {
				continue
			}
			line.Color, line.Width, line.Dashes = st.color, vg.Points(1.5), st.dashes
			points.Color, points.Shape, points.Radius = st.color, st.glyph, vg.Points(3)
			p.Add(line, points)
		}
		if highest == 0 {
			lowest, highest = 1, 10 // nothing succeeded: an empty panel with a valid axis
		}
		// A little room below and above, so that no line runs along a border.
		p.Y.Min, p.Y.Max = lowest/1.25, highest*1.25
		f.panels = append(f.panels, p)
	}
	return f
}

// roles are the process roles whose CPU a trial records, as cores: CPU
// seconds over the time each role was measured.
var roles = []struct {
	name  string
	color color.Color
	cores func(*results.Trial) float64
}{
	{"load generator", rgb(0xbab0ac), loadgenCores},
	{"master", rgb(0xe15759), func(t *results.Trial) float64 { return t.CPU.MasterCores() }},
	{"proxy", rgb(0xf28e2b), func(t *results.Trial) float64 { return t.CPU.ProxyCores() }},
	{"workers", rgb(0x4e79a7), func(t *results.Trial) float64 { return t.CPU.WorkersCores() }},
}

// loadgenCores is over the measured load's duration, as the plot has
// always drawn it.
func loadgenCores(t *results.Trial) float64 {
	if t.DurationSeconds <= 0 {
		return 0
	}
	return t.CPU.LoadgenSeconds / t.DurationSeconds
}

// cpuLimit is the reference line of a condition's CPU panel: the CPUs the
// server was pinned to when every trial was pinned to as many, else the
// machine's.
func cpuLimit(c *analysis.Condition, machine int) (cpus int, pinned bool) {
	n := 0
	for _, p := range c.Points {
		for _, t := range p.Trials {
			if t.Placement == nil {
				return machine, false
			}
			set, err := cpuset.Parse(t.Placement.ServerCPUs)
			if err != nil || set.IsEmpty() || n > 0 && set.Len() != n {
				return machine, false
			}
			n = set.Len()
		}
	}
	if n == 0 {
		return machine, false
	}
	return n, true
}

func cpuFigure(exp string, conds []*analysis.Condition, cpus int) *figure {
	f := &figure{cols: panelCols(len(conds))}
	for _, r := range roles {
		f.legend = append(f.legend, legendEntry{label: r.name, color: r.color})
	}
	pinnedTo := map[int]bool{}
	unpinned := false
	for _, c := range conds {
		p := newPanel(conditionTitle(c), "", "CPU (cores)", true)
		modeAxis(p, c)
		var below *plotter.BarChart
		stacked := make([]float64, len(c.Points))
		for _, r := range roles {
			values := make(plotter.Values, len(c.Points))
			for i, pt := range c.Points {
				values[i] = pt.Summary(r.cores).Median
				stacked[i] += values[i]
			}
			bar, err := plotter.NewBarChart(values, barWidth(len(c.Points)))
			if err != nil {
				continue
			}
			bar.Color, bar.LineStyle.Width = r.color, 0
			if below != nil {
				bar.StackOn(below)
			}
			p.Add(bar)
			below = bar
		}
		limit, pinned := cpuLimit(c, cpus)
		if pinned {
			pinnedTo[limit] = true
		} else {
			unpinned = true
		}
		line := plotter.NewFunction(func(float64) float64 { return float64(limit) })
		line.Color, line.Dashes, line.Width = color.Black, fairDashes, vg.Points(1)
		p.Add(line)
		highest := float64(limit)
		for _, s := range stacked {
			highest = math.Max(highest, s)
		}
		headroom(p, highest)
		f.panels = append(f.panels, p)
	}
	f.title = fmt.Sprintf("%s: CPU per process role, in cores (median of repetitions; the machine has %d)", exp, cpus)
	label := "CPUs of the machine"
	if len(pinnedTo) > 0 {
		f.title = fmt.Sprintf("%s: CPU per process role, in cores (median of repetitions; the machine has %d, the server was pinned to %s)",
			exp, cpus, joinInts(slices.Sorted(maps.Keys(pinnedTo))))
		label = "CPUs the server was pinned to"
		if unpinned {
			label = "CPUs the server had: pinned to, or the machine's"
		}
	}
	f.legend = append(f.legend, legendEntry{label: label, color: color.Black, glyph: noGlyph{}, dashes: fairDashes})
	return f
}

// joinInts is "1", "1 or 2".
func joinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, " or ")
}

// cpuPerRequestFigure draws the server's CPU time per request (master,
// proxy and workers) of each mode: the cost of a design, which holds
// where throughput is the load generator's or a fixed rate's. Trials that
// did not record it (0) are left out (see hasCPUPerRequest).
func cpuPerRequestFigure(exp string, conds []*analysis.Condition, styles map[string]modeStyle) *figure {
	f := &figure{title: exp + ": server CPU per request: master, proxy and workers (median of repetitions; bars span the lowest to the highest)",
		legend: modeLegend(conds, styles, false), cols: panelCols(len(conds))}
	for _, c := range conds {
		p := newPanel(conditionTitle(c), "", "server CPU per request (µs)", true)
		modeAxis(p, c)
		var highest float64
		for i, pt := range c.Points {
			s, ok := cpuPerRequest(pt)
			if !ok {
				continue
			}
			bar, err := plotter.NewBarChart(plotter.Values{s.Median}, barWidth(len(c.Points)))
			if err != nil {
				continue
			}
			bar.XMin, bar.Color, bar.LineStyle.Width = float64(i), styles[pt.Mode].color, 0
			p.Add(bar)
			xy, e := rangeAround(float64(i), s, 1)
			addErrorBars(p, errorPoints{plotter.XYs{xy}, plotter.YErrors{e}}, color.Black)
			highest = math.Max(highest, s.Max)
		}
		headroom(p, highest)
		f.panels = append(f.panels, p)
	}
	return f
}

func hasCPUPerRequest(conds []*analysis.Condition) bool {
	for _, c := range conds {
		for _, p := range c.Points {
			if _, ok := cpuPerRequest(p); ok {
				return true
			}
		}
	}
	return false
}

// cpuPerRequest summarizes a point's server CPU per request over the
// repetitions that recorded it; false if none did.
func cpuPerRequest(p *analysis.Point) (analysis.Summary, bool) {
	var xs []float64
	for _, t := range p.Trials {
		if t.ServerCPUPerRequestUs > 0 {
			xs = append(xs, t.ServerCPUPerRequestUs)
		}
	}
	s := analysis.Summarize(xs)
	return s, s.N > 0
}
