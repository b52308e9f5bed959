package analysis

import (
	"math"
	"testing"
)

func TestProportionOf(t *testing.T) {
	tests := []struct {
		k, n   int
		lo, hi float64
	}{
		// None of n: [0, 1 − (α/2)^(1/n)]; all of n: [(α/2)^(1/n), 1].
		{0, 10, 0, 1 - math.Pow(0.025, 0.1)},
		{10, 10, math.Pow(0.025, 0.1), 1},
		{0, 2, 0, 1 - math.Sqrt(0.025)},
		// Published Clopper-Pearson intervals (5 of 10, 1 of 2) and one
		{5, 10, 0.18709, 0.81291},
		{1, 2, 0.01258, 0.98742},
		{7, 165, 0.01722, 0.08545}, // by Python's math.comb sums
		{0, 0, 0, 1},
	}
	for _, tt := range tests {
		got := ProportionOf(tt.k, tt.n)
		if math.Abs(got.Lo-tt.lo) > 5e-5 || math.Abs(got.Hi-tt.hi) > 5e-5 || got.K != tt.k || got.N != tt.n {
			t.Errorf("ProportionOf(%d, %d) = %+v; want [%.5f, %.5f]", tt.k, tt.n, got, tt.lo, tt.hi)
		}
	}
}
