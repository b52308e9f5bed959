package report

import (
	"fmt"
	"io"
	"math"

	"clusterbench/analysis"
	"clusterbench/results"
)

// latencyNote explains the latency table's columns.
const latencyNote = "Medians of repetitions. Latency is of successful requests: percentiles, the maximum and the standard deviation, " +
	"which says how evenly a design serves (Cloudflare compared accept strategies by it). " +
	"Busy time is each worker's CPU time while measuring, as a share of all workers' CPU time in the trial: " +
	"a worker's share of requests says how many it served, its share of busy time how much work they were. " +
	"Shown are the two busiest workers' share, the busiest and the idlest worker's, and Jain's index over them."

var latencyHeader = []string{
	"mode", "workers", "keep-alive", "handler", "load", "reps",
	"p50 ms", "p99 ms", "p99.9 ms", "max ms", "stddev ms",
	"top-2 busy", "max/min busy share", "Jain busy",
}

// hasLatencyDetail reports whether any of the points' trials measured
// the standard deviation: records from before it have no latency table,
// so they render as they did.
func hasLatencyDetail(points []*analysis.Point) bool {
	for _, p := range points {
		for _, t := range p.Trials {
			if t.Latency.Stddev != nil {
				return true
			}
		}
	}
	return false
}

func latencyRow(p *analysis.Point) []string {
	if len(p.Trials) == 0 {
		row := make([]string, len(latencyHeader))
		copy(row, []string{p.Mode, fmt.Sprint(p.Workers), onOff(p.KeepAlive), p.Handler, p.Load, reps(p), "failed"})
		return row
	}
	ms := func(metric func(results.Latency) float64) string {
		return fmt.Sprintf("%.2f", p.Summary(func(t *results.Trial) float64 { return metric(t.Latency) }).Median)
	}
	stddev := "-"
	if s := medianOfPresent(p, func(t *results.Trial) *float64 { return t.Latency.Stddev }); !math.IsNaN(s) {
		stddev = fmt.Sprintf("%.2f", s)
	}
	busy := func(metric func(results.Fairness) float64) float64 {
		return p.Summary(func(t *results.Trial) float64 { return metric(analysis.BusyFairness(t)) }).Median
	}
	share := func(metric func(results.Fairness) float64) string { return fmt.Sprintf("%.0f%%", 100*busy(metric)) }
	top2, maxMin, jain := "-", "-", "-"
	// One worker has all of its busy time, and unmeasured CPU has no shares.
	if p.Workers > 1 && busy(func(f results.Fairness) float64 { return f.Jain }) > 0 {
		top2 = share(func(f results.Fairness) float64 { return f.Top2Share })
		maxMin = share(func(f results.Fairness) float64 { return f.MaxShare }) + " / " + share(func(f results.Fairness) float64 { return f.MinShare })
		jain = fmt.Sprintf("%.3f", busy(func(f results.Fairness) float64 { return f.Jain }))
	}
	return []string{
		p.Mode, fmt.Sprint(p.Workers), onOff(p.KeepAlive), p.Handler, p.Load, reps(p),
		ms(func(l results.Latency) float64 { return l.P50 }),
		ms(func(l results.Latency) float64 { return l.P99 }),
		ms(func(l results.Latency) float64 { return l.P999 }),
		ms(func(l results.Latency) float64 { return l.Max }),
		stddev, top2, maxMin, jain,
	}
}

// medianOfPresent is the median of a figure over the repetitions that
// have it; NaN if none does.
func medianOfPresent(p *analysis.Point, metric func(*results.Trial) *float64) float64 {
	var xs []float64
	for _, t := range p.Trials {
		if v := metric(t); v != nil {
			xs = append(xs, *v)
		}
	}
	if len(xs) == 0 {
		return math.NaN()
	}
	return analysis.Summarize(xs).Median
}

// WriteLatency writes the latency and busy-time table of points to w, as
// Markdown or as a plain terminal table.
func WriteLatency(w io.Writer, points []*analysis.Point, markdown bool) error {
	table := NewTable(w, markdown)
	table.Header(latencyHeader)
	for _, p := range points {
		if err := table.Append(latencyRow(p)); err != nil {
			return err
		}
	}
	return table.Render()
}
