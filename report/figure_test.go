package report

import (
	"fmt"
	"image/color"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"

	"clusterbench/analysis"
	"clusterbench/results"
)

// Every title of every figure of every committed reference run fits its
// figure at the title's own size, one panel wide included.
func TestTitlesFitTheFigure(t *testing.T) {
	runs := referenceRunPaths(t)
	for _, path := range runs {
		r, err := results.Read(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range Plots(r) {
			f := p.figure()
			width, _ := f.size()
			style, lines := f.titleLayout(width)
			if style.Font.Size != titleStyle.Font.Size {
				t.Errorf("%s/%s: title shrunk to %v from %v", filepath.Base(filepath.Dir(path)), p.File, style.Font.Size, titleStyle.Font.Size)
			}
			if got := strings.Join(lines, " "); got != f.title {
				t.Errorf("%s: title's lines read %q; want %q", p.File, got, f.title)
			}
			for _, l := range lines {
				if w := style.Width(l); w > width-2*figureMargin {
					t.Errorf("%s/%s: title line %q is %.0f wide, the figure %.0f", filepath.Base(filepath.Dir(path)), p.File, l, w, width)
				}
			}
		}
	}
}

// A title breaks before its parenthesis, then between words, and only a
// word wider than the figure makes the font smaller.
func TestTitleLayout(t *testing.T) {
	width := panelWidth
	long := strings.Repeat("x", 120)
	for _, tt := range []struct {
		title  string
		lines  int
		shrunk bool
	}{
		{"short", 1, false},
		{"slow-respawn: throughput (median of repetitions; bars span the lowest to the highest)", 2, false},
		{strings.Repeat("word ", 40), 4, false},
		{long + ": throughput", 2, true},
	} {
		style, lines := (&figure{title: tt.title}).titleLayout(width)
		if len(lines) != tt.lines || (style.Font.Size < titleStyle.Font.Size) != tt.shrunk {
			t.Errorf("%q: %d lines %q at %v; want %d, shrunk %v", tt.title, len(lines), lines, style.Font.Size, tt.lines, tt.shrunk)
		}
		for _, l := range lines {
			if w := style.Width(l); w > width-2*figureMargin+1e-9 {
				t.Errorf("%q: line %q is %.0f wide in %.0f", tt.title, l, w, width)
			}
		}
	}
}

// legendColours is the colour of each mode in a figure's legend.
func legendColours(f *figure) map[string]color.Color {
	out := map[string]color.Color{}
	for _, e := range f.legend {
		out[e.label] = e.color
	}
	return out
}

// A mode has the same colour in runs of different modes, in whatever order
// they ran, and no two modes of a run share one.
func TestModeColourIsTheSameInEveryRun(t *testing.T) {
	runA := &results.Run{Trials: []results.Trial{trial("shared", 1, 100, 1, 1), trial("roundrobin:free", 1, 100, 1, 1)}}
	runB := &results.Run{Trials: []results.Trial{trial("iptables:nth", 1, 100, 1, 1), trial("reuseport", 1, 100, 1, 1), trial("roundrobin:free", 1, 100, 1, 1)}}
	// trial puts the label in Mode; records keep the policy apart.
	for _, r := range []*results.Run{runA, runB} {
		for i := range r.Trials {
			r.Trials[i].Mode, r.Trials[i].Policy, _ = strings.Cut(r.Trials[i].Mode, ":")
		}
	}
	a, b := legendColours(Plots(runA)[0].figure()), legendColours(Plots(runB)[0].figure())
	if a["roundrobin:free"] == nil || a["roundrobin:free"] != b["roundrobin:free"] {
		t.Errorf("roundrobin:free is %v in one run and %v in another", a["roundrobin:free"], b["roundrobin:free"])
	}
	seen := map[color.Color]string{}
	for mode, c := range b {
		if other, ok := seen[c]; ok {
			t.Errorf("%s and %s share colour %v", mode, other, c)
		}
		seen[c] = mode
	}
}

// boundRun is a closed-loop run of two modes in which the load generator
// limited boundReps of shared's two repetitions.
func boundRun(boundReps int) *results.Run {
	r := &results.Run{}
	for rep := 1; rep <= 2; rep++ {
		s, p := trial("shared", rep, 1000, 5, 5), trial("reuseport", rep, 900, 5, 5)
		s.LoadgenBound = rep <= boundReps
		r.Trials = append(r.Trials, s, p)
	}
	return r
}

// Bars of trials the load generator limited are marked, with the number of
// repetitions when not all, and the legend says what the mark means.
func TestLoadgenBoundBarsAreMarked(t *testing.T) {
	for _, tt := range []struct {
		boundReps int
		label     string // shared's mark, "" for none
	}{{0, ""}, {1, "† 1/2"}, {2, "†"}} {
		t.Run(fmt.Sprint(tt.boundReps), func(t *testing.T) {
			conds := analysis.Conditions(analysis.Points(boundRun(tt.boundReps)))
			marks := throughputMarks(conds[0], 0)
			if len(marks) != 2 || marks[1].loadgenBound != 0 {
				t.Fatalf("marks %+v; want shared, then reuseport unbound", marks)
			}
			got := ""
			if marks[0].loadgenBound > 0 {
				got = boundLabel(marks[0])
			}
			if got != tt.label {
				t.Errorf("shared is marked %q; want %q", got, tt.label)
			}
			explained := false
			for _, e := range throughputFigure("e", conds, modeStyles(analysis.Points(boundRun(tt.boundReps)))).legend {
				explained = explained || e.mark == plotBoundMark
			}
			if explained != (tt.label != "") {
				t.Errorf("legend explains the mark: %v; want %v", explained, tt.label != "")
			}
		})
	}
}

// The CPU per request plot is made from the trials that recorded it, and
// not at all for records without it (0 is unknown).
func TestCPUPerRequestPlot(t *testing.T) {
	r := &results.Run{Trials: []results.Trial{trial("shared", 1, 1000, 5, 5), trial("shared", 2, 1000, 5, 5), trial("reuseport", 1, 900, 5, 5)}}
	has := func() bool {
		for _, p := range Plots(r) {
			if p.File == "e-cpu-per-request.png" {
				if _, err := p.Render(); err != nil {
					t.Fatal(err)
				}
				return true
			}
		}
		return false
	}
	if has() {
		t.Error("a record without CPU per request has its plot")
	}
	r.Trials[0].ServerCPUPerRequestUs, r.Trials[1].ServerCPUPerRequestUs = 40, 60
	if !has() {
		t.Error("a record with CPU per request has no plot of it")
	}
	points := analysis.Points(r)
	if s, ok := cpuPerRequest(points[0]); !ok || s.N != 2 || s.Median != 50 || s.Min != 40 || s.Max != 60 {
		t.Errorf("shared: %+v, %v; want the median 50 of 40 and 60", s, ok)
	}
	r.Trials[1].ServerCPUPerRequestUs = 0 // unknown in one repetition: left out, not a zero
	if s, _ := cpuPerRequest(analysis.Points(r)[0]); s.N != 1 || s.Median != 40 {
		t.Errorf("shared with one unknown: %+v; want 40 of one repetition", s)
	}
	if _, ok := cpuPerRequest(points[1]); ok {
		t.Error("reuseport recorded no CPU per request but has a summary")
	}
}

// The CPU plot's reference line is the CPUs the server had: the ones it
// was pinned to, counted from the list, else the machine's.
func TestCPULineIsTheServersCPUs(t *testing.T) {
	for _, tt := range []struct {
		placements []*results.Placement
		want       int
		pinned     bool
		legend     string
	}{
		{[]*results.Placement{nil, nil}, 4, false, "CPUs of the machine"},
		{[]*results.Placement{{ServerCPUs: "1"}, {ServerCPUs: "1"}}, 1, true, "CPUs the server was pinned to"},
		{[]*results.Placement{{ServerCPUs: "1-2"}, {ServerCPUs: "0,3"}}, 2, true, "CPUs the server was pinned to"},
		{[]*results.Placement{{ServerCPUs: "1"}, nil}, 4, false, "CPUs of the machine"},
		{[]*results.Placement{{ServerCPUs: "1"}, {ServerCPUs: "1-3"}}, 4, false, "CPUs of the machine"},
	} {
		r := &results.Run{Trials: []results.Trial{trial("shared", 1, 1000, 5, 5), trial("reuseport", 1, 900, 5, 5)}}
		for i, p := range tt.placements {
			r.Trials[i].Placement = p
		}
		conds := analysis.Conditions(analysis.Points(r))
		if got, pinned := cpuLimit(conds[0], 4); got != tt.want || pinned != tt.pinned {
			t.Errorf("%v: line at %d, pinned %v; want %d, %v", tt.placements, got, pinned, tt.want, tt.pinned)
		}
		f := cpuFigure("e", conds, 4)
		if last := f.legend[len(f.legend)-1].label; last != tt.legend {
			t.Errorf("%v: legend says %q; want %q", tt.placements, last, tt.legend)
		}
	}
}

// At a fixed rate the throughput panel shows each mode's delivered share of
// the rate on an axis zoomed to the values; a closed loop keeps bars from 0.
func TestFixedRateThroughputIsZoomed(t *testing.T) {
	r := &results.Run{Trials: []results.Trial{trial("shared", 1, 1990, 5, 5), trial("reuseport", 1, 1900, 5, 5)}}
	closed := analysis.Conditions(analysis.Points(r))
	if rate := offeredRate(closed[0]); rate != 0 {
		t.Errorf("closed loop has rate %v", rate)
	}
	p := throughputFigure("e", closed, modeStyles(analysis.Points(r))).panels[0]
	if p.Y.Min != 0 {
		t.Errorf("closed loop's axis starts at %v; want bars from 0", p.Y.Min)
	}

	for i := range r.Trials {
		r.Trials[i].Load.Rate = 2000
	}
	fixed := analysis.Conditions(analysis.Points(r))
	if rate := offeredRate(fixed[0]); rate != 2000 {
		t.Fatalf("fixed rate %v; want 2000", rate)
	}
	marks := throughputMarks(fixed[0], 2000)
	if marks[0].summary.Median != 99.5 || marks[1].summary.Median != 95 {
		t.Errorf("delivered %v and %v%%; want 99.5 and 95", marks[0].summary.Median, marks[1].summary.Median)
	}
	p = throughputFigure("e", fixed, modeStyles(analysis.Points(r))).panels[0]
	if p.Y.Min <= 50 || p.Y.Min >= 95 || p.Y.Max <= 100 {
		t.Errorf("fixed rate's axis %v to %v; want it zoomed around 95 to 100", p.Y.Min, p.Y.Max)
	}
	if !strings.Contains(p.Y.Label.Text, "% of the offered 2000") {
		t.Errorf("fixed rate's axis is %q", p.Y.Label.Text)
	}

	// Modes that deliver all of it alike still get an axis of some width.
	if lo, hi := zoom(100, 100); hi-lo < 2 || lo > 100 || hi < 100 {
		t.Errorf("zoom(100, 100) = %v..%v; want at least two percent around 100", lo, hi)
	}
}

// The fair-share line is drawn first and in grey, so that the modes' lines
// along it stay visible on top.
func TestFairShareIsDrawnFirst(t *testing.T) {
	r := &results.Run{Trials: []results.Trial{trial("shared", 1, 1000, 5, 5), trial("reuseport", 1, 900, 5, 5)}}
	c := analysis.Conditions(analysis.Points(r))[0]
	layers, _ := shareLayers(c, modeStyles(analysis.Points(r)), func(p *analysis.Point) []analysis.Summary {
		return p.SortedShares((*results.Trial).RequestCounts)
	})
	if len(layers) < 3 {
		t.Fatalf("%d layers; want the fair share and each mode's", len(layers))
	}
	fair, ok := layers[0].(*plotter.Function)
	if !ok {
		t.Fatalf("first layer is %T; want the fair-share line", layers[0])
	}
	if fair.Color == color.Black {
		t.Error("fair share is black; want it lighter than the data")
	}
	for i, l := range layers[1:] {
		if _, ok := l.(*plotter.Function); ok {
			t.Errorf("layer %d is a reference line drawn over the modes", i+1)
		}
	}
}
