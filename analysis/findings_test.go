package analysis

import (
	"math"
	"slices"
	"testing"

	"clusterbench/results"
)

// run is a run of the given trials.
func run(trials ...results.Trial) *results.Run { return &results.Run{Trials: trials} }

// rep is a trial changed by edit, for the one field a case is about.
func rep(t results.Trial, edit func(*results.Trial)) results.Trial {
	edit(&t)
	return t
}

func TestTopTwo(t *testing.T) {
	tests := []struct {
		name         string
		run          *results.Run
		wantNil      bool
		eligible     int
		above        []string // modes of the points above the claim
		aboveTotal   int
		leftOut      int
		highestOn    string // mode of the highest trial with keep-alive on
		highestShare float64
	}{
		{name: "no trial", run: run(), wantNil: true},
		{name: "two workers never count", run: run(trial("shared", 1, 100, 90, 10)), wantNil: true},
		{name: "even split stays below the claim",
			run:      run(trial("reuseport", 1, 100, 12, 12, 12, 12, 12, 12, 12, 12)),
			eligible: 1, highestOn: "reuseport", highestShare: 0.25},
		{name: "78 of 96 connections in two workers is above 70%",
			run: run(
				trial("shared", 1, 900, 40, 38, 3, 3, 3, 3, 3, 3),
				trial("shared", 2, 950, 20, 18, 10, 10, 10, 10, 10, 10),
				trial("reuseport", 1, 1000, 12, 12, 12, 12, 12, 12, 12, 12)),
			eligible: 3, above: []string{"shared"}, aboveTotal: 1, highestOn: "shared", highestShare: 78.0 / 96},
		{name: "exactly 70% is not more than 70%",
			run:      run(trial("shared", 1, 100, 35, 35, 10, 10, 10)),
			eligible: 1, highestOn: "shared", highestShare: 0.70},
		// Five of six connections in two workers is chance, not a finding.
		{name: "too few connections are left out",
			run:     run(trial("shared", 1, 100, 3, 2, 1, 0, 0, 0, 0, 0)),
			leftOut: 1},
		{name: "four connections per worker are enough",
			run:      run(trial("shared", 1, 100, 15, 14, 1, 1, 1)), // 32 connections, 5 workers: 6.4 each
			eligible: 1, above: []string{"shared"}, aboveTotal: 1, highestOn: "shared", highestShare: 29.0 / 32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := topTwoOf(Points(tt.run))
			if tt.wantNil {
				if got != nil {
					t.Fatalf("got %+v; want no finding", got)
				}
				return
			}
			if got == nil {
				t.Fatal("got no finding")
			}
			var above []string
			for _, p := range got.Above {
				above = append(above, p.Point.Mode)
			}
			if got.Eligible != tt.eligible || !slices.Equal(above, tt.above) || got.AboveTotal() != tt.aboveTotal || len(got.LeftOut) != tt.leftOut {
				t.Errorf("eligible %d, above %v (%d trials), left out %d; want %d, %v (%d), %d",
					got.Eligible, above, got.AboveTotal(), len(got.LeftOut), tt.eligible, tt.above, tt.aboveTotal, tt.leftOut)
			}
			h := got.Highest[true]
			switch {
			case tt.highestOn == "" && h != nil:
				t.Errorf("highest %s; want none", h.Label())
			case tt.highestOn != "" && (h == nil || h.Label() != tt.highestOn || math.Abs(h.Fairness.Connections.Top2Share-tt.highestShare) > 1e-9):
				t.Errorf("highest %+v; want %s at %.3f", h, tt.highestOn, tt.highestShare)
			}
			if got.Highest[false] != nil {
				t.Error("a highest trial without keep-alive, but every trial had it on")
			}
		})
	}
}

// A point above the claim lists every repetition that counts, with its
// share and its connections, so a reader sees how much a share means.
func TestTopTwoPointKeepsItsRepetitions(t *testing.T) {
	got := topTwoOf(Points(run(
		trial("shared", 1, 900, 40, 38, 3, 3, 3, 3, 3, 3),
		trial("shared", 2, 950, 20, 18, 10, 10, 10, 10, 10, 10),
	)))
	if len(got.Above) != 1 {
		t.Fatalf("%d points above the claim; want 1", len(got.Above))
	}
	p := got.Above[0]
	if p.Above != 1 || len(p.Reps) != 2 || p.Reps[0].Connections != 96 || p.Reps[1].Connections != 98 ||
		math.Abs(p.Reps[0].Share-78.0/96) > 1e-9 || math.Abs(p.Reps[1].Share-38.0/98) > 1e-9 {
		t.Errorf("point %+v; want 1 of 2 repetitions above, 78 of 96 and 38 of 98 connections", p)
	}
	// 1 of 2 repetitions: the exact 95% interval is [0.013, 0.987].
	if pr := p.Proportion; pr.K != 1 || pr.N != 2 || math.Abs(pr.Lo-0.01258) > 1e-4 || math.Abs(pr.Hi-0.98742) > 1e-4 {
		t.Errorf("proportion %+v; want 1 of 2 in [0.013, 0.987]", pr)
	}
	// Chance is read for the fewer connections, 96, where it is likeliest.
	if p.Chance == nil || p.Chance.Connections != 96 || p.ChanceAbove != p.Chance.TopTwo.Above(TopTwoClaim) || p.ChanceAbove > 1e-6 {
		t.Errorf("chance %+v above %v; want 96 connections over 8 workers, next to never above 70%%", p.Chance, p.ChanceAbove)
	}
	if c := p.Reps[0].ChanceAtLeast(); c >= p.Reps[1].ChanceAtLeast() || c > 1e-6 {
		t.Errorf("chance of 78 of 96 is %v, of 38 of 98 %v; want the higher share far rarer", c, p.Reps[1].ChanceAtLeast())
	}
}

// With few connections chance alone often gives two workers more than
// 70%: 12 connections over 8 workers do in about 1% of spreads.
func TestTopTwoChanceWithFewConnections(t *testing.T) {
	c := Chance(12, 8)
	if p := c.TopTwo.Above(TopTwoClaim); p < 0.005 || p > 0.02 {
		t.Errorf("P(top two > 70%% of 12 over 8) = %v; want about 1%%", p)
	}
	if p := c.TopTwo.AtLeast(0.5); p < 0.5 {
		t.Errorf("P(top two ≥ 50%% of 12 over 8) = %v; want the median or more", p)
	}
}

func TestEvenness(t *testing.T) {
	tests := []struct {
		name                   string
		trials                 []results.Trial
		even, nearEven, uneven []string
	}{
		{name: "perfectly even", trials: []results.Trial{trial("reuseport", 1, 100, 10, 10, 10, 10)}, even: []string{"reuseport"}},
		{name: "one worker takes most", trials: []results.Trial{trial("shared", 1, 100, 70, 10, 10, 10)}, uneven: []string{"shared"}},
		// Jain of 11,12,…: 0.998, still even.
		{name: "a split within a connection of even is even", trials: []results.Trial{trial("shared", 1, 100, 12, 11, 12, 12, 12, 12, 12, 12)}, even: []string{"shared"}},
		// Jain of 14,14,10,…: 0.985 is near-even, not in one class with 0.5.
		{name: "Jain 0.985 is near-even",
			trials:   []results.Trial{trial("iptables", 1, 100, 14, 14, 12, 12, 12, 12, 10, 10), trial("shared", 1, 100, 40, 40, 2, 2, 2, 2, 2, 2)},
			nearEven: []string{"iptables"}, uneven: []string{"shared"}},
		{name: "below Jain 0.95 is uneven",
			trials:   []results.Trial{trial("a", 1, 100, 12, 8), trial("b", 1, 100, 13, 7)}, // 0.962, 0.917
			nearEven: []string{"a"}, uneven: []string{"b"}},
		{name: "even only if every repetition is",
			trials: []results.Trial{trial("shared", 1, 100, 10, 10, 10, 10), trial("shared", 2, 100, 40, 0, 0, 0)},
			uneven: []string{"shared"}},
		{name: "the worse of requests and connections decides",
			trials: []results.Trial{rep(trial("roundrobin", 1, 100, 10, 10, 10, 10), func(t *results.Trial) {
				t.Fairness.Connections = FairnessOf([]uint64{4, 1, 1, 1})
			})},
			uneven: []string{"roundrobin"}},
		{name: "failed modes are not judged",
			trials: []results.Trial{rep(trial("nginx", 1, 0, 0, 0), func(t *results.Trial) { t.Error = "did not start" })}},
	}
	modes := func(ms []ModeSpread) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Mode)
		}
		return out
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conds := Conditions(Points(run(tt.trials...)))
			got := evennessOf(conds[0])
			if !slices.Equal(modes(got.Even), tt.even) || !slices.Equal(modes(got.NearEven), tt.nearEven) || !slices.Equal(modes(got.Uneven), tt.uneven) {
				t.Errorf("even %v, near-even %v, uneven %v; want %v, %v, %v",
					modes(got.Even), modes(got.NearEven), modes(got.Uneven), tt.even, tt.nearEven, tt.uneven)
			}
		})
	}
}

func TestClassOf(t *testing.T) {
	for _, tt := range []struct {
		jain float64
		want EvenClass
	}{{1, Even}, {EvenJain, Even}, {0.985, NearEven}, {NearEvenJain, NearEven}, {0.9499, Uneven}, {0.51, Uneven}} {
		if got := ClassOf(tt.jain); got != tt.want {
			t.Errorf("ClassOf(%v) = %v; want %v", tt.jain, got, tt.want)
		}
	}
}

// Uneven is judged against chance too: 32 connections over 8 workers at
// Jain 0.84 is what chance gives; at 0.5 it is not.
func TestEvennessAgainstChance(t *testing.T) {
	chanceLike := trial("reuseport", 1, 100, 7, 6, 4, 4, 4, 3, 2, 2) // Jain 0.84
	skewed := trial("shared", 1, 100, 14, 9, 2, 2, 2, 1, 1, 1)       // Jain 0.44
	e := evennessOf(Conditions(Points(run(chanceLike, skewed)))[0])
	if len(e.Uneven) != 2 {
		t.Fatalf("uneven %+v; want both", e.Uneven)
	}
	if m := e.Uneven[0]; m.Mode != "reuseport" || m.BeyondChance != 0 || m.Reps != 1 || m.Connections != 32 {
		t.Errorf("%+v; want reuseport within chance in its 1 repetition of 32 connections", m)
	}
	if m := e.Uneven[1]; m.Mode != "shared" || m.BeyondChance != 1 {
		t.Errorf("%+v; want shared beyond chance in 1 repetition", m)
	}
	a := AgainstChanceOf(&skewed)
	if a == nil || a.TopTwoAtLeast >= BeyondChance || a.JainAtMost >= BeyondChance || a.Chance.Connections != 32 || a.Chance.Workers != 8 {
		t.Errorf("against chance %+v; want both tails below %v for 32 connections over 8 workers", a, BeyondChance)
	}
}

// The uneven list carries the medians it states.
func TestEvennessMedians(t *testing.T) {
	got := evennessOf(Conditions(Points(run(trial("shared", 1, 100, 6, 2))))[0])
	if len(got.Uneven) != 1 {
		t.Fatalf("uneven %v; want shared", got.Uneven)
	}
	if m := got.Uneven[0]; m.RequestsJain != 0.8 || m.ConnectionsJain != 0.8 || m.TopTwoConnections != 1 {
		t.Errorf("shared %+v; want Jain 0.8 both ways and the top two taking all", m)
	}
}

func TestRanking(t *testing.T) {
	openLoop := func(tr results.Trial, p99 float64) results.Trial {
		tr.Load.Rate, tr.Latency.P99 = 1000, p99
		return tr
	}
	cpu := func(tr results.Trial, us float64, bound bool) results.Trial {
		tr.ServerCPUPerRequestUs, tr.LoadgenBound = us, bound
		return tr
	}
	tests := []struct {
		name      string
		trials    []results.Trial
		wantNil   bool
		byLatency bool
		order     []string
		overlap   string // "yes", "no" or "" for no ranges
		least     string // "" for no efficiency
		most      string
		bound     []string
	}{
		{name: "one mode is not a ranking", trials: []results.Trial{trial("shared", 1, 100, 5, 5)}, wantNil: true},
		{name: "highest throughput first at maximum rate",
			trials: []results.Trial{trial("reuseport", 1, 900, 5, 5), trial("shared", 1, 1200, 5, 5), trial("roundrobin", 1, 1000, 5, 5)},
			order:  []string{"shared", "roundrobin", "reuseport"}},
		{name: "lowest p99 first at a fixed rate",
			trials:    []results.Trial{openLoop(trial("shared", 1, 1000, 5, 5), 9), openLoop(trial("reuseport", 1, 1000, 5, 5), 3)},
			byLatency: true, order: []string{"reuseport", "shared"}},
		{name: "ranges apart",
			trials:  []results.Trial{trial("shared", 1, 1000, 5, 5), trial("shared", 2, 1100, 5, 5), trial("reuseport", 1, 800, 5, 5), trial("reuseport", 2, 900, 5, 5)},
			order:   []string{"shared", "reuseport"},
			overlap: "no"},
		{name: "ranges overlap",
			trials:  []results.Trial{trial("shared", 1, 1000, 5, 5), trial("shared", 2, 1100, 5, 5), trial("reuseport", 1, 900, 5, 5), trial("reuseport", 2, 1050, 5, 5)},
			order:   []string{"shared", "reuseport"},
			overlap: "yes"},
		{name: "efficiency by server CPU per request, and who the load generator limited",
			trials: []results.Trial{cpu(trial("shared", 1, 1000, 5, 5), 40, false), cpu(trial("roundrobin", 1, 900, 5, 5), 90, true),
				cpu(trial("reuseport", 1, 950, 5, 5), 30, false)},
			order: []string{"shared", "reuseport", "roundrobin"},
			least: "reuseport", most: "roundrobin", bound: []string{"roundrobin"}},
		{name: "no efficiency at a fixed rate",
			trials:    []results.Trial{cpu(openLoop(trial("shared", 1, 1000, 5, 5), 2), 40, false), cpu(openLoop(trial("reuseport", 1, 1000, 5, 5), 3), 30, false)},
			byLatency: true, order: []string{"shared", "reuseport"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := conditionFindingOf(Conditions(Points(run(tt.trials...)))[0])
			if !ok {
				t.Fatal("no finding for a measured condition")
			}
			r := f.Ranking
			if tt.wantNil {
				if r != nil {
					t.Errorf("ranking %+v; want none", r)
				}
				return
			}
			if r == nil {
				t.Fatal("no ranking")
			}
			var order []string
			for _, m := range r.Modes {
				order = append(order, m.Mode)
			}
			if r.ByLatency != tt.byLatency || !slices.Equal(order, tt.order) {
				t.Errorf("by latency %v, order %v; want %v, %v", r.ByLatency, order, tt.byLatency, tt.order)
			}
			overlap, known := r.IntervalsOverlap()
			gotOverlap := map[[2]bool]string{{false, false}: "", {true, true}: "yes", {false, true}: "no"}[[2]bool{overlap, known}]
			if gotOverlap != tt.overlap {
				t.Errorf("intervals overlap %q; want %q", gotOverlap, tt.overlap)
			}
			e := r.Efficiency
			switch {
			case tt.least == "" && e != nil:
				t.Errorf("efficiency %+v; want none", e)
			case tt.least != "" && (e == nil || e.Least.Mode != tt.least || e.Most.Mode != tt.most || !slices.Equal(e.LoadgenBound, tt.bound)):
				t.Errorf("efficiency %+v; want least %s, most %s, bound %v", e, tt.least, tt.most, tt.bound)
			}
		})
	}
}

func TestFirstPlaces(t *testing.T) {
	cond := func(mode string, workers int, thr float64) results.Trial {
		counts := make([]uint64, workers)
		for i := range counts {
			counts[i] = 5
		}
		return trial(mode, 1, thr, counts...)
	}
	tests := []struct {
		name   string
		trials []results.Trial
		want   *FirstPlaces
	}{
		{name: "one ranked condition has no tally",
			trials: []results.Trial{cond("shared", 2, 10), cond("reuseport", 2, 9)}},
		{name: "most first places first, then by name",
			trials: []results.Trial{
				cond("shared", 2, 10), cond("reuseport", 2, 9),
				cond("shared", 4, 10), cond("reuseport", 4, 11),
				cond("shared", 8, 10), cond("reuseport", 8, 12),
			},
			want: &FirstPlaces{Conditions: 3, Modes: []ModeCount{{"reuseport", 2}, {"shared", 1}}}},
		{name: "a tie goes by name",
			trials: []results.Trial{cond("shared", 2, 10), cond("reuseport", 2, 9), cond("shared", 4, 10), cond("reuseport", 4, 11)},
			want:   &FirstPlaces{Conditions: 2, Modes: []ModeCount{{"reuseport", 1}, {"shared", 1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FindingsOf(run(tt.trials...)).FirstPlaces
			if (got == nil) != (tt.want == nil) || got != nil && (got.Conditions != tt.want.Conditions || !slices.Equal(got.Modes, tt.want.Modes)) {
				t.Errorf("first places %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestFrontendCosts(t *testing.T) {
	withCPU := func(tr results.Trial, master, proxy float64) results.Trial {
		tr.CPU = results.CPU{MasterSeconds: master, ProxySeconds: proxy, ServingSeconds: 1}
		return tr
	}
	tests := []struct {
		name   string
		trials []results.Trial
		want   []FrontendCost
	}{
		{name: "an idle master costs nothing worth saying",
			trials: []results.Trial{withCPU(trial("shared", 1, 100, 5, 5), 0.01, 0)}},
		{name: "a master's cores, lowest to highest condition",
			trials: []results.Trial{withCPU(trial("roundrobin", 1, 100, 5, 5), 0.3, 0), withCPU(trial("roundrobin", 1, 100, 5, 5, 5, 5), 0.6, 0)},
			want:   []FrontendCost{{Mode: "roundrobin", Role: "master", Low: 0.3, High: 0.6}}},
		{name: "a proxy busier than its master is the cost",
			trials: []results.Trial{withCPU(trial("nginx", 1, 100, 5, 5), 0.01, 0.8)},
			want:   []FrontendCost{{Mode: "nginx", Role: "proxy", Low: 0.8, High: 0.8}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := frontendCostsOf(Points(run(tt.trials...))); !slices.Equal(got, tt.want) {
				t.Errorf("costs %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestCounting(t *testing.T) {
	failed := func(tr results.Trial) results.Trial { tr.Error = "did not start"; return tr }
	tests := []struct {
		name   string
		trials []results.Trial
		want   *Counting
	}{
		{name: "no trial, nothing to say"},
		{name: "all agree, none failed",
			trials: []results.Trial{trial("shared", 1, 100, 5, 5), trial("reuseport", 1, 100, 5, 5)},
			want:   &Counting{Trials: 2, Measured: 2}},
		{name: "disagreement, errors and failures are counted",
			trials: []results.Trial{
				rep(trial("shared", 1, 100, 5, 5), func(t *results.Trial) { t.CountsAgree = false; t.Errors = 3 }),
				rep(trial("shared", 2, 100, 5, 5), func(t *results.Trial) { t.Errors = 2; t.Unreported = []string{"worker 0", "worker 1"} }),
				rep(trial("reuseport", 1, 100, 5, 5), func(t *results.Trial) { t.Errors = 1 }),
				failed(trial("nginx", 1, 0, 0, 0)),
			},
			want: &Counting{Trials: 4, Measured: 3, Disagree: 1, Unreported: 2, FailedRequests: 6, ModesWithErrors: []string{"shared", "reuseport"}}},
		{name: "a mismatch is a disagreement, even where the flag says agree",
			trials: []results.Trial{
				rep(trial("shared", 1, 100, 5, 5), func(t *results.Trial) { t.Mismatches = []string{"worker 0: client counted 5 requests, worker 4"} }),
				trial("shared", 2, 100, 5, 5),
			},
			want: &Counting{Trials: 2, Measured: 2, Disagree: 1}},
		{name: "nothing measured",
			trials: []results.Trial{failed(trial("nginx", 1, 0, 0, 0))},
			want:   &Counting{Trials: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := countingOf(run(tt.trials...))
			if (got == nil) != (tt.want == nil) {
				t.Fatalf("counting %+v; want %+v", got, tt.want)
			}
			if got != nil && (got.Trials != tt.want.Trials || got.Measured != tt.want.Measured || got.Disagree != tt.want.Disagree ||
				got.Unreported != tt.want.Unreported || got.FailedRequests != tt.want.FailedRequests || !slices.Equal(got.ModesWithErrors, tt.want.ModesWithErrors)) {
				t.Errorf("counting %+v; want %+v", got, tt.want)
			}
		})
	}
}

// Each Node mode stands beside its Go sibling, the Go mode's default
// policy (Node's own design) first, and only where both were measured.
func TestSiblings(t *testing.T) {
	withMaster := func(tr results.Trial, master float64) results.Trial {
		tr.CPU = results.CPU{MasterSeconds: master, ServingSeconds: 1}
		return tr
	}
	got := siblingsOf(Conditions(Points(run(
		withMaster(trial("roundrobin:rotate", 1, 9000, 25, 25, 25, 25), 0.4),
		withMaster(trial("roundrobin:free", 1, 8000, 25, 25, 25, 25), 0.5),
		withMaster(trial("node-rr", 1, 2000, 25, 25, 25, 25), 0.9),
		trial("node-none", 1, 7000, 70, 10, 10, 10),
		trial("node-none", 2, 7400, 60, 20, 10, 10),
	))))
	if len(got) != 1 {
		t.Fatalf("%d comparisons; want node-rr only (node-none has no shared beside it)", len(got))
	}
	c := got[0]
	if c.Node.Mode != "node-rr" || c.Go.Mode != "roundrobin:free" || !c.Sibling.Master ||
		c.Node.ThroughputRPS != 2000 || c.Go.ThroughputRPS != 8000 || c.Node.MasterCores != 0.9 || c.Go.MasterCores != 0.5 || c.Go.TopTwo != 0.5 {
		t.Errorf("comparison %+v; want node-rr (2000 req/s, master 0.9) beside roundrobin:free (8000, 0.5, top two 50%%)", c)
	}

	// Of shared's policies, race is Node's design: libuv does not wait
	// with EPOLLEXCLUSIVE either.
	got = siblingsOf(Conditions(Points(run(
		trial("shared:exclusive", 1, 9000, 25, 25, 25, 25),
		trial("shared:race", 1, 8000, 25, 25, 25, 25),
		trial("shared:blocking", 1, 8500, 25, 25, 25, 25),
		trial("node-none", 1, 7000, 70, 10, 10, 10),
	))))
	if len(got) != 1 || got[0].Go.Mode != "shared:race" || got[0].Go.ThroughputRPS != 8000 {
		t.Errorf("comparisons %+v; want node-none beside shared:race", got)
	}
}

// faultTrial is a trial of 4 workers whose worker 0 was killed at 1s,
// losing lost requests, with a replacement serving after recovery
// seconds (nil: none within the trial).
func faultTrial(mode string, r int, lost uint64, recovery *float64) results.Trial {
	t := trial(mode, r, 1000, 250, 250, 250, 250)
	t.Fault = &results.Fault{Kill: 1, Signal: "SIGKILL", Respawn: true, AtSeconds: 1, LostRequests: lost, RecoverySeconds: recovery}
	if lost > 0 {
		t.Fault.ErrorsForSeconds = 0.012
	}
	return t
}

func ptr(v float64) *float64 { return &v }

func TestFaultFindings(t *testing.T) {
	killAll := func(tr results.Trial, closed *float64, refused uint64) results.Trial {
		tr.Fault.Kill, tr.Fault.Respawn, tr.Fault.PortClosedSeconds = 4, false, closed
		tr.Fault.After.ErrorKinds = map[string]uint64{"refused": refused}
		return tr
	}
	tests := []struct {
		name       string
		trials     []results.Trial
		byLost     []string
		byRecovery []string
		recovered  map[string]bool
		allKilled  *AllKilled
	}{
		{name: "fewest lost first, quickest recovery first, never last",
			trials: []results.Trial{
				faultTrial("reuseport", 1, 16, ptr(0.029)), faultTrial("reuseport", 2, 20, nil),
				faultTrial("roundrobin", 1, 0, ptr(0.021)), faultTrial("roundrobin", 2, 0, ptr(0.025)),
				faultTrial("shared", 1, 5, ptr(0.010)),
			},
			byLost:     []string{"roundrobin", "shared", "reuseport"},
			byRecovery: []string{"shared", "roundrobin", "reuseport"},
			recovered:  map[string]bool{"roundrobin": true, "shared": true, "reuseport": false}},
		{name: "every worker killed for good",
			trials: []results.Trial{
				killAll(faultTrial("shared", 1, 500, nil), ptr(0.006), 40),
				killAll(faultTrial("reuseport", 1, 600, nil), nil, 0),
			},
			byLost:     []string{"shared", "reuseport"},
			byRecovery: []string{"shared", "reuseport"},
			recovered:  map[string]bool{"shared": false, "reuseport": false},
			allKilled:  &AllKilled{Trials: 2, PortClosed: 1, Refused: 1}},
	}
	modes := func(ds []FaultDamage) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Mode)
		}
		return out
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := faultFindingsOf(Conditions(Points(run(tt.trials...))))
			if len(got) != 1 {
				t.Fatalf("%d fault findings; want 1", len(got))
			}
			f := got[0]
			if !slices.Equal(modes(f.Modes), tt.byLost) || !slices.Equal(modes(f.ByRecovery()), tt.byRecovery) {
				t.Errorf("by lost %v, by recovery %v; want %v, %v", modes(f.Modes), modes(f.ByRecovery()), tt.byLost, tt.byRecovery)
			}
			for _, d := range f.Modes {
				if d.Recovered != tt.recovered[d.Mode] {
					t.Errorf("%s recovered %v; want %v", d.Mode, d.Recovered, tt.recovered[d.Mode])
				}
			}
			if (f.AllKilled == nil) != (tt.allKilled == nil) || f.AllKilled != nil && *f.AllKilled != *tt.allKilled {
				t.Errorf("all killed %+v; want %+v", f.AllKilled, tt.allKilled)
			}
		})
	}
}

// The damage figures are medians over repetitions.
func TestFaultDamageMedians(t *testing.T) {
	f := faultFindingsOf(Conditions(Points(run(
		faultTrial("reuseport", 1, 16, ptr(0.020)), faultTrial("reuseport", 2, 20, ptr(0.030)),
	))))[0]
	if d := f.Modes[0]; d.LostRequests != 18 || d.ErrorsForSeconds != 0.012 || math.Abs(d.RecoverySeconds-0.025) > 1e-12 || !d.Recovered {
		t.Errorf("damage %+v; want 18 lost, errors for 12 ms, recovered after 25 ms", d)
	}
	if none := faultFindingsOf(Conditions(Points(run(trial("shared", 1, 100, 5, 5))))); len(none) != 0 {
		t.Errorf("fault findings %+v for a run without a fault", none)
	}
}

func TestLoadgenLimits(t *testing.T) {
	bound := func(tr results.Trial, reason string) results.Trial {
		tr.LoadgenBound, tr.LoadgenBoundReason = true, reason
		return tr
	}
	got := LoadgenLimits(run(
		trial("shared", 1, 100, 5, 5),
		bound(trial("reuseport", 1, 100, 5, 5), "sent 10 of 20"),
		bound(trial("reuseport", 2, 100, 5, 5), "sent 11 of 20"),
		bound(trial("shared", 2, 100, 5, 5), "sent 12 of 20"),
		rep(trial("shared", 3, 100, 5, 5), func(t *results.Trial) { t.Load.Name = "rate-1000" }),
	))
	if len(got) != 1 {
		t.Fatalf("%d limits; want one, for load max-c32 (rate-1000 was never bound)", len(got))
	}
	l := got[0]
	if l.Experiment != "e" || l.Load != "max-c32" || l.Engine != "vegeta" || l.Bound != 3 || l.Trials != 4 ||
		!slices.Equal(l.Modes, []string{"reuseport", "shared"}) || l.Example.LoadgenBoundReason != "sent 10 of 20" {
		t.Errorf("limit %+v; want e/max-c32 bound in 3 of 4 trials, reuseport then shared, the first reason quoted", l)
	}
}
