package report

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// Every plot of the fixture is a valid PNG of the size its layout gives,
// and it has its data drawn on it.
func TestPlotsAreValidPNGs(t *testing.T) {
	r := fixture(t)
	plots := Plots(r)
	// Two experiments, five figures each, named after the experiment.
	want := []string{
		"quick-throughput.png", "quick-share.png", "quick-latency.png", "quick-cpu.png", "quick-cpu-per-request.png",
		"open-loop-throughput.png", "open-loop-share.png", "open-loop-latency.png", "open-loop-cpu.png", "open-loop-cpu-per-request.png",
	}
	if len(plots) != len(want) {
		t.Fatalf("%d plots; want %d", len(plots), len(want))
	}
	// At 96 dpi a panel is 6 × 4 inches (576 × 384 px), two to a row; a
	// title of one line takes 0.45 in (43 px), each more line 0.27 in (26
	// px), and each legend row 0.3 in (29 px). One panel's width holds
	// these titles on two lines.
	sizes := map[string]image.Point{
		"quick-throughput.png":          {1152, 456}, // 2 conditions, 4 modes and the † mark: one legend row
		"quick-share.png":               {1152, 840}, // 2 conditions × (requests, connections)
		"quick-latency.png":             {1152, 456}, //
		"quick-cpu.png":                 {1152, 456}, // 4 roles and the CPU line: one legend row
		"quick-cpu-per-request.png":     {1152, 456}, //
		"open-loop-throughput.png":      {576, 482},  // one condition: one panel; the offered rate in the legend
		"open-loop-share.png":           {1152, 456}, // requests and connections
		"open-loop-latency.png":         {576, 482},  //
		"open-loop-cpu.png":             {576, 511},  // the legend needs two rows in one panel's width
		"open-loop-cpu-per-request.png": {576, 482},  //
	}
	for i, p := range plots {
		if p.File != want[i] {
			t.Errorf("plot %d is %s; want %s", i, p.File, want[i])
		}
		data, err := p.Render()
		if err != nil {
			t.Fatalf("%s: %v", p.File, err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: not a PNG: %v", p.File, err)
		}
		if got := img.Bounds().Size(); got != sizes[p.File] {
			t.Errorf("%s is %v; want %v", p.File, got, sizes[p.File])
		}
		if colours := distinctColours(img); colours < 20 {
			t.Errorf("%s has %d colours: nothing is drawn on it", p.File, colours)
		}
		again, _ := p.Render()
		if !bytes.Equal(data, again) {
			t.Errorf("%s: two renderings differ; report DIR could not reproduce it", p.File)
		}
	}

	// Each mode's bar is drawn in that mode's colour.
	img, _ := png.Decode(bytes.NewReader(must(plots[0].Render())))
	for _, mode := range []string{"shared", "reuseport", "roundrobin:free", "iptables:nth"} {
		if !hasColour(img, styleOf(mode).color) {
			t.Errorf("throughput plot has no bar in %s's colour", mode)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func distinctColours(img image.Image) int {
	seen := map[color.RGBA]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			seen[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)] = true
		}
	}
	return len(seen)
}

func hasColour(img image.Image, c color.Color) bool {
	want := color.RGBAModel.Convert(c).(color.RGBA)
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)).(color.RGBA) == want {
				return true
			}
		}
	}
	return false
}
