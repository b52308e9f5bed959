package results

import (
	"fmt"
	"slices"

	"clusterbench/analysis"
)

// Point is one cell of an experiment's matrix: the trials that differ only
// by repetition.
type Point struct {
	Experiment string
	Mode       string
	Workers    int
	KeepAlive  bool
	Handler    string
	Load       string
	Trials     []*Trial // measured repetitions
	Failed     []*Trial
}

// Points groups trials by matrix cell, in order of first appearance.
func (r *Run) Points() []*Point {
	var points []*Point
	index := map[string]*Point{}
	for i := range r.Trials {
		t := &r.Trials[i]
		key := fmt.Sprint(t.Experiment, "\x00", t.Label(), "\x00", t.Workers, "\x00", t.KeepAlive, "\x00", t.Handler.Name, "\x00", t.Load.Name)
		p, ok := index[key]
		if !ok {
			p = &Point{Experiment: t.Experiment, Mode: t.Label(), Workers: t.Workers, KeepAlive: t.KeepAlive, Handler: t.Handler.Name, Load: t.Load.Name}
			index[key] = p
			points = append(points, p)
		}
		if t.Failed() {
			p.Failed = append(p.Failed, t)
		} else {
			p.Trials = append(p.Trials, t)
		}
	}
	return points
}

// Summary of one metric of a point over its repetitions.
func (p *Point) Summary(metric func(*Trial) float64) analysis.Summary {
	xs := make([]float64, len(p.Trials))
	for i, t := range p.Trials {
		xs[i] = metric(t)
	}
	return analysis.Summarize(xs)
}

// Condition is a cell of an experiment's matrix without the mode axis:
// the points that compare modes under the same conditions.
type Condition struct {
	Experiment string
	Workers    int
	KeepAlive  bool
	Handler    string
	Load       string
	Points     []*Point // one per mode, in order of first appearance
}

// Conditions groups points by everything but the mode, in order of first
// appearance.
func Conditions(points []*Point) []*Condition {
	var conds []*Condition
	index := map[string]*Condition{}
	for _, p := range points {
		key := fmt.Sprint(p.Experiment, "\x00", p.Workers, "\x00", p.KeepAlive, "\x00", p.Handler, "\x00", p.Load)
		c, ok := index[key]
		if !ok {
			c = &Condition{Experiment: p.Experiment, Workers: p.Workers, KeepAlive: p.KeepAlive, Handler: p.Handler, Load: p.Load}
			index[key] = c
			conds = append(conds, c)
		}
		c.Points = append(c.Points, p)
	}
	return conds
}

// Title names the condition: "8 workers, keep-alive on, handler trivial, load max-c32".
func (c *Condition) Title() string {
	return fmt.Sprintf("%s, keep-alive %s, handler %s, load %s", plural(c.Workers, "worker"), onOff(c.KeepAlive), c.Handler, c.Load)
}

// SortedShares returns, for each rank from the busiest worker to the
// idlest, the summary over repetitions of that rank's share of the total.
// Sorting each repetition first keeps a skew visible even when a different
// worker is the busiest in each one.
func (p *Point) SortedShares(counts func(*Trial) []uint64) []analysis.Summary {
	var byRank [][]float64
	for _, t := range p.Trials {
		shares := analysis.Shares(counts(t))
		slices.Sort(shares)
		slices.Reverse(shares)
		for rank, s := range shares {
			if rank == len(byRank) {
				byRank = append(byRank, nil)
			}
			byRank[rank] = append(byRank[rank], s)
		}
	}
	out := make([]analysis.Summary, len(byRank))
	for rank, xs := range byRank {
		out[rank] = analysis.Summarize(xs)
	}
	return out
}
