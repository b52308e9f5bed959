package analysis

import (
	"math"
	"reflect"
	"testing"
)

// TestChanceExactSmallCases checks the exact distributions against
// spreads counted by hand.
func TestChanceExactSmallCases(t *testing.T) {
	type point struct{ value, prob float64 }
	tests := []struct {
		name                 string
		connections, workers int
		topTwo, jain         []point
	}{
		// Two workers always hold everything; (2,0) and (1,1) are
		// equally likely: 2 of the 4 placements each.
		{"C=2 W=2", 2, 2, []point{{1, 1}}, []point{{0.5, 0.5}, {1, 0.5}}},
		// (4,0): 2 of 16 placements, Jain 16/32; (3,1): 8, Jain 16/20;
		// (2,2): 6, Jain 1.
		{"C=4 W=2", 4, 2, []point{{1, 1}}, []point{{0.5, 2.0 / 16}, {0.8, 8.0 / 16}, {1, 6.0 / 16}}},
		// (3,0,0): 3 of 27, (2,1,0): 18, (1,1,1): 6.
		{"C=3 W=3", 3, 3, []point{{2.0 / 3, 6.0 / 27}, {1, 21.0 / 27}}, []point{{1.0 / 3, 3.0 / 27}, {0.6, 18.0 / 27}, {1, 6.0 / 27}}},
		{"one worker takes all", 5, 1, []point{{1, 1}}, []point{{1, 1}}},
	}
	check := func(t *testing.T, what string, d Distribution, want []point) {
		t.Helper()
		if d.Resolution != 0 || len(d.atoms) != len(want) {
			t.Fatalf("%s: %+v; want exactly %v", what, d, want)
		}
		for i, w := range want {
			if a := d.atoms[i]; math.Abs(a.value-w.value) > 1e-12 || math.Abs(a.prob-w.prob) > 1e-12 {
				t.Errorf("%s value %d: %v with probability %v; want %v with %v", what, i, a.value, a.prob, w.value, w.prob)
			}
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Chance(tt.connections, tt.workers)
			if c.Draws != 0 {
				t.Fatalf("simulated %d draws; want the exact distribution", c.Draws)
			}
			check(t, "top two", c.TopTwo, tt.topTwo)
			check(t, "Jain", c.Jain, tt.jain)
		})
	}
}

func TestChanceTailsAndQuantiles(t *testing.T) {
	c := Chance(4, 2) // Jain 0.5 w.p. 1/8, 0.8 w.p. 1/2, 1 w.p. 3/8
	tests := []struct {
		name      string
		got, want float64
	}{
		{"P(Jain ≤ 0.5)", c.Jain.AtMost(0.5), 1.0 / 8},
		{"P(Jain ≤ 0.8)", c.Jain.AtMost(0.8), 5.0 / 8},
		{"P(Jain ≤ 0.7)", c.Jain.AtMost(0.7), 1.0 / 8},
		{"P(Jain ≥ 0.8)", c.Jain.AtLeast(0.8), 7.0 / 8},
		{"P(Jain ≥ 1)", c.Jain.AtLeast(1), 3.0 / 8},
		{"P(Jain > 0.8)", c.Jain.Above(0.8), 3.0 / 8},
		{"P(Jain > 0.7)", c.Jain.Above(0.7), 7.0 / 8},
		{"median Jain", c.Jain.Quantile(0.5), 0.8},
		{"10th percentile Jain", c.Jain.Quantile(0.1), 0.5},
		{"90th percentile Jain", c.Jain.Quantile(0.9), 1},
		// A share computed in another order still counts as the same value.
		{"P(top two ≥ 1 - ulp)", c.TopTwo.AtLeast(1 - 1e-15), 1},
	}
	for _, tt := range tests {
		if math.Abs(tt.got-tt.want) > 1e-12 {
			t.Errorf("%s = %v; want %v", tt.name, tt.got, tt.want)
		}
	}
}

// A simulation gives the same answer every time, and the cache returns it.
func TestChanceIsDeterministic(t *testing.T) {
	a, b := simulatedChance(100, 8), simulatedChance(100, 8)
	if !reflect.DeepEqual(a, b) {
		t.Error("two simulations of 100 connections over 8 workers differ")
	}
	if a.Draws != ChanceDraws || a.TopTwo.Resolution != 1.0/ChanceDraws {
		t.Errorf("draws %d, resolution %v; want %d, 1/%d", a.Draws, a.TopTwo.Resolution, ChanceDraws, ChanceDraws)
	}
	if Chance(5000, 8) != Chance(5000, 8) {
		t.Error("Chance is computed again for the same question; want it cached")
	}
}

// The simulation agrees with the exact distribution where both exist, and
// its normal approximation with placing every connection.
func TestChanceSimulationAgrees(t *testing.T) {
	exact, sim := exactChance(32, 8), simulatedChance(32, 8)
	if exact == nil {
		t.Fatal("32 connections over 8 workers: want an exact distribution")
	}
	for _, q := range []float64{0.01, 0.5, 0.99} {
		if e, s := exact.TopTwo.Quantile(q), sim.TopTwo.Quantile(q); math.Abs(e-s) > 1.0/32+1e-9 {
			t.Errorf("top-two quantile %v: exact %v, simulated %v; want within one connection", q, e, s)
		}
		if e, s := exact.Jain.Quantile(q), sim.Jain.Quantile(q); math.Abs(e-s) > 0.02 {
			t.Errorf("Jain quantile %v: exact %v, simulated %v", q, e, s)
		}
	}
	// 400 connections: the normal approximation; 399: one by one.
	normal, each := simulatedChance(400, 8), simulatedChance(399, 8)
	for _, q := range []float64{0.01, 0.5, 0.99} {
		if n, e := normal.Jain.Quantile(q), each.Jain.Quantile(q); math.Abs(n-e) > 0.005 {
			t.Errorf("Jain quantile %v: %v by the normal approximation, %v connection by connection", q, n, e)
		}
	}
}

// More connections spread closer to even: the chance of a given top-two
// share falls, and it falls as the share rises.
func TestChanceMonotonic(t *testing.T) {
	prevMedian, prevTail := 1.0, 1.0
	for _, c := range []int{8, 16, 32, 64, 256, 4096} {
		d := Chance(c, 8)
		median, tail := d.TopTwo.Quantile(0.5), d.TopTwo.AtLeast(0.45)
		if median > prevMedian || tail > prevTail {
			t.Errorf("%d connections: median top two %v, P(≥ 45%%) %v; want at most %v and %v as with fewer", c, median, tail, prevMedian, prevTail)
		}
		prevMedian, prevTail = median, tail
		prev := 1.0
		for x := 0.25; x <= 1; x += 0.05 {
			if p := d.TopTwo.AtLeast(x); p > prev {
				t.Errorf("%d connections: P(top two ≥ %v) = %v > P(≥ %v) = %v", c, x, p, x-0.05, prev)
			}
			prev = d.TopTwo.AtLeast(x)
		}
	}
}

func TestChanceOfNothing(t *testing.T) {
	if Chance(10, 0) != nil {
		t.Error("no workers: want no distribution")
	}
	if c := Chance(0, 8); c.TopTwo.Quantile(0.5) != 0 || c.Jain.AtMost(0) != 1 {
		t.Errorf("no connections: %+v; want a share of nothing", c)
	}
}
