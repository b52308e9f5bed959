package report

import (
	"fmt"
	"image/color"
	"io"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"clusterbench/modes"
)

// A figure is one PNG: a title, one legend for all its panels, and the
// panels in a grid. The legend has a strip of its own above the panels, so
// it never covers data, and it is shared because a mode has the same colour
// in every panel.
type figure struct {
	title  string
	legend []legendEntry
	panels []*plot.Plot // nil leaves a tile empty
	cols   int
	// panelSize is a panel's width and height when its content needs
	// another size (a row per repetition); zero: panelWidth by panelHeight.
	panelSize vg.Point
}

// legendEntry is a colour swatch, a marker on a line when glyph is set,
// or a text mark drawn in the panels (mark).
type legendEntry struct {
	label  string
	color  color.Color
	glyph  draw.GlyphDrawer
	dashes []vg.Length
	mark   string
}

// Sizes, at figureDPI, chosen so that two panels side by side read well at
// the width of a rendered Markdown page.
const (
	figureDPI     = 96
	panelWidth    = 6 * vg.Inch
	panelHeight   = 4 * vg.Inch
	titleLine     = 0.27 * vg.Inch // one line of the title
	titlePadding  = 0.18 * vg.Inch // above and below the title's lines
	legendRow     = 0.3 * vg.Inch
	legendSwatch  = 0.35 * vg.Inch
	legendGap     = 0.25 * vg.Inch
	figureMargin  = 0.15 * vg.Inch
	legendPadding = 0.1 * vg.Inch
)

var (
	titleStyle  = textStyle(14)
	legendStyle = textStyle(11)
	markStyle   = textStyle(12)
)

func textStyle(size vg.Length) text.Style {
	return text.Style{Color: color.Black, Font: font.From(plot.DefaultFont, size), Handler: plot.DefaultTextHandler}
}

// size returns the figure's width and height.
func (f *figure) size() (vg.Length, vg.Length) {
	rows := (len(f.panels) + f.cols - 1) / f.cols
	panel := f.panelSize
	if panel == (vg.Point{}) {
		panel = vg.Point{X: panelWidth, Y: panelHeight}
	}
	width := vg.Length(f.cols) * panel.X
	return width, f.titleHeight(width) + vg.Length(len(f.legendRows(width)))*legendRow + vg.Length(rows)*panel.Y
}

func (f *figure) titleHeight(width vg.Length) vg.Length {
	_, lines := f.titleLayout(width)
	return titlePadding + vg.Length(len(lines))*titleLine
}

// titleLayout breaks the title into lines that fit the figure's width: a
// one-panel figure is narrow, and a title shrunk to fit on one line
// becomes hard to read. A title that does not fit breaks before its
// parenthesis, then between words; only a word wider than the figure
// (a long experiment name) makes the font smaller.
func (f *figure) titleLayout(width vg.Length) (text.Style, []string) {
	style := titleStyle
	room := width - 2*figureMargin
	if style.Width(f.title) <= room {
		return style, []string{f.title}
	}
	parts := []string{f.title}
	if head, rest, ok := strings.Cut(f.title, " ("); ok && head != "" {
		parts = []string{head, "(" + rest}
	}
	var lines []string
	for _, part := range parts {
		lines = append(lines, wrapWords(part, style, room)...)
	}
	widest := vg.Length(0)
	for _, l := range lines {
		widest = max(widest, style.Width(l))
	}
	if widest > room {
		style.Font.Size = style.Font.Size * room / widest
	}
	return style, lines
}

// wrapWords fills lines with words up to room wide; a word wider than
// room has a line of its own.
func wrapWords(s string, style text.Style, room vg.Length) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && style.Width(line+" "+word) > room {
			lines, line = append(lines, line), ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// legendRows flows the legend entries into rows that fit the width.
func (f *figure) legendRows(width vg.Length) [][]legendEntry {
	var rows [][]legendEntry
	var row []legendEntry
	x := figureMargin
	for _, e := range f.legend {
		w := legendSwatch + legendPadding + legendStyle.Width(e.label) + legendGap
		if len(row) > 0 && x+w > width-figureMargin {
			rows, row, x = append(rows, row), nil, figureMargin
		}
		row = append(row, e)
		x += w
	}
	if len(row) > 0 {
		rows = append(rows, row)
	}
	return rows
}

// writePNG draws the figure and writes it as PNG.
func (f *figure) writePNG(w io.Writer) error {
	if f.cols < 1 || len(f.panels) == 0 {
		return fmt.Errorf("figure %q has no panels", f.title)
	}
	width, height := f.size()
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(figureDPI), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)

	title, lines := f.titleLayout(width)
	title.XAlign, title.YAlign = draw.XCenter, draw.YCenter
	for i, line := range lines {
		dc.FillText(title, vg.Point{X: width / 2, Y: height - titlePadding/2 - (vg.Length(i)+0.5)*titleLine}, line)
	}

	top := height - f.titleHeight(width)
	for _, row := range f.legendRows(width) {
		f.drawLegendRow(dc, row, top-legendRow/2)
		top -= legendRow
	}

	rows := (len(f.panels) + f.cols - 1) / f.cols
	grid := make([][]*plot.Plot, rows)
	for r := range grid {
		grid[r] = make([]*plot.Plot, f.cols)
		for c := range grid[r] {
			if i := r*f.cols + c; i < len(f.panels) {
				grid[r][c] = f.panels[i]
			}
		}
	}
	panelsArea := draw.Crop(dc, 0, 0, 0, top-height)
	tiles := draw.Tiles{Rows: rows, Cols: f.cols, PadX: vg.Inch / 4, PadY: vg.Inch / 4,
		PadTop: figureMargin, PadBottom: figureMargin, PadLeft: figureMargin, PadRight: figureMargin}
	canvases := plot.Align(grid, tiles, panelsArea)
	for r := range grid {
		for c, p := range grid[r] {
			if p != nil {
				p.Draw(canvases[r][c])
			}
		}
	}
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

func (f *figure) drawLegendRow(dc draw.Canvas, row []legendEntry, y vg.Length) {
	x := figureMargin
	for _, e := range row {
		if e.mark != "" {
			style := markStyle
			style.XAlign, style.YAlign = draw.XCenter, draw.YCenter
			dc.FillText(style, vg.Point{X: x + legendSwatch/2, Y: y}, e.mark)
		} else if e.glyph != nil {
			line := draw.LineStyle{Color: e.color, Width: vg.Points(1.5), Dashes: e.dashes}
			dc.StrokeLine2(line, x, y, x+legendSwatch, y)
			dc.DrawGlyph(draw.GlyphStyle{Color: e.color, Radius: vg.Points(3.5), Shape: e.glyph}, vg.Point{X: x + legendSwatch/2, Y: y})
		} else {
			h := legendRow / 2
			dc.SetColor(e.color)
			dc.Fill(vg.Path{
				{Type: vg.MoveComp, Pos: vg.Point{X: x, Y: y - h/2}},
				{Type: vg.LineComp, Pos: vg.Point{X: x + legendSwatch, Y: y - h/2}},
				{Type: vg.LineComp, Pos: vg.Point{X: x + legendSwatch, Y: y + h/2}},
				{Type: vg.LineComp, Pos: vg.Point{X: x, Y: y + h/2}},
				{Type: vg.CloseComp},
			})
		}
		style := legendStyle
		style.YAlign = draw.YCenter
		dc.FillText(style, vg.Point{X: x + legendSwatch + legendPadding, Y: y}, e.label)
		x += legendSwatch + legendPadding + legendStyle.Width(e.label) + legendGap
	}
}

// glyphs mark a mode's points; a mode's number in the registry picks one.
// In this order a mode's default policy (shared:race, reuseport,
// roundrobin:free) gets a filled marker and its other policies the hollow
// one of the same shape (Box and Pyramid are the filled ones).
var glyphs = []draw.GlyphDrawer{
	draw.CircleGlyph{}, draw.RingGlyph{}, draw.CrossGlyph{}, draw.BoxGlyph{}, draw.SquareGlyph{},
	draw.PyramidGlyph{}, draw.TriangleGlyph{}, draw.PlusGlyph{},
}

// unknownDashes draws the lines of a mode the registry does not know, so
// that a spare colour is not taken for a registered mode's.
var unknownDashes = []vg.Length{vg.Points(6), vg.Points(3)}

func rgb(hex uint32) color.Color {
	return color.RGBA{R: uint8(hex >> 16), G: uint8(hex >> 8), B: uint8(hex), A: 0xff}
}

// modeStyle is the look of a mode, the same in every figure of every report.
type modeStyle struct {
	color  color.Color
	glyph  draw.GlyphDrawer
	dashes []vg.Length
}

// styleOf is a mode label's look: its colour from the registry, whatever
// other modes the run holds, and a marker by its number there.
func styleOf(label string) modeStyle {
	c, n := modes.Look(label)
	s := modeStyle{color: c, glyph: glyphs[n%len(glyphs)]}
	if n >= modes.Known() {
		s.dashes = unknownDashes
	}
	return s
}
