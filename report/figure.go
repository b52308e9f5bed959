package report

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
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
}

// legendEntry is a colour swatch, or a marker on a line when glyph is set.
type legendEntry struct {
	label  string
	color  color.Color
	glyph  draw.GlyphDrawer
	dashes []vg.Length
}

// Sizes, at figureDPI, chosen so that two panels side by side read well at
// the width of a rendered Markdown page.
const (
	figureDPI     = 96
	panelWidth    = 6 * vg.Inch
	panelHeight   = 4 * vg.Inch
	titleHeight   = 0.45 * vg.Inch
	legendRow     = 0.3 * vg.Inch
	legendSwatch  = 0.35 * vg.Inch
	legendGap     = 0.25 * vg.Inch
	figureMargin  = 0.15 * vg.Inch
	legendPadding = 0.1 * vg.Inch
)

var (
	titleStyle  = textStyle(14)
	legendStyle = textStyle(11)
)

func textStyle(size vg.Length) text.Style {
	return text.Style{Color: color.Black, Font: font.From(plot.DefaultFont, size), Handler: plot.DefaultTextHandler}
}

// size returns the figure's width and height.
func (f *figure) size() (vg.Length, vg.Length) {
	rows := (len(f.panels) + f.cols - 1) / f.cols
	width := vg.Length(f.cols) * panelWidth
	return width, titleHeight + vg.Length(len(f.legendRows(width)))*legendRow + vg.Length(rows)*panelHeight
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

	title := titleStyle
	title.XAlign, title.YAlign = draw.XCenter, draw.YCenter
	// A long experiment name must not push the title off the image.
	if w, room := title.Width(f.title), width-2*figureMargin; w > room {
		title.Font.Size = title.Font.Size * room / w
	}
	dc.FillText(title, vg.Point{X: width / 2, Y: height - titleHeight/2}, f.title)

	top := height - titleHeight
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
		if e.glyph != nil {
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

// palette tells up to ten modes apart (Tableau 10, chosen for contrast and
// for readers with colour-vision deficiencies); beyond ten, colours repeat
// with another marker and dash.
var palette = []color.Color{
	rgb(0x4e79a7), rgb(0xf28e2b), rgb(0xe15759), rgb(0x76b7b2), rgb(0x59a14f),
	rgb(0xedc948), rgb(0xb07aa1), rgb(0xff9da7), rgb(0x9c755f), rgb(0x79706e),
}

var glyphs = []draw.GlyphDrawer{
	draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.PlusGlyph{}, draw.CrossGlyph{},
	draw.RingGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{},
}

var dashes = [][]vg.Length{nil, {vg.Points(6), vg.Points(3)}, {vg.Points(2), vg.Points(2)}}

func rgb(hex uint32) color.Color {
	return color.RGBA{R: uint8(hex >> 16), G: uint8(hex >> 8), B: uint8(hex), A: 0xff}
}

// modeStyle is the look of the i-th mode of a run, the same in every figure.
type modeStyle struct {
	color  color.Color
	glyph  draw.GlyphDrawer
	dashes []vg.Length
}

func styleOf(i int) modeStyle {
	return modeStyle{
		color:  palette[i%len(palette)],
		glyph:  glyphs[i%len(glyphs)],
		dashes: dashes[(i/len(palette))%len(dashes)],
	}
}
