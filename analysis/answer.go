package analysis

import (
	"cmp"
	"math"
	"slices"

	"clusterbench/results"
)

// Answer is what the run answers, short enough to read first: for each
// group of conditions, the mode to choose and why, and whether two of the
// workers took more than TopTwoClaim of the connections. It is judged
// from the measurements alone.
type Answer struct {
	// Groups is one per experiment and keep-alive setting, in order of
	// first appearance: the handlers and loads of one experiment are
	// summed up in one recommendation.
	Groups []AnswerGroup
	// Effect is the Node.js claim; nil when no trial could tell.
	Effect *Effect
	// Evenest is the modes even (EvenJain) in the most of the conditions
	// they ran in, in order of appearance: even in EvenIn of In.
	Evenest    []string
	EvenIn, In int
}

// Basis is what a recommendation ranks the modes by.
type Basis int

const (
	// ByThroughput at maximum rate, when the server was the limit.
	ByThroughput Basis = iota
	// ByServerCPU at maximum rate when the load generator was the limit
	// for some mode: then throughput measures the load generator, and the
	// server's CPU per request is what tells the modes apart.
	ByServerCPU
	// ByP99 at a fixed rate, where every mode serves the same rate.
	ByP99
	// ByLostRequests when a worker was killed: fewest lost requests, then
	// the basis the load gives.
	ByLostRequests
)

// Certainty is how far the data supports a choice.
type Certainty int

const (
	// Clear: the confidence intervals of the first and the second do not
	// overlap.
	Clear Certainty = iota
	// WithinNoise: they overlap; the second is as good a choice.
	WithinNoise
	// Indicative: a single repetition, no interval.
	Indicative
)

// Choice is the first mode of one condition on its basis, and the next.
type Choice struct {
	Condition *Condition
	Basis     Basis
	// Best and Next hold the basis's figure; Next.Mode is "" when one
	// mode alone was measured.
	Best, Next RankedMode
	Certainty  Certainty
}

// AnswerGroup is the recommendation for one experiment and keep-alive
// setting.
type AnswerGroup struct {
	Experiment string
	KeepAlive  bool
	Choices    []Choice
	// Recommended is the mode (or the modes, when tied) with the smallest
	// Shortfall: how far, relative, it fell behind the first of a
	// condition at worst; Wins counts the conditions it was first in.
	Recommended []string
	Shortfall   float64
	Wins        int
	// Basis is the first condition's basis, and MixedBasis is set when
	// another condition had another.
	Basis      Basis
	MixedBasis bool
	// Value is the recommended mode's figure (median) on it.
	Value float64
	// Certainty is the weakest over the conditions: against the next mode
	// where it was first, else against the first. RunnerUp is the mode
	// it is within the noise of, if any.
	Certainty Certainty
	RunnerUp  string
	// Of the first Recommended mode over the group's conditions: its p99
	// latency (lowest and highest median, ms), its evenness class (the
	// worst), and whether its spread of connections was beyond chance.
	P99Low, P99High float64
	Class           EvenClass
	BeyondChance    bool
	SharesApply     bool
	// Fault is its damage when a worker was killed, nil without a fault.
	Fault *FaultDamage
}

// Effect is where the two busiest workers took more than TopTwoClaim of
// the connections, per mode and keep-alive setting.
type Effect struct {
	// Above of Eligible trials (see TopTwo).
	Above, Eligible int
	// Modes lists those with the effect, most repetitions first.
	Modes []EffectMode
	// Highest is the highest top-two share of an eligible trial, and its
	// trial, when the effect never appeared.
	Highest      float64
	HighestTrial *results.Trial
}

// EffectMode is a mode and keep-alive setting with the effect in some
// repetition.
type EffectMode struct {
	Mode      string
	KeepAlive bool
	// Proportion is its repetitions above of all of them that count,
	// over every condition.
	Proportion Proportion
	// ChanceAbove is how often chance gives more than the claim for the
	// fewest connections of them, Chance that distribution.
	ChanceAbove float64
	Chance      *ChanceSpread
}

// AnswerOf answers from r.
func AnswerOf(r *results.Run) Answer {
	points := Points(r)
	var a Answer
	index := map[string]int{}
	for _, c := range Conditions(points) {
		choice, ok := choiceOf(c)
		if !ok {
			continue
		}
		key := c.Experiment + "\x00" + onOff(c.KeepAlive)
		i, ok := index[key]
		if !ok {
			i = len(a.Groups)
			index[key] = i
			a.Groups = append(a.Groups, AnswerGroup{Experiment: c.Experiment, KeepAlive: c.KeepAlive})
		}
		a.Groups[i].Choices = append(a.Groups[i].Choices, choice)
	}
	for i := range a.Groups {
		a.Groups[i].decide()
	}
	a.Effect = effectOf(topTwoOf(points))
	a.Evenest, a.EvenIn, a.In = evenestOf(Conditions(points))
	return a
}

// evenestOf is the modes even in the largest share of the conditions
// they ran in, how many that is and of how many; nil when no mode was
// ever even.
func evenestOf(conds []*Condition) (modes []string, even, in int) {
	type tally struct{ even, in int }
	var order []string
	counts := map[string]*tally{}
	for _, c := range conds {
		e := evennessOf(c)
		for _, s := range spreadsOf(e) {
			t, ok := counts[s.Mode]
			if !ok {
				t = &tally{}
				counts[s.Mode] = t
				order = append(order, s.Mode)
			}
			t.in++
			if s.Class == Even {
				t.even++
			}
		}
	}
	for _, m := range order {
		t := counts[m]
		switch {
		case t.even == 0:
		case modes == nil || t.even*in > even*t.in || (t.even*in == even*t.in && t.in > in):
			modes, even, in = []string{m}, t.even, t.in
		case t.even == even && t.in == in:
			modes = append(modes, m)
		}
	}
	return modes, even, in
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// basisOf is what c's modes are ranked by.
func basisOf(c *Condition) Basis {
	pts := c.Measured()
	switch {
	case slices.ContainsFunc(pts, func(p *Point) bool { return p.Fault() != nil }):
		return ByLostRequests
	case pts[0].Trials[0].Load.Rate > 0:
		return ByP99
	case slices.ContainsFunc(pts, func(p *Point) bool { return p.LoadgenBound() > 0 }) &&
		!slices.ContainsFunc(pts, func(p *Point) bool { return serverCPU(p).Median <= 0 }):
		return ByServerCPU
	}
	return ByThroughput
}

func serverCPU(p *Point) Summary {
	return p.Summary(func(t *results.Trial) float64 { return t.ServerCPUPerRequestUs })
}

// figure is a point's figure on a basis, and the sign that makes lower
// better.
func figure(p *Point, b Basis) (Summary, float64) {
	switch b {
	case ByThroughput:
		return p.Summary(func(t *results.Trial) float64 { return t.ThroughputRPS }), -1
	case ByServerCPU:
		return serverCPU(p), 1
	case ByLostRequests:
		lost, _ := p.FaultSummary(func(f *results.Fault) float64 { return float64(f.LostRequests) })
		return lost, 1
	}
	return p.Summary(func(t *results.Trial) float64 { return t.Latency.P99 }), 1
}

// loadBasis is the basis the load gives, without a fault.
func loadBasis(p *Point) Basis {
	if p.Trials[0].Load.Rate > 0 {
		return ByP99
	}
	return ByThroughput
}

func choiceOf(c *Condition) (Choice, bool) {
	pts := c.Measured()
	if len(pts) == 0 {
		return Choice{}, false
	}
	b := basisOf(c)
	sorted := slices.Clone(pts)
	slices.SortStableFunc(sorted, func(x, y *Point) int {
		fx, sign := figure(x, b)
		fy, _ := figure(y, b)
		if d := cmp.Compare(sign*fx.Median, sign*fy.Median); d != 0 || b != ByLostRequests {
			return d
		}
		// Equally damaged: the load's own basis decides.
		gx, sign := figure(x, loadBasis(x))
		gy, _ := figure(y, loadBasis(y))
		return cmp.Compare(sign*gx.Median, sign*gy.Median)
	})
	best, _ := figure(sorted[0], b)
	ch := Choice{Condition: c, Basis: b, Best: RankedMode{sorted[0].Mode, best}, Certainty: Clear}
	if len(sorted) > 1 {
		next, _ := figure(sorted[1], b)
		ch.Next = RankedMode{sorted[1].Mode, next}
	}
	switch {
	case !best.HasInterval() || (ch.Next.Mode != "" && !ch.Next.Value.HasInterval()):
		ch.Certainty = Indicative
	case ch.Next.Mode != "" && best.Overlaps(ch.Next.Value):
		ch.Certainty = WithinNoise
	}
	return ch, true
}

// decide picks the group's recommendation from its choices and states
// what the recommended mode did. Where the conditions disagree, it is the
// mode whose worst shortfall from the first of a condition is smallest:
// the safest choice when the condition is not known in advance.
func (g *AnswerGroup) decide() {
	var candidates []string
	for _, p := range g.Choices[0].Condition.Points {
		if len(p.Trials) > 0 && !slices.Contains(candidates, p.Mode) {
			candidates = append(candidates, p.Mode)
		}
	}
	g.Shortfall = -1
	for _, mode := range candidates {
		worst, wins, everywhere := 0.0, 0, true
		for _, c := range g.Choices {
			gap, ok := shortfall(c, mode)
			if !ok {
				everywhere = false
				break
			}
			worst = max(worst, gap)
			if c.Best.Mode == mode {
				wins++
			}
		}
		switch {
		case !everywhere:
		case g.Shortfall < 0 || worst < g.Shortfall:
			g.Recommended, g.Shortfall, g.Wins = []string{mode}, worst, wins
		case worst == g.Shortfall:
			g.Recommended = append(g.Recommended, mode)
		}
	}
	if len(g.Recommended) == 0 { // no mode ran in every condition
		g.Recommended, g.Wins, g.Shortfall = []string{g.Choices[0].Best.Mode}, 1, 0
	}
	mode := g.Recommended[0]
	g.Class, g.SharesApply = Even, true
	g.Basis, g.Value = g.Choices[0].Basis, math.NaN()
	for _, c := range g.Choices {
		if c.Basis != g.Basis {
			g.MixedBasis = true
		}
		p := pointOf(c.Condition, mode)
		if p == nil {
			continue
		}
		if math.IsNaN(g.Value) {
			f, _ := figure(p, c.Basis)
			g.Value = f.Median
		}
		// Against the next when first, else against the first.
		rival := c.Best
		if c.Best.Mode == mode {
			rival = c.Next
		}
		own, _ := figure(p, c.Basis)
		switch {
		case rival.Mode == "":
		case !own.HasInterval() || !rival.Value.HasInterval():
			g.Certainty = Indicative
		case own.Overlaps(rival.Value) && g.Certainty < WithinNoise:
			g.Certainty, g.RunnerUp = WithinNoise, rival.Mode
		}
		if p.ClientSide() { // without a client, there is no latency
			p99 := p.Summary(func(t *results.Trial) float64 { return t.Latency.P99 }).Median
			if g.P99High == 0 {
				g.P99Low, g.P99High = p99, p99
			}
			g.P99Low, g.P99High = min(g.P99Low, p99), max(g.P99High, p99)
		}
		if g.Fault == nil {
			for _, f := range faultFindingsOf([]*Condition{c.Condition}) {
				for _, d := range f.Modes {
					if d.Mode == mode {
						g.Fault = &d
					}
				}
			}
		}
		if !p.SharesApply() {
			g.SharesApply = false
			continue
		}
		for _, s := range spreadsOf(evennessOf(c.Condition)) {
			if s.Mode == mode {
				g.Class = max(g.Class, s.Class)
				g.BeyondChance = g.BeyondChance || s.BeyondChance > 0
			}
		}
	}
}

// shortfall is how far mode falls behind the first of c on c's basis,
// relative to the first's figure: 0 for the first itself. Requests lost
// to a fault come first: any more than the first is further behind than
// any shortfall on the load's own basis, which decides among equals.
func shortfall(c Choice, mode string) (float64, bool) {
	p := pointOf(c.Condition, mode)
	if p == nil {
		return 0, false
	}
	relative := func(b Basis, best float64) float64 {
		f, sign := figure(p, b)
		return max(0, sign*(f.Median-best)) / math.Max(math.Abs(best), 1e-9)
	}
	if c.Basis != ByLostRequests {
		return relative(c.Basis, c.Best.Value.Median), true
	}
	if lost := relative(ByLostRequests, c.Best.Value.Median); lost > 0 {
		return 1 + lost, true
	}
	first := pointOf(c.Condition, c.Best.Mode)
	own, _ := figure(first, loadBasis(first))
	return relative(loadBasis(first), own.Median), true
}

func pointOf(c *Condition, mode string) *Point {
	for _, p := range c.Points {
		if p.Mode == mode && len(p.Trials) > 0 {
			return p
		}
	}
	return nil
}

func spreadsOf(e Evenness) []ModeSpread {
	return slices.Concat(e.Even, e.NearEven, e.Uneven)
}

// effectOf sums the top-two finding up per mode and keep-alive setting,
// over every condition: k of the n repetitions that count.
func effectOf(t *TopTwo) *Effect {
	if t == nil || t.Eligible == 0 {
		return nil
	}
	e := &Effect{Above: t.AboveTotal(), Eligible: t.Eligible}
	type key struct {
		mode      string
		keepAlive bool
	}
	var order []key
	counts := map[key]*EffectMode{}
	fewest := map[key]TopTwoTrial{}
	for _, r := range t.eligible {
		k := key{r.Trial.Label(), r.Trial.KeepAlive}
		m, ok := counts[k]
		if !ok {
			m = &EffectMode{Mode: k.mode, KeepAlive: k.keepAlive}
			counts[k] = m
			order = append(order, k)
		}
		m.Proportion.N++
		if r.Share > TopTwoClaim {
			m.Proportion.K++
		}
		if f, ok := fewest[k]; !ok || r.Connections < f.Connections {
			fewest[k] = r
		}
	}
	for _, k := range order {
		m := counts[k]
		if m.Proportion.K == 0 {
			continue
		}
		m.Proportion = ProportionOf(m.Proportion.K, m.Proportion.N)
		f := fewest[k]
		if m.Chance = Chance(int(f.Connections), len(f.Trial.ConnectionCounts())); m.Chance != nil {
			m.ChanceAbove = m.Chance.TopTwo.Above(TopTwoClaim)
		}
		e.Modes = append(e.Modes, *m)
	}
	slices.SortStableFunc(e.Modes, func(a, b EffectMode) int { return cmp.Compare(b.Proportion.K, a.Proportion.K) })
	if e.Above == 0 {
		for _, keepAlive := range []bool{false, true} {
			if h := t.Highest[keepAlive]; h != nil && h.Fairness.Connections.Top2Share > e.Highest {
				e.Highest, e.HighestTrial = h.Fairness.Connections.Top2Share, h
			}
		}
	}
	return e
}
