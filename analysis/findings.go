package analysis

import (
	"cmp"
	"slices"
	"strings"

	"clusterbench/results"
)

// TopTwoClaim is the Node.js documentation's figure: with a shared socket,
// "over 70% of all connections ended up in just two processes, out of a
// total of eight". Findings say in which trials the two busiest workers
// took more than this share of connections.
const TopTwoClaim = 0.70

// MinConnectionsPerWorker is how many connections per worker a trial
// needs before its top-two share says anything: with six connections over
// eight workers, two workers hold a third whatever the mode.
const MinConnectionsPerWorker = 4

// The evenness classes, stated here only. A mode's class is that of its
// worst repetition, per request or per connection, whichever is lower:
// even from EvenJain, near-even from NearEvenJain, uneven below.
const (
	// EvenJain: at 0.99 no worker of eight is more than about a fifth
	// off its fair share.
	EvenJain = 0.99
	// NearEvenJain: at 0.95 one of eight workers can take 1.6 times its
	// fair share (the rest alike): uneven enough to see, far from the 0.5
	// of two workers taking most.
	NearEvenJain = 0.95
	// BeyondChance: a split that chance alone (Chance) gives less often
	// than this is the mode's doing, not the luck of a few connections.
	BeyondChance = 0.01
)

// EvenClass is how evenly a mode spread its work.
type EvenClass int

const (
	Even EvenClass = iota
	NearEven
	Uneven
)

// ClassOf is the class of a Jain index.
func ClassOf(jain float64) EvenClass {
	switch {
	case jain >= EvenJain:
		return Even
	case jain >= NearEvenJain:
		return NearEven
	}
	return Uneven
}

func (c EvenClass) String() string { return [...]string{"even", "near-even", "uneven"}[c] }

// Findings is what a run shows, judged from its measurements alone, in the
// order a report states it. Every part is nil or empty when the run has
// nothing to say about it.
type Findings struct {
	// TopTwo answers the Node.js documentation's claim.
	TopTwo *TopTwo
	// Conditions ranks the modes and judges their evenness, per condition
	// with a measured mode.
	Conditions []ConditionFinding
	// FirstPlaces counts which mode ranked first, when more than one
	// condition ranked modes.
	FirstPlaces *FirstPlaces
	// FrontendCosts is the CPU modes spend beyond their workers.
	FrontendCosts []FrontendCost
	// Siblings puts each Node mode beside its Go sibling.
	Siblings []SiblingComparison
	// Faults is the damage of each condition with a fault.
	Faults []FaultFinding
	// Counting is whether both sides' counts agreed and what failed; nil
	// before the first trial ended.
	Counting *Counting
}

// FindingsOf judges r.
func FindingsOf(r *results.Run) Findings {
	points := Points(r)
	conds := Conditions(points)
	f := Findings{TopTwo: topTwoOf(points)}
	wins := map[string]int{}
	ranked := 0
	for _, c := range conds {
		cf, ok := conditionFindingOf(c)
		if !ok {
			continue
		}
		if cf.Ranking != nil {
			wins[cf.Ranking.Modes[0].Mode]++
			ranked++
		}
		f.Conditions = append(f.Conditions, cf)
	}
	if ranked > 1 {
		f.FirstPlaces = firstPlacesOf(wins, ranked)
	}
	f.FrontendCosts = frontendCostsOf(points)
	f.Siblings = siblingsOf(conds)
	f.Faults = faultFindingsOf(conds)
	f.Counting = countingOf(r)
	return f
}

// TopTwo says in which trials the two busiest workers took more than
// TopTwoClaim of the connections. Only trials with more than two workers
// count, since two of two workers always take everything, and only those
// with at least MinConnectionsPerWorker connections per worker.
type TopTwo struct {
	// Eligible counts the trials that count.
	Eligible int
	// Above lists the points with a repetition above the claim, in order
	// of first appearance.
	Above []TopTwoPoint
	// Highest is the trial with the highest top-two share, per keep-alive.
	Highest map[bool]*results.Trial
	// LeftOut lists the trials with too few connections to count.
	LeftOut []TopTwoTrial
	// eligible is every trial that counts, in order.
	eligible []TopTwoTrial
}

// TopTwoPoint is a point with a repetition above the claim.
type TopTwoPoint struct {
	Point *Point
	// Above counts its repetitions above the claim.
	Above int
	// Reps is every repetition of it that counts.
	Reps []TopTwoTrial
	// Proportion is Above of len(Reps), with its confidence interval.
	Proportion Proportion
	// ChanceAbove is how often chance alone gives the two busiest
	// workers more than the claim, for the fewest connections of Reps
	// (where chance gives it most often).
	ChanceAbove float64
	// Chance is that distribution.
	Chance *ChanceSpread
}

// TopTwoTrial is one trial's top-two share of its connections.
type TopTwoTrial struct {
	Trial       *results.Trial
	Share       float64
	Connections uint64
}

// ChanceAtLeast is how often chance alone gives a top-two share of at
// least this trial's, for as many connections over as many workers.
func (t TopTwoTrial) ChanceAtLeast() float64 {
	if a := AgainstChanceOf(t.Trial); a != nil {
		return a.TopTwoAtLeast
	}
	return 1
}

// AboveTotal counts the trials above the claim.
func (t *TopTwo) AboveTotal() int {
	n := 0
	for _, p := range t.Above {
		n += p.Above
	}
	return n
}

func topTwoOf(points []*Point) *TopTwo {
	out := &TopTwo{Highest: map[bool]*results.Trial{}}
	index := map[*Point]int{} // into Above
	var reps = map[*Point][]TopTwoTrial{}
	for _, p := range points {
		if p.Workers <= 2 || !p.SharesApply() {
			continue // two of two workers, or one process, always take everything
		}
		for _, t := range p.Trials {
			tt := TopTwoTrial{Trial: t, Share: t.Fairness.Connections.Top2Share, Connections: sum(t.ConnectionCounts())}
			if tt.Connections < MinConnectionsPerWorker*uint64(t.Workers) {
				out.LeftOut = append(out.LeftOut, tt)
				continue
			}
			out.Eligible++
			out.eligible = append(out.eligible, tt)
			reps[p] = append(reps[p], tt)
			if h := out.Highest[t.KeepAlive]; h == nil || tt.Share > h.Fairness.Connections.Top2Share {
				out.Highest[t.KeepAlive] = t
			}
			if tt.Share > TopTwoClaim {
				i, ok := index[p]
				if !ok {
					i = len(out.Above)
					index[p] = i
					out.Above = append(out.Above, TopTwoPoint{Point: p})
				}
				out.Above[i].Above++
			}
		}
	}
	if out.Eligible == 0 && len(out.LeftOut) == 0 {
		return nil
	}
	for i := range out.Above {
		a := &out.Above[i]
		a.Reps = reps[a.Point]
		a.Proportion = ProportionOf(a.Above, len(a.Reps))
		fewest := slices.MinFunc(a.Reps, func(x, y TopTwoTrial) int { return cmp.Compare(x.Connections, y.Connections) })
		if a.Chance = Chance(int(fewest.Connections), len(fewest.Trial.ConnectionCounts())); a.Chance != nil {
			a.ChanceAbove = a.Chance.TopTwo.Above(TopTwoClaim)
		}
	}
	return out
}

func sum(counts []uint64) uint64 {
	var n uint64
	for _, c := range counts {
		n += c
	}
	return n
}

// ConditionFinding ranks the modes of one condition and sorts them into
// even and uneven.
type ConditionFinding struct {
	Condition *Condition
	// Ranking is nil when fewer than two modes were measured.
	Ranking  *Ranking
	Evenness Evenness
}

// Ranking orders the modes of a condition. At maximum rate the ranking is
// by throughput; at a fixed rate every mode serves the same rate, so it is
// by p99 latency.
type Ranking struct {
	// ByLatency is true at a fixed rate: Modes hold p99 latencies, lowest
	// first; else throughputs, highest first.
	ByLatency bool
	Modes     []RankedMode
	// Efficiency ranks the modes by server CPU per request, at maximum
	// rate; nil at a fixed rate or when the record lacks the figure.
	Efficiency *Efficiency
}

// RankedMode is a mode's ranking metric over its repetitions.
type RankedMode struct {
	Mode  string
	Value Summary
}

// IntervalsOverlap says whether the first two modes' confidence intervals
// overlap (within the noise); ok is false when either has a single
// repetition and so no interval.
func (r *Ranking) IntervalsOverlap() (overlap, ok bool) {
	best, next := r.Modes[0].Value, r.Modes[1].Value
	if !best.HasInterval() || !next.HasInterval() {
		return false, false
	}
	return best.Overlaps(next), true
}

// Efficiency ranks modes by the server's CPU per request, which the load
// generator does not limit.
type Efficiency struct {
	// LoadgenBound lists the modes the load generator limited in some
	// repetition: their throughput understates the server.
	LoadgenBound []string
	// Least and Most are the modes with the least and most server CPU per
	// request (median, µs).
	Least, Most ModeCPU
}

// ModeCPU is a mode's server CPU per request in microseconds.
type ModeCPU struct {
	Mode             string
	MicrosPerRequest float64
}

func conditionFindingOf(c *Condition) (ConditionFinding, bool) {
	pts := c.Measured()
	if len(pts) == 0 {
		return ConditionFinding{}, false
	}
	f := ConditionFinding{Condition: c, Evenness: evennessOf(c)}
	if len(pts) > 1 {
		f.Ranking = rankingOf(pts)
	}
	return f, true
}

func rankingOf(pts []*Point) *Ranking {
	r := &Ranking{ByLatency: pts[0].Trials[0].Load.Rate > 0}
	metric, better := func(t *results.Trial) float64 { return t.ThroughputRPS }, 1.0
	if r.ByLatency {
		metric, better = func(t *results.Trial) float64 { return t.Latency.P99 }, -1.0
	}
	sorted := slices.Clone(pts)
	slices.SortStableFunc(sorted, func(a, b *Point) int {
		return cmp.Compare(better*b.Summary(metric).Median, better*a.Summary(metric).Median)
	})
	for _, p := range sorted {
		r.Modes = append(r.Modes, RankedMode{Mode: p.Mode, Value: p.Summary(metric)})
	}
	if !r.ByLatency {
		r.Efficiency = efficiencyOf(sorted)
	}
	return r
}

func efficiencyOf(pts []*Point) *Efficiency {
	cost := func(t *results.Trial) float64 { return t.ServerCPUPerRequestUs }
	byCost := slices.Clone(pts)
	slices.SortStableFunc(byCost, func(a, b *Point) int { return cmp.Compare(a.Summary(cost).Median, b.Summary(cost).Median) })
	least, most := byCost[0], byCost[len(byCost)-1]
	e := &Efficiency{
		Least: ModeCPU{least.Mode, least.Summary(cost).Median},
		Most:  ModeCPU{most.Mode, most.Summary(cost).Median},
	}
	if e.Least.MicrosPerRequest <= 0 {
		return nil // an older record without the figure
	}
	for _, p := range pts {
		if p.LoadgenBound() > 0 {
			e.LoadgenBound = append(e.LoadgenBound, p.Mode)
		}
	}
	return e
}

// Evenness sorts the modes of a condition into the evenness classes.
type Evenness struct {
	Even, NearEven, Uneven []ModeSpread
}

// ModeSpread is how evenly a mode spread its work: medians over its
// repetitions, and per connection against chance.
type ModeSpread struct {
	Mode            string
	Class           EvenClass
	RequestsJain    float64
	ConnectionsJain float64
	// TopTwoConnections is the two busiest workers' share of connections.
	TopTwoConnections float64
	// BeyondChance of Reps repetitions had a per-connection Jain index
	// that chance alone gives less often than BeyondChance; Connections
	// is their median number of connections.
	BeyondChance, Reps int
	Connections        float64
}

func evennessOf(c *Condition) Evenness {
	var e Evenness
	for _, p := range c.Points {
		if len(p.Trials) == 0 || !p.SharesApply() {
			continue
		}
		req := p.Summary(func(t *results.Trial) float64 { return t.Fairness.Requests.Jain })
		conn := p.Summary(func(t *results.Trial) float64 { return t.Fairness.Connections.Jain })
		top := p.Summary(func(t *results.Trial) float64 { return t.Fairness.Connections.Top2Share })
		conns := p.Summary(func(t *results.Trial) float64 { return float64(sum(t.ConnectionCounts())) })
		s := ModeSpread{Mode: p.Mode, Class: ClassOf(min(req.Min, conn.Min)), RequestsJain: req.Median, ConnectionsJain: conn.Median,
			TopTwoConnections: top.Median, Reps: len(p.Trials), Connections: conns.Median}
		for _, t := range p.Trials {
			if a := AgainstChanceOf(t); a != nil && a.JainAtMost < BeyondChance {
				s.BeyondChance++
			}
		}
		switch s.Class {
		case Even:
			e.Even = append(e.Even, s)
		case NearEven:
			e.NearEven = append(e.NearEven, s)
		default:
			e.Uneven = append(e.Uneven, s)
		}
	}
	return e
}

// AgainstChance is where a trial's spread of connections falls in what
// chance alone gives for as many connections over as many workers.
type AgainstChance struct {
	Chance *ChanceSpread
	// TopTwoAtLeast is how often chance gives a top-two share at least
	// the measured one; JainAtMost a Jain index at most the measured one.
	TopTwoAtLeast, JainAtMost float64
}

// AgainstChanceOf reads t's per-connection fairness against chance; nil
// where shares do not apply or nothing was counted.
func AgainstChanceOf(t *results.Trial) *AgainstChance {
	counts := t.ConnectionCounts()
	n := sum(counts)
	if !SharesApply(t) || n == 0 || len(counts) < 2 {
		return nil
	}
	c := Chance(int(n), len(counts))
	f := t.Fairness.Connections
	return &AgainstChance{Chance: c, TopTwoAtLeast: c.TopTwo.AtLeast(f.Top2Share), JainAtMost: c.Jain.AtMost(f.Jain)}
}

// FirstPlaces counts, per mode, the conditions it ranked first in:
// throughput at maximum rate, p99 latency at a fixed rate.
type FirstPlaces struct {
	// Conditions counts the conditions that ranked modes.
	Conditions int
	// Modes is most first places first, then by name.
	Modes []ModeCount
}

// ModeCount is how often a mode did something.
type ModeCount struct {
	Mode  string
	Count int
}

func firstPlacesOf(wins map[string]int, ranked int) *FirstPlaces {
	f := &FirstPlaces{Conditions: ranked}
	for m, n := range wins {
		f.Modes = append(f.Modes, ModeCount{m, n})
	}
	slices.SortFunc(f.Modes, func(a, b ModeCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Mode, b.Mode)
	})
	return f
}

// FrontendCost is the CPU a mode spends beyond its workers: a master that
// hands over connections, or a proxy. Low and High are the lowest and
// highest median over its conditions, in cores.
type FrontendCost struct {
	Mode      string
	Role      string // "master" or "proxy"
	Low, High float64
}

// idleFrontendCores is what a serving process takes when idle: below it a
// mode has no frontend cost worth stating.
const idleFrontendCores = 0.05

func frontendCostsOf(points []*Point) []FrontendCost {
	costs := map[string]*FrontendCost{}
	var order []string
	for _, p := range points {
		if len(p.Trials) == 0 {
			continue
		}
		master := p.Summary(func(t *results.Trial) float64 { return t.CPU.MasterCores() }).Median
		proxy := p.Summary(func(t *results.Trial) float64 { return t.CPU.ProxyCores() }).Median
		role, cores := "master", master
		if proxy > master {
			role, cores = "proxy", proxy
		}
		c, ok := costs[p.Mode]
		if !ok {
			c = &FrontendCost{Mode: p.Mode, Role: role, Low: cores, High: cores}
			costs[p.Mode] = c
			order = append(order, p.Mode)
		}
		c.Low, c.High = min(c.Low, cores), max(c.High, cores)
		if role == "proxy" {
			c.Role = role
		}
	}
	var out []FrontendCost
	for _, m := range order {
		if c := costs[m]; c.High >= idleFrontendCores {
			out = append(out, *c)
		}
	}
	return out
}

// Counting is whether the client's and the workers' counts agreed, and
// what failed.
type Counting struct {
	// Trials counts every trial; Measured those that produced a measurement.
	Trials, Measured int
	// Disagree counts measured trials whose two sides' counts differ:
	// not agreeing, or with any mismatch, kernel's or worker's.
	Disagree int
	// Unreported counts processes that died without final counts: for
	// them the client's count stands.
	Unreported int
	// WorkersOnly counts measured trials that only the workers counted:
	// serve's record of a load from elsewhere, with no client to compare
	// with and no failed request to see.
	WorkersOnly int
	// FailedRequests is the failed requests of all measured trials, and
	// ModesWithErrors the modes they failed in.
	FailedRequests  uint64
	ModesWithErrors []string
}

func countingOf(r *results.Run) *Counting {
	if len(r.Trials) == 0 {
		return nil // interrupted before the first trial ended
	}
	trials := MeasuredTrials(r)
	c := &Counting{Trials: len(r.Trials), Measured: len(trials)}
	for _, t := range trials {
		if !t.ClientSide() {
			c.WorkersOnly++
			continue
		}
		if t.CountsDisagree() {
			c.Disagree++
		}
		c.Unreported += len(t.Unreported)
		if t.Errors > 0 {
			c.FailedRequests += t.Errors
			if !slices.Contains(c.ModesWithErrors, t.Label()) {
				c.ModesWithErrors = append(c.ModesWithErrors, t.Label())
			}
		}
	}
	return c
}
