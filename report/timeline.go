package report

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"clusterbench/analysis"
	"clusterbench/results"
)

// A fault's effects last a few milliseconds, and at a few thousand
// requests a second a millisecond holds a handful of responses: lines of
// several modes overlaid, or a median of repetitions whose gaps fall at
// different moments, hide them. A record that kept the millisecond
// timeline around the kill is drawn as rows of cells instead, one row per
// mode and repetition and one cell per millisecond, so that a gap of 3 ms
// is three empty cells. Older records keep their second-by-second plot.

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
		return "one row per mode and repetition, one cell per millisecond from the kill: the mode's colour, deeper for more responses, white for none; red below for errors; the kill dashed at 0, a black tick where a replacement first served"
	}
	return "successful responses and errors per second, the kill marked"
}

// timelineRow is one repetition's timeline, as its row draws it.
type timelineRow struct {
	mode, label string
	// startMs is the first bin's start from the kill, at the nearest whole
	// millisecond: repetitions' kills fall at different times within a
	// bin, and rounding puts every row's cells on the same grid.
	startMs, binMs    float64
	successes, errors []uint32
	respawn           bool
	// recoveryMs is from the kill to a replacement's first response,
	// lastErrorMs to the last error; NaN when there was none.
	recoveryMs, lastErrorMs float64
}

// timelineRows are a condition's rows, grouped by mode in the condition's
// order, repetitions in order; the mode is named on its first row only.
func timelineRows(c *analysis.Condition) []timelineRow {
	var rows []timelineRow
	for _, pt := range c.Points {
		var trials []*results.Trial
		for _, t := range pt.Trials {
			if t.Fault != nil && t.Fault.Timeline != nil && t.Fault.Timeline.BinMs > 0 {
				trials = append(trials, t)
			}
		}
		slices.SortStableFunc(trials, func(a, b *results.Trial) int { return a.Rep - b.Rep })
		for i, t := range trials {
			f, tl := t.Fault, t.Fault.Timeline
			r := timelineRow{
				mode: pt.Mode, label: pt.Mode,
				startMs: math.Round(tl.StartMs), binMs: tl.BinMs,
				successes: tl.Successes, errors: tl.Errors,
				respawn: f.Respawn, recoveryMs: math.NaN(), lastErrorMs: math.NaN(),
			}
			switch {
			case len(trials) > 1 && i == 0:
				r.label = fmt.Sprintf("%s, rep %d", pt.Mode, t.Rep)
			case i > 0:
				r.label = fmt.Sprintf("rep %d", t.Rep)
			}
			if f.RecoverySeconds != nil {
				r.recoveryMs = 1000 * *f.RecoverySeconds
			}
			if f.LostRequests > 0 {
				r.lastErrorMs = 1000 * f.ErrorsForSeconds
			}
			rows = append(rows, r)
		}
	}
	return rows
}

// end is where the row's record ends, in ms from the kill.
func (r timelineRow) end() float64 { return r.startMs + float64(len(r.successes))*r.binMs }

// timelineCell is one bin of a row: from ms to ms+width from the kill.
type timelineCell struct {
	ms, width         float64
	successes, errors uint32
}

// cells are the row's bins that overlap the window [from, to).
func (r timelineRow) cells(from, to float64) []timelineCell {
	var cells []timelineCell
	for i := range r.successes {
		ms := r.startMs + float64(i)*r.binMs
		if ms+r.binMs <= from || ms >= to {
			continue
		}
		c := timelineCell{ms: ms, width: r.binMs, successes: r.successes[i]}
		if i < len(r.errors) {
			c.errors = r.errors[i]
		}
		cells = append(cells, c)
	}
	return cells
}

// The window drawn: from a little before the kill to a little after the
// later of the last error and the last replacement's first response,
// bounded so that the kill's neighbourhood never becomes a smear; what
// happens later is written beside the row (see note).
const (
	windowBeforeMs = 20
	windowAfterMs  = 30
	windowMostMs   = 300
)

// timelineWindow is the span of milliseconds from the kill that the rows
// draw.
func timelineWindow(rows []timelineRow) (from, to float64) {
	last := 0.0
	for _, r := range rows {
		for _, ms := range []float64{r.recoveryMs, r.lastErrorMs} {
			if ms <= windowMostMs-windowAfterMs { // false for NaN
				last = math.Max(last, ms)
			}
		}
	}
	return -windowBeforeMs, math.Ceil(last) + windowAfterMs
}

// note says what of the row falls after the window ends at to: "first
// response at 1612 ms →"; empty when nothing does.
func (r timelineRow) note(to float64) string {
	var parts []string
	later := false
	if r.lastErrorMs >= to {
		parts, later = append(parts, fmt.Sprintf("errors until %.0f ms", r.lastErrorMs)), true
	}
	switch {
	case r.recoveryMs >= to:
		parts, later = append(parts, fmt.Sprintf("first response at %.0f ms", r.recoveryMs)), true
	case r.respawn && math.IsNaN(r.recoveryMs):
		parts = append(parts, "no replacement served")
	}
	s := strings.Join(parts, ", ")
	if later {
		s += " →"
	}
	return s
}

// Look of the rows: each row is timelineRowHeight high, the upper strip
// for responses and the lower one for errors, so that an error never hides
// a response nor is taken for a red mode's.
var (
	errorRed          = rgb(0xd62728)
	separatorGrey     = color.Gray{Y: 0xb0}
	notRecordedGrey   = color.Gray{Y: 0xe4} // after the end of a row's record
	timelineRowHeight = 0.2 * vg.Inch
	timelinePanelRest = 1.1 * vg.Inch // the panel's title and x axis
	timelineWidth     = 10 * vg.Inch
	noteStyle         = textStyle(8)
)

// Bounds of the strips within a row, in rows.
const (
	successesBottom, successesTop = 0.42, 0.95
	errorsBottom, errorsTop       = 0.08, 0.36
)

// timelineCells draws the rows' cells, the kill, the replacements' first
// responses and the notes; row i spans y from len(rows)-1-i to one above,
// so that the first row is at the top.
type timelineCells struct {
	rows     []timelineRow
	from, to float64
	full     float64 // responses in a bin drawn at the mode's full colour
	styles   map[string]modeStyle
}

var _ plot.Plotter = timelineCells{}

func (tc timelineCells) Plot(c draw.Canvas, p *plot.Plot) {
	x, y := p.Transforms(&c)
	rect := func(col color.Color, x0, x1, y0, y1 float64) {
		var path vg.Path
		path.Move(vg.Point{X: x(x0), Y: y(y0)})
		path.Line(vg.Point{X: x(x1), Y: y(y0)})
		path.Line(vg.Point{X: x(x1), Y: y(y1)})
		path.Line(vg.Point{X: x(x0), Y: y(y1)})
		path.Close()
		c.SetColor(col)
		c.Fill(path)
	}
	n := len(tc.rows)
	for i, r := range tc.rows {
		bottom := float64(n - 1 - i)
		if i > 0 && tc.rows[i-1].mode != r.mode {
			c.StrokeLine2(draw.LineStyle{Color: separatorGrey, Width: vg.Points(0.8)}, x(p.X.Min), y(bottom+1), x(p.X.Max), y(bottom+1))
		}
		if end := r.end(); end < tc.to {
			rect(notRecordedGrey, math.Max(end, tc.from), tc.to, bottom+errorsBottom, bottom+successesTop)
		}
		col := tc.styles[r.mode].color
		for _, cell := range r.cells(tc.from, tc.to) {
			x0, x1 := math.Max(cell.ms, tc.from), math.Min(cell.ms+cell.width, tc.to)
			if cell.successes > 0 {
				rect(shade(col, float64(cell.successes)/tc.full), x0, x1, bottom+successesBottom, bottom+successesTop)
			}
			if cell.errors > 0 {
				rect(errorRed, x0, x1, bottom+errorsBottom, bottom+errorsTop)
			}
		}
		if r.recoveryMs >= tc.from && r.recoveryMs < tc.to {
			c.StrokeLine2(draw.LineStyle{Color: color.Black, Width: vg.Points(2)}, x(r.recoveryMs), y(bottom), x(r.recoveryMs), y(bottom+1))
		}
		if note := r.note(tc.to); note != "" {
			style := noteStyle
			style.YAlign = draw.YCenter
			c.FillText(style, vg.Point{X: x(tc.to) + vg.Points(4), Y: y(bottom + 0.5)}, note)
		}
	}
	c.StrokeLine2(draw.LineStyle{Color: color.Black, Width: vg.Points(1), Dashes: killDashes}, x(0), y(0), x(0), y(float64(n)))
	c.StrokeLine2(draw.LineStyle{Color: color.Black, Width: vg.Points(0.8)}, x(tc.to), y(0), x(tc.to), y(float64(n)))
}

// shade is col lightened towards white for a bin that holds a fraction of
// a full bin's responses; even one response stays clearly coloured, so
// that only an empty bin is white.
func shade(col color.Color, fraction float64) color.Color {
	a := 0.3 + 0.7*math.Min(1, fraction)
	r, g, b, _ := col.RGBA()
	mix := func(v uint32) uint8 { return uint8(math.Round(255 - a*(255-float64(v>>8)))) }
	return color.RGBA{R: mix(r), G: mix(g), B: mix(b), A: 0xff}
}

// fullBin is the count of responses a bin shows at the mode's full
// colour: the 95th percentile of the bins that hold any in the window, so
// that one burst after a gap does not pale every other bin.
func fullBin(rows []timelineRow, from, to float64) float64 {
	var counts []float64
	for _, r := range rows {
		for _, c := range r.cells(from, to) {
			if c.successes > 0 {
				counts = append(counts, float64(c.successes))
			}
		}
	}
	if len(counts) == 0 {
		return 1
	}
	slices.Sort(counts)
	return counts[int(0.95*float64(len(counts)-1))]
}

// rowTicks label the rows on the y axis.
type rowTicks []plot.Tick

func (t rowTicks) Ticks(float64, float64) []plot.Tick { return t }

// windowTicks label the window about ten times at a round step, with
// minor ticks to count milliseconds by, and leave the notes beside it
// bare.
type windowTicks struct{ to float64 }

func (w windowTicks) Ticks(lo, _ float64) []plot.Tick {
	step := 100.0
	for _, s := range []float64{5, 10, 20, 25, 50} {
		if (w.to-lo)/s <= 12 {
			step = s
			break
		}
	}
	minor := step / 5
	var ticks []plot.Tick
	for v := math.Ceil(lo/minor) * minor; v <= w.to; v += minor {
		t := plot.Tick{Value: v}
		if math.Mod(v, step) == 0 {
			t.Label = strconv.FormatFloat(v, 'f', -1, 64)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// timelinePanel draws a condition's rows (timelineRows) within its window; a strip right
// of the window holds the notes of rows with something later.
func timelinePanel(c *analysis.Condition, rows []timelineRow, styles map[string]modeStyle) *plot.Plot {
	from, to := timelineWindow(rows)
	p := plot.New()
	p.Title.Text = conditionTitle(c)
	p.Title.TextStyle.Font.Size = vg.Points(11)
	p.X.Label.Text = "milliseconds from the kill (1 cell = 1 ms)"
	p.X.Tick.Marker = windowTicks{to: to}
	p.X.Min, p.X.Max = from, to
	for _, r := range rows {
		if r.note(to) != "" {
			p.X.Max = to + 0.45*(to-from) // room for "errors until 1932 ms, first response at 1933 ms →"
			break
		}
	}
	ticks := make(rowTicks, len(rows))
	for i, r := range rows {
		ticks[i] = plot.Tick{Value: float64(len(rows)-1-i) + 0.5, Label: r.label}
	}
	p.Y.Tick.Marker = ticks
	p.Y.Min, p.Y.Max = 0, float64(max(1, len(rows)))
	grid := plotter.NewGrid()
	grid.Horizontal.Color = nil
	grid.Vertical.Color = color.Gray{Y: 0xe0}
	p.Add(grid, timelineCells{rows: rows, from: from, to: to, full: fullBin(rows, from, to), styles: styles})
	return p
}

// timelineFigure is the fault figure of a record with timelines: one
// panel per condition with a fault, stacked, each as wide as a page so
// that a millisecond is a few pixels even in the widest window. The
// legend names what the panels draw, no more.
func timelineFigure(exp string, conds []*analysis.Condition, styles map[string]modeStyle) *figure {
	f := &figure{title: exp + ": each repetition's responses and errors per millisecond around the kill", cols: 1}
	most, respawn, cut := 1, false, false
	for _, c := range conds {
		if !analysis.HasFault([]*analysis.Condition{c}) {
			continue
		}
		rows := timelineRows(c)
		_, to := timelineWindow(rows)
		for _, r := range rows {
			respawn = respawn || r.respawn
			cut = cut || r.end() < to
		}
		f.panels = append(f.panels, timelinePanel(c, rows, styles))
		most = max(most, len(rows))
	}
	f.legend = append(modeLegend(conds, styles, false),
		legendEntry{label: "errors", color: errorRed},
		legendEntry{label: "the kill", color: color.Black, glyph: noGlyph{}, dashes: killDashes})
	if respawn {
		f.legend = append(f.legend, legendEntry{label: "a replacement's first response", mark: "|"})
	}
	if cut {
		f.legend = append(f.legend, legendEntry{label: "not recorded", color: notRecordedGrey})
	}
	f.panelSize = vg.Point{X: timelineWidth, Y: vg.Length(most)*timelineRowHeight + timelinePanelRest}
	return f
}
