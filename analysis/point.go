package analysis

import (
	"fmt"
	"math"
	"slices"

	"clusterbench/results"
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
	Trials     []*results.Trial // measured repetitions
	Failed     []*results.Trial
}

// Points groups a run's trials by matrix cell, in order of first appearance.
func Points(r *results.Run) []*Point {
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
func (p *Point) Summary(metric func(*results.Trial) float64) Summary {
	xs := make([]float64, len(p.Trials))
	for i, t := range p.Trials {
		xs[i] = metric(t)
	}
	return Summarize(xs)
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

// Measured is the condition's points with at least one measured trial.
func (c *Condition) Measured() []*Point {
	var pts []*Point
	for _, p := range c.Points {
		if len(p.Trials) > 0 {
			pts = append(pts, p)
		}
	}
	return pts
}

// Condition is the condition p belongs to, without the other modes.
func (p *Point) Condition() *Condition {
	return &Condition{Experiment: p.Experiment, Workers: p.Workers, KeepAlive: p.KeepAlive, Handler: p.Handler, Load: p.Load}
}

// ClientSide reports whether a client counted every repetition: false
// where only the workers did (serve's record), so latency and errors are
// unknown.
func (p *Point) ClientSide() bool {
	return !slices.ContainsFunc(p.Trials, func(t *results.Trial) bool { return !t.ClientSide() })
}

// SharesApply reports whether the point's per-worker shares mean
// anything (see the function SharesApply).
func (p *Point) SharesApply() bool {
	return !slices.ContainsFunc(p.Trials, func(t *results.Trial) bool { return !SharesApply(t) })
}

// SortedShares returns, for each rank from the busiest worker to the
// idlest, the summary over repetitions of that rank's share of the total;
// nil where shares do not apply.
// Sorting each repetition first keeps a skew visible even when a different
// worker is the busiest in each one.
func (p *Point) SortedShares(counts func(*results.Trial) []uint64) []Summary {
	return p.sortedShares(func(t *results.Trial) []float64 { return Shares(counts(t)) })
}

// SortedBusyShares is SortedShares of the workers' busy time (see
// BusySeconds); none for one worker alone.
func (p *Point) SortedBusyShares() []Summary {
	if p.Workers < 2 {
		return nil
	}
	return p.sortedShares(func(t *results.Trial) []float64 { return Shares(BusySeconds(t)) })
}

func (p *Point) sortedShares(sharesOf func(*results.Trial) []float64) []Summary {
	if !p.SharesApply() {
		return nil
	}
	var byRank [][]float64
	for _, t := range p.Trials {
		shares := sharesOf(t)
		slices.Sort(shares)
		slices.Reverse(shares)
		for rank, s := range shares {
			if rank == len(byRank) {
				byRank = append(byRank, nil)
			}
			byRank[rank] = append(byRank[rank], s)
		}
	}
	out := make([]Summary, len(byRank))
	for rank, xs := range byRank {
		out[rank] = Summarize(xs)
	}
	return out
}

// LoadgenBound counts the repetitions the load generator limited.
func (p *Point) LoadgenBound() int {
	n := 0
	for _, t := range p.Trials {
		if t.LoadgenBound {
			n++
		}
	}
	return n
}

// Fault is the fault of a point's trials, nil for none: it is the
// experiment's, so the same in every repetition but for when it struck.
func (p *Point) Fault() *results.Fault {
	for _, t := range p.Trials {
		if t.Fault != nil {
			return t.Fault
		}
	}
	return nil
}

// FaultSummary summarises a fault metric over the repetitions that have
// it; metric returns NaN where a repetition has no value, and missing
// counts those.
func (p *Point) FaultSummary(metric func(*results.Fault) float64) (s Summary, missing int) {
	xs := make([]float64, 0, len(p.Trials))
	for _, t := range p.Trials {
		v := math.NaN()
		if t.Fault != nil {
			v = metric(t.Fault)
		}
		if math.IsNaN(v) {
			missing++
		}
		xs = append(xs, v)
	}
	return Summarize(xs), missing
}

// OrNaN reads an optional figure of the record, NaN for none.
func OrNaN(v *float64) float64 {
	if v == nil {
		return math.NaN()
	}
	return *v
}

// HasFault reports whether any point of the conditions had a fault.
func HasFault(conds []*Condition) bool {
	for _, c := range conds {
		for _, p := range c.Points {
			if p.Fault() != nil {
				return true
			}
		}
	}
	return false
}

// MeasuredTrials lists the trials that produced a measurement.
func MeasuredTrials(r *results.Run) []*results.Trial {
	var out []*results.Trial
	for i := range r.Trials {
		if !r.Trials[i].Failed() {
			out = append(out, &r.Trials[i])
		}
	}
	return out
}
