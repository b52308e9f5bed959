package report

import (
	"bytes"
	"image/png"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"

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

// A gap of 3 ms without a response shows in the steps drawn: the median
// of the repetitions, each placed at its own kill.
func TestTimelineStepsShowAGapOfThreeMilliseconds(t *testing.T) {
	a, b := timelineTrial("reuseport", 1, -100.4), timelineTrial("reuseport", 2, -99.8)
	b.Fault.RecoverySeconds = ptr(0.03)
	pt := &analysis.Point{Trials: []*results.Trial{&a, &b}}
	steps, recovery := timelineSteps(pt, func(tl *results.Timeline) []uint32 { return tl.Successes })
	at := map[float64]float64{}
	for _, xy := range steps {
		at[xy.X] = xy.Y
	}
	for ms, want := range map[float64]float64{-100: 4, 2: 4, 3: 0, 4: 0, 5: 0, 6: 4, 99: 4} {
		if got, ok := at[ms]; !ok || got != want {
			t.Errorf("at %v ms: %v responses per ms (drawn %v); want %v", ms, got, ok, want)
		}
	}
	if last := steps[len(steps)-1]; last.X != 100 {
		t.Errorf("steps end at %v ms; want 100, the end of the last bin", last.X)
	}
	if recovery.N != 2 || recovery.Median != 25 {
		t.Errorf("recovery %+v; want the median of 20 and 30 ms", recovery)
	}
	errs, _ := timelineSteps(pt, func(tl *results.Timeline) []uint32 { return tl.Errors })
	if errs[103] != (plotter.XY{X: 3, Y: 2}) {
		t.Errorf("errors at 3 ms drawn as %v; want 2", errs[103])
	}
}

// With timelines in the record the fault figure is drawn in milliseconds
// from the kill and says so; older records keep the per-second figure
// (TestFaultReportFollowsTheData).
func TestFaultFigureFromTimelines(t *testing.T) {
	r := &results.Run{Schema: results.Schema, Complete: true, Trials: []results.Trial{
		timelineTrial("roundrobin:free", 1, -100.2), timelineTrial("reuseport", 1, -100.7),
	}}
	conds := analysis.Conditions(analysis.Points(r))
	styles := modeStyles(analysis.Points(r))
	f := faultFigure("e", conds, styles)
	if len(f.panels) != 2 || f.panels[0].X.Label.Text != "milliseconds from the kill" || f.panels[0].X.Min > -99 || f.panels[0].X.Max < 100 {
		t.Fatalf("%d panels, x %q from %v to %v; want successes and errors in ms from the kill, -100 to 100", len(f.panels), f.panels[0].X.Label.Text, f.panels[0].X.Min, f.panels[0].X.Max)
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if want := "![e: successful responses and errors per millisecond around the kill"; !strings.Contains(md.String(), want) {
		t.Errorf("report lacks %q", want)
	}
	plots := Plots(r)
	img, err := png.Decode(bytes.NewReader(must(plots[len(plots)-1].Render())))
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"roundrobin:free", "reuseport"} {
		if !hasColour(img, styles[mode].color) {
			t.Errorf("fault plot has no line in %s's colour", mode)
		}
	}

	// One trial without a timeline: the whole figure stays per second,
	// so that no condition is drawn on another scale.
	r.Trials[1].Fault.Timeline = nil
	if f := faultFigure("e", analysis.Conditions(analysis.Points(r)), modeStyles(analysis.Points(r))); f.panels[0].X.Label.Text != "seconds into the measured load" {
		t.Errorf("x %q; want seconds into the measured load", f.panels[0].X.Label.Text)
	}
}
