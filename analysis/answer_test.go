package analysis

import (
	"math"
	"slices"
	"testing"

	"clusterbench/results"
)

// in is a trial moved to another experiment, handler or keep-alive setting.
func in(tr results.Trial, experiment, handler string, keepAlive bool) results.Trial {
	tr.Experiment, tr.Handler.Name, tr.KeepAlive = experiment, handler, keepAlive
	return tr
}

func TestAnswerRecommendation(t *testing.T) {
	even := []uint64{12, 12, 12, 12, 12, 12, 12, 12}
	bound := func(tr results.Trial, cpuUs float64) results.Trial {
		tr.LoadgenBound, tr.ServerCPUPerRequestUs = true, cpuUs
		return tr
	}
	withCPU := func(tr results.Trial, cpuUs float64) results.Trial {
		tr.ServerCPUPerRequestUs = cpuUs
		return tr
	}
	fixedRate := func(tr results.Trial, p99 float64) results.Trial {
		tr.Load.Rate, tr.Latency.P99 = 1000, p99
		return tr
	}
	killed := func(tr results.Trial, lost uint64) results.Trial {
		tr.Fault = &results.Fault{Kill: 1, Respawn: true, LostRequests: lost}
		return tr
	}
	tests := []struct {
		name        string
		trials      []results.Trial
		recommended []string
		basis       Basis
		certainty   Certainty
		runnerUp    string
		wins        int
	}{
		{name: "highest throughput when the server was the limit",
			trials:      []results.Trial{trial("a", 1, 900, even...), trial("a", 2, 950, even...), trial("b", 1, 1200, even...), trial("b", 2, 1250, even...)},
			recommended: []string{"b"}, basis: ByThroughput, certainty: Clear, wins: 1},
		{name: "least server CPU when the load generator was the limit",
			trials: []results.Trial{bound(trial("a", 1, 1200, even...), 90), bound(trial("a", 2, 1210, even...), 95),
				withCPU(trial("b", 1, 1000, even...), 60), withCPU(trial("b", 2, 1010, even...), 62)},
			recommended: []string{"b"}, basis: ByServerCPU, certainty: Clear, wins: 1},
		{name: "lowest p99 at a fixed rate, within the noise of the next",
			trials: []results.Trial{fixedRate(trial("a", 1, 1000, even...), 3), fixedRate(trial("a", 2, 1000, even...), 6),
				fixedRate(trial("b", 1, 1000, even...), 4), fixedRate(trial("b", 2, 1000, even...), 4.5)},
			recommended: []string{"b"}, basis: ByP99, certainty: WithinNoise, runnerUp: "a", wins: 1},
		{name: "fewest lost requests when a worker dies, whatever the throughput",
			trials:      []results.Trial{killed(trial("a", 1, 2000, even...), 30), killed(trial("b", 1, 1000, even...), 0)},
			recommended: []string{"b"}, basis: ByLostRequests, certainty: Indicative, wins: 1},
		{name: "equally damaged: the load's basis decides",
			trials:      []results.Trial{killed(trial("a", 1, 900, even...), 0), killed(trial("b", 1, 1000, even...), 0)},
			recommended: []string{"b"}, basis: ByLostRequests, certainty: Indicative, wins: 1},
		// a wins one handler by 1%, b the other by 50%: b is the safe choice.
		{name: "the smallest worst shortfall over the conditions",
			trials: []results.Trial{
				in(trial("a", 1, 1010, even...), "e", "light", true), in(trial("b", 1, 1000, even...), "e", "light", true),
				in(trial("a", 1, 500, even...), "e", "heavy", true), in(trial("b", 1, 1000, even...), "e", "heavy", true)},
			recommended: []string{"b"}, basis: ByThroughput, certainty: Indicative, wins: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := AnswerOf(run(tt.trials...))
			if len(a.Groups) != 1 {
				t.Fatalf("%d groups; want 1", len(a.Groups))
			}
			g := a.Groups[0]
			if !slices.Equal(g.Recommended, tt.recommended) || g.Basis != tt.basis || g.Certainty != tt.certainty || g.RunnerUp != tt.runnerUp || g.Wins != tt.wins {
				t.Errorf("recommended %v by %v, certainty %v (runner-up %q), %d wins; want %v by %v, %v (%q), %d",
					g.Recommended, g.Basis, g.Certainty, g.RunnerUp, g.Wins, tt.recommended, tt.basis, tt.certainty, tt.runnerUp, tt.wins)
			}
		})
	}
}

// One group per experiment and keep-alive setting, in order; the
// recommended mode's latency, evenness and chance come with it.
func TestAnswerGroups(t *testing.T) {
	skewed := []uint64{14, 9, 2, 2, 2, 1, 1, 1} // Jain 0.44 over 32 connections
	even := []uint64{4, 4, 4, 4, 4, 4, 4, 4}
	p99 := func(tr results.Trial, ms float64) results.Trial {
		tr.Latency.P99 = ms
		return tr
	}
	a := AnswerOf(run(
		in(p99(trial("shared", 1, 2000, skewed...), 4), "x", "trivial", true),
		in(p99(trial("reuseport", 1, 1000, even...), 3), "x", "trivial", true),
		in(p99(trial("shared", 1, 900, even...), 9), "x", "trivial", false),
		in(p99(trial("reuseport", 1, 1000, even...), 7), "x", "trivial", false),
		in(p99(trial("shared", 1, 800, even...), 12), "x", "cpu", false),
		in(p99(trial("reuseport", 1, 1000, even...), 8), "x", "cpu", false),
	))
	if len(a.Groups) != 2 {
		t.Fatalf("%d groups; want keep-alive on and off", len(a.Groups))
	}
	on, off := a.Groups[0], a.Groups[1]
	if !on.KeepAlive || on.Recommended[0] != "shared" || on.Class != Uneven || !on.BeyondChance || on.P99Low != 4 || on.P99High != 4 {
		t.Errorf("keep-alive on: %+v; want shared, uneven beyond chance, p99 4 ms", on)
	}
	if off.KeepAlive || off.Recommended[0] != "reuseport" || len(off.Choices) != 2 || off.Wins != 2 || off.Class != Even || off.P99Low != 7 || off.P99High != 8 {
		t.Errorf("keep-alive off: %+v; want reuseport first in both conditions, even, p99 7–8 ms", off)
	}
	if !slices.Equal(a.Evenest, []string{"reuseport"}) || a.EvenIn != 3 || a.In != 3 {
		t.Errorf("evenest %v in %d of %d; want reuseport in 3 of 3", a.Evenest, a.EvenIn, a.In)
	}
}

func TestAnswerEffect(t *testing.T) {
	above := trial("shared", 1, 100, 14, 10, 2, 2, 1, 1, 1, 1) // 24 of 32: 75%
	below := trial("shared", 2, 100, 8, 6, 4, 4, 4, 2, 2, 2)
	evenTrial := trial("reuseport", 1, 100, 4, 4, 4, 4, 4, 4, 4, 4)
	a := AnswerOf(run(above, below, evenTrial))
	e := a.Effect
	if e == nil || e.Above != 1 || e.Eligible != 3 || len(e.Modes) != 1 {
		t.Fatalf("effect %+v; want shared alone, 1 of 3 trials", e)
	}
	m := e.Modes[0]
	if m.Mode != "shared" || !m.KeepAlive || m.Proportion.K != 1 || m.Proportion.N != 2 || math.Abs(m.Proportion.Lo-0.01258) > 1e-4 {
		t.Errorf("shared: %+v; want 1 of 2 repetitions with keep-alive on, 95%% interval from 1.3%%", m)
	}
	if m.Chance == nil || m.Chance.Connections != 32 || m.ChanceAbove != m.Chance.TopTwo.Above(TopTwoClaim) || m.ChanceAbove > 1e-6 {
		t.Errorf("chance %+v, %v; want 32 connections over 8 workers, next to never", m.Chance, m.ChanceAbove)
	}

	none := AnswerOf(run(below, evenTrial)).Effect
	if none == nil || none.Above != 0 || len(none.Modes) != 0 || none.HighestTrial == nil || none.HighestTrial.Label() != "shared" || math.Abs(none.Highest-14.0/32) > 1e-9 {
		t.Errorf("effect %+v; want none, the highest 14 of 32 by shared", none)
	}
	if AnswerOf(run()).Effect != nil {
		t.Error("no trial: want no effect to state")
	}
}
