package analysis

import (
	"testing"

	"clusterbench/results"
)

// TestOneProcessHasNoShares: a point of one process serving as every
// worker has no shares to rank, and the finding on two workers taking
// most connections leaves it out.
func TestOneProcessHasNoShares(t *testing.T) {
	single := trial("single", 1, 100, 900)
	single.Workers, single.Threads = 4, 4
	single.Fairness = results.FairnessPair{}
	r := &results.Run{Trials: []results.Trial{single, trial("shared", 1, 100, 600, 200, 50, 50)}}
	points := Points(r)
	if points[0].SharesApply() || !points[1].SharesApply() {
		t.Fatalf("shares apply to single %v, shared %v; want false, true", points[0].SharesApply(), points[1].SharesApply())
	}
	if s := points[0].SortedShares((*results.Trial).ConnectionCounts); s != nil {
		t.Errorf("single's shares %v; want none", s)
	}
	if s := points[1].SortedShares((*results.Trial).ConnectionCounts); len(s) != 4 {
		t.Errorf("shared's shares %v; want four ranks", s)
	}
	top := topTwoOf(points)
	for _, tt := range append(top.LeftOut, reps(top)...) {
		if tt.Trial.Mode == "single" {
			t.Errorf("top-two finding weighs single: %+v", tt)
		}
	}
	if top.Eligible != 1 {
		t.Errorf("%d trials eligible for the top-two finding; want shared's one", top.Eligible)
	}
}

// reps lists the repetitions above the claim, point by point.
func reps(t *TopTwo) []TopTwoTrial {
	var out []TopTwoTrial
	for _, p := range t.Above {
		out = append(out, p.Reps...)
	}
	return out
}
