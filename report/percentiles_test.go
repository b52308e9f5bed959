package report

import (
	"bytes"
	"image/png"
	"math"
	"strings"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"

	"clusterbench/analysis"
	"clusterbench/results"
)

// uniformLatency is a histogram of the latencies from µs microseconds
// up, one request each, n of them.
func uniformLatency(from, n int64) *hdrhistogram.Histogram {
	h := hdrhistogram.New(1, 3_600_000_000, 3)
	for v := from; v < from+n; v++ {
		_ = h.RecordValue(v)
	}
	return h
}

// The curve of 1,000 requests taking 1 to 1,000 µs: at 1/(1-p) = 2, 10
// and 100 are the median (500 µs), p90 (900) and p99 (990); it starts at
// the fastest and ends at the slowest, at 1 in 1,000.
func TestPercentileCurve(t *testing.T) {
	curve := percentileCurve(uniformLatency(1, 1000))
	at := map[float64]float64{}
	for i, xy := range curve {
		if i > 0 && xy.X <= curve[i-1].X {
			t.Fatalf("x not increasing at %d: %v after %v", i, xy.X, curve[i-1].X)
		}
		at[math.Round(xy.X*1e6)/1e6] = xy.Y
	}
	for x, want := range map[float64]float64{1: 0.001, 2: 0.5, 10: 0.9, 100: 0.99, 1000: 1} {
		if got, ok := at[x]; !ok || got != want {
			t.Errorf("latency at 1/(1-p) = %v: %v ms (drawn %v); want %v ms", x, got, ok, want)
		}
	}
	if last := curve[len(curve)-1]; last.X != 1000 {
		t.Errorf("curve ends at %v; want 1000, where 1,000 requests stop resolving", last.X)
	}
	if got := percentileCurve(hdrhistogram.New(1, 10, 1)); got != nil {
		t.Errorf("curve of no request: %v; want none", got)
	}
}

func TestNinesTicks(t *testing.T) {
	var got []string
	for _, tick := range (ninesTicks{}).Ticks(1, 12000) {
		got = append(got, tick.Label)
	}
	if want := "50% 90% 99% 99.9% 99.99%"; strings.Join(got, " ") != want {
		t.Errorf("ticks %q; want %q", strings.Join(got, " "), want)
	}
}

// histogramTrial is trial with a latency histogram of n requests from
// from microseconds up.
func histogramTrial(mode string, rep int, from, n int64) results.Trial {
	tr := trial(mode, rep, 1000, 250, 250, 250, 250)
	enc, err := results.EncodeLatency(uniformLatency(from, n))
	if err != nil {
		panic(err)
	}
	tr.LatencyHistogram = enc
	return tr
}

// With histograms in the record, the latency figure is the percentile
// plot, x on a log scale to at least p99.9, with one curve per mode from
// all repetitions; without, it stays the plot of recorded percentiles.
func TestLatencyFigureFromHistograms(t *testing.T) {
	r := &results.Run{Schema: results.Schema, Trials: []results.Trial{
		histogramTrial("shared", 1, 100, 500), histogramTrial("reuseport", 1, 2000, 500),
		histogramTrial("shared", 2, 100, 500), histogramTrial("reuseport", 2, 2000, 500),
	}}
	points := analysis.Points(r)
	conds := analysis.Conditions(points)
	styles := modeStyles(points)
	f := latencyFigure("e", conds, styles)
	p := f.panels[0]
	if _, ok := p.X.Scale.(plot.LogScale); !ok || p.X.Max < 1000 || !strings.Contains(f.title, "by percentile") {
		t.Fatalf("figure %q, x scale %T to %v; want the percentile plot on a log scale to 1000 (p99.9) at least", f.title, p.X.Scale, p.X.Max)
	}
	if p.X.Max != 1000 {
		t.Errorf("x axis to %v; want 1000: 2 repetitions of 500 requests resolve to 1 in 1,000", p.X.Max)
	}
	if p.Y.Min >= 0.1 || p.Y.Max <= 2.5 {
		t.Errorf("y axis %v to %v ms; want it to span both modes, 0.1 to 2.5 ms", p.Y.Min, p.Y.Max)
	}
	plots := Plots(r)
	var latency Plot
	for _, pl := range plots {
		if pl.File == "e-latency.png" {
			latency = pl
		}
	}
	img, err := png.Decode(bytes.NewReader(must(latency.Render())))
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"shared", "reuseport"} {
		if !hasColour(img, styles[mode].color) {
			t.Errorf("percentile plot has no curve in %s's colour", mode)
		}
	}
	again := must(latency.Render())
	if !bytes.Equal(must(latency.Render()), again) {
		t.Error("two renderings differ")
	}

	// An older record: the recorded percentiles, as before.
	for i := range r.Trials {
		r.Trials[i].LatencyHistogram = ""
		r.Trials[i].Latency = results.Latency{P50: 1, P90: 2, P99: 3, P999: 4, Max: 5}
	}
	old := latencyFigure("e", analysis.Conditions(analysis.Points(r)), styles)
	if _, ok := old.panels[0].X.Scale.(plot.LogScale); ok || strings.Contains(old.title, "by percentile") {
		t.Errorf("without histograms: figure %q with a log x axis; want the recorded percentiles", old.title)
	}
}

// pooledLatency merges every repetition's histogram and leaves out one
// that does not decode.
func TestPooledLatency(t *testing.T) {
	a, b := histogramTrial("m", 1, 100, 300), histogramTrial("m", 2, 1000, 200)
	bad := histogramTrial("m", 3, 1, 1)
	bad.LatencyHistogram = "not a histogram"
	got := pooledLatency(&analysis.Point{Trials: []*results.Trial{&a, &b, &bad}})
	if got == nil || got.TotalCount() != 500 || got.Min() != 100 || got.Max() < 1199 {
		t.Errorf("pooled %v; want 500 requests from 100 to 1199 µs", got)
	}
	if got := pooledLatency(&analysis.Point{Trials: []*results.Trial{&bad}}); got != nil {
		t.Errorf("no histogram that decodes: %v; want none", got)
	}
}
