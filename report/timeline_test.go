package report

import (
	"bytes"
	"image/color"
	"image/png"
	"math"
	"slices"
	"strings"
	"testing"

	"clusterbench/analysis"
	"clusterbench/results"
)

// timelineTrial is faultTrial with a millisecond timeline from startMs
// around the kill: 4 responses a millisecond, none from 3 to 6 ms after
// the kill, and 2 errors at 3 ms.
func timelineTrial(mode string, rep int, startMs float64) results.Trial {
	t := faultTrial(mode, rep, 2, "reset", ptr(0.02))
	tl := &results.Timeline{StartMs: startMs, BinMs: 1, Successes: make([]uint32, 200), Errors: make([]uint32, 200)}
	first := int(math.Round(startMs)) // the first bin's nearest whole ms
	for i := range tl.Successes {
		if ms := first + i; ms < 3 || ms >= 6 {
			tl.Successes[i] = 4
		}
	}
	tl.Errors[3-first] = 2
	t.Fault.Timeline = tl
	return t
}

func timelineConditions(trials ...results.Trial) []*analysis.Condition {
	return analysis.Conditions(analysis.Points(&results.Run{Schema: results.Schema, Complete: true, Trials: trials}))
}

// A gap of 3 ms without a response is three empty cells in each
// repetition's row, wherever in its first bin its kill fell, and nowhere
// else; the errors are where they happened.
func TestTimelineCellsShowAGapOfThreeMilliseconds(t *testing.T) {
	rows := timelineRows(timelineConditions(timelineTrial("reuseport", 1, -100.4), timelineTrial("reuseport", 2, -99.8))[0])
	if len(rows) != 2 {
		t.Fatalf("%d rows; want one per repetition", len(rows))
	}
	for _, r := range rows {
		cells := r.cells(-20, 30)
		if len(cells) != 50 || cells[0].ms != -20 || cells[49].ms != 29 {
			t.Fatalf("%s: %d cells from %v; want 50 from -20 to 29 ms", r.label, len(cells), cells[0].ms)
		}
		for _, c := range cells {
			gap := c.ms >= 3 && c.ms < 6
			if (c.successes == 0) != gap {
				t.Errorf("%s: %v responses at %v ms; want none exactly from 3 to 6 ms", r.label, c.successes, c.ms)
			}
			if want := map[bool]uint32{true: 2}[c.ms == 3]; c.errors != want {
				t.Errorf("%s: %v errors at %v ms; want %v", r.label, c.errors, c.ms, want)
			}
		}
	}
	// An empty cell is not drawn; the palest drawn one is not white.
	if c := shade(styleOf("reuseport").color, 1.0/50); c == (color.RGBA{R: 255, G: 255, B: 255, A: 255}) {
		t.Errorf("one response in 50 shaded white")
	}
	if c := shade(styleOf("reuseport").color, 2); c != styleOf("reuseport").color {
		t.Errorf("a full bin shaded %v; want the mode's colour %v", c, styleOf("reuseport").color)
	}
}

// The window zooms to the kill's neighbourhood and what happens in it,
// bounded; what happens later is a note beside the row.
func TestTimelineWindow(t *testing.T) {
	nan := math.NaN()
	for _, tt := range []struct {
		name                    string
		recoveryMs, lastErrorMs float64
		respawn                 bool
		to                      float64
		note                    string
	}{
		{"nothing happens", nan, nan, false, 30, ""},
		{"errors, then a replacement", 20.3, 12, true, 51, ""},
		{"errors last longer", 20, 41.5, true, 72, ""},
		{"at the bound", 270, nan, true, 300, ""},
		{"past the bound", 290, nan, true, 30, "first response at 290 ms →"},
		{"a late first response", 1612.4, nan, true, 30, "first response at 1612 ms →"},
		{"errors beyond the bound", 30, 405, true, 60, "errors until 405 ms →"},
		{"both late", 1933, 1932, true, 30, "errors until 1932 ms, first response at 1933 ms →"},
		{"never replaced", nan, 8, true, 38, "no replacement served"},
		{"not meant to be replaced", nan, 2013, false, 30, "errors until 2013 ms →"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := timelineRow{recoveryMs: tt.recoveryMs, lastErrorMs: tt.lastErrorMs, respawn: tt.respawn}
			quiet := timelineRow{recoveryMs: nan, lastErrorMs: nan} // nothing to say
			from, to := timelineWindow([]timelineRow{quiet, r})
			if from != -20 || to != tt.to {
				t.Errorf("window %v to %v ms; want -20 to %v", from, to, tt.to)
			}
			if got := r.note(to); got != tt.note {
				t.Errorf("note %q; want %q", got, tt.note)
			}
			if got := quiet.note(to); got != "" {
				t.Errorf("a quiet row has note %q", got)
			}
		})
	}
}

// One row per mode and repetition, grouped by mode in the condition's
// order, repetitions in order, the mode named once.
func TestTimelineRowsPerModeAndRepetition(t *testing.T) {
	conds := timelineConditions(
		timelineTrial("reuseport", 3, -100), timelineTrial("shared:race", 1, -100), timelineTrial("reuseport", 1, -100),
		timelineTrial("shared:race", 2, -100), timelineTrial("reuseport", 2, -100), timelineTrial("haproxy:roundrobin", 1, -100))
	var order []string
	for _, p := range conds[0].Points {
		order = append(order, p.Mode)
	}
	want := map[string][]string{
		"reuseport":          {"reuseport, rep 1", "rep 2", "rep 3"},
		"shared:race":        {"shared:race, rep 1", "rep 2"},
		"haproxy:roundrobin": {"haproxy:roundrobin"},
	}
	var labels, wantLabels []string
	for _, r := range timelineRows(conds[0]) {
		labels = append(labels, r.label)
	}
	for _, m := range order {
		wantLabels = append(wantLabels, want[m]...)
	}
	if !slices.Equal(labels, wantLabels) {
		t.Errorf("rows %q; want %q", labels, wantLabels)
	}
}

// With timelines in the record the fault figure has a panel of rows per
// condition, in milliseconds from the kill, and says so; one trial
// without a timeline keeps the whole figure per second
// (TestFaultReportFollowsTheData).
func TestFaultFigureFromTimelines(t *testing.T) {
	ka := timelineTrial("reuseport", 1, -100.7)
	ka.KeepAlive = !ka.KeepAlive
	r := &results.Run{Schema: results.Schema, Complete: true, Trials: []results.Trial{
		timelineTrial("roundrobin:free", 1, -100.2), timelineTrial("reuseport", 1, -100.7), ka,
	}}
	conds := analysis.Conditions(analysis.Points(r))
	styles := modeStyles(analysis.Points(r))
	f := faultFigure("e", conds, styles)
	if len(f.panels) != 2 || f.panels[0].X.Label.Text != "milliseconds from the kill (1 cell = 1 ms)" || f.panels[0].X.Min != -20 || f.panels[0].X.Max != 50 {
		t.Fatalf("%d panels, x %q from %v to %v; want one per condition, in ms from the kill, -20 to 50", len(f.panels), f.panels[0].X.Label.Text, f.panels[0].X.Min, f.panels[0].X.Max)
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if want := "![e: one row per mode and repetition, one cell per millisecond from the kill"; !strings.Contains(md.String(), want) {
		t.Errorf("report lacks %q", want)
	}
	plots := Plots(r)
	img, err := png.Decode(bytes.NewReader(must(plots[len(plots)-1].Render())))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []color.Color{styles["roundrobin:free"].color, styles["reuseport"].color, errorRed} {
		if !hasColour(img, c) {
			t.Errorf("fault plot has no cell in %v", c)
		}
	}

	// The legend names what the panels draw: ticks where a replacement was
	// meant to come, grey where a record ends within the window.
	legend := func(f *figure) (labels []string) {
		for _, e := range f.legend {
			labels = append(labels, e.label)
		}
		return labels
	}
	if got := legend(f); !slices.Contains(got, "a replacement's first response") || slices.Contains(got, "not recorded") {
		t.Errorf("legend %q; want a replacement's first response, and nothing unrecorded", got)
	}
	gone := timelineTrial("shared:race", 1, -100)
	gone.Fault.Respawn, gone.Fault.RecoverySeconds = false, nil
	gone.Fault.Timeline.Successes, gone.Fault.Timeline.Errors = gone.Fault.Timeline.Successes[:110], gone.Fault.Timeline.Errors[:110]
	if got := legend(faultFigure("e", timelineConditions(gone), styles)); slices.Contains(got, "a replacement's first response") || !slices.Contains(got, "not recorded") {
		t.Errorf("legend %q; want no replacement, and what was not recorded", got)
	}

	r.Trials[1].Fault.Timeline = nil
	if f := faultFigure("e", analysis.Conditions(analysis.Points(r)), modeStyles(analysis.Points(r))); f.panels[0].X.Label.Text != "seconds into the measured load" {
		t.Errorf("x %q; want seconds into the measured load", f.panels[0].X.Label.Text)
	}
}

// In the rendered PNG the gap is a run of white across three cells of
// the row, the only white run between its first and last response within
// the window: what a person sees.
func TestTimelineGapIsWhiteInThePNG(t *testing.T) {
	tr := timelineTrial("reuseport", 1, -100)
	tr.Fault.RecoverySeconds = nil // no tick in the row
	f := faultFigure("e", timelineConditions(tr), modeStyles(analysis.Points(&results.Run{Trials: []results.Trial{tr}})))
	var buf bytes.Buffer
	if err := f.writePNG(&buf); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	mode := color.RGBAModel.Convert(styleOf("reuseport").color).(color.RGBA)
	white := color.RGBA{R: 255, G: 255, B: 255, A: 255}
	// The pixel row with the most of the mode's colour crosses the cells.
	b := img.Bounds()
	best, most := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		n := 0
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)) == mode {
				n++
			}
		}
		if n > most {
			best, most = y, n
		}
	}
	var first, last int
	for x := b.Min.X; x < b.Max.X; x++ {
		if color.RGBAModel.Convert(img.At(x, best)) == mode {
			if first == 0 {
				first = x
			}
			last = x
		}
	}
	var runs []int // widths of white runs between first and last
	run := 0
	for x := first; x <= last; x++ {
		if color.RGBAModel.Convert(img.At(x, best)) == white {
			run++
			continue
		}
		if run > 0 {
			runs, run = append(runs, run), 0
		}
	}
	from, to := timelineWindow(timelineRows(timelineConditions(tr)[0]))
	cell := float64(last-first+1) / (to - from)
	if len(runs) != 1 || math.Abs(float64(runs[0])-3*cell) > 2 {
		t.Errorf("white runs %v px in the row; want one of 3 cells, %.0f px", runs, 3*cell)
	}
}
