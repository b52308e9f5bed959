package analysis

import (
	"math"
	"testing"

	"clusterbench/results"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestFairnessOf(t *testing.T) {
	tests := []struct {
		name   string
		counts []uint64
		want   results.Fairness
	}{
		{"even", []uint64{10, 10, 10, 10}, results.Fairness{Jain: 1, Top2Share: 0.5, MaxShare: 0.25, MinShare: 0.25}},
		{"one takes all", []uint64{0, 0, 40, 0}, results.Fairness{Jain: 0.25, Top2Share: 1, MaxShare: 1, MinShare: 0}},
		// Node's claim: two of eight workers take over 70%.
		{"two of eight take 75%", []uint64{30, 45, 5, 5, 5, 4, 3, 3}, results.Fairness{
			Jain: 100.0 * 100.0 / (8 * (900 + 2025 + 75 + 16 + 18)), Top2Share: 0.75, MaxShare: 0.45, MinShare: 0.03}},
		{"uneven pair", []uint64{1, 3}, results.Fairness{Jain: 16.0 / 20.0, Top2Share: 1, MaxShare: 0.75, MinShare: 0.25}},
		{"single worker", []uint64{7}, results.Fairness{Jain: 1, Top2Share: 1, MaxShare: 1, MinShare: 1}},
		{"nothing served", []uint64{0, 0, 0}, results.Fairness{}},
		{"no workers", nil, results.Fairness{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FairnessOf(tt.counts)
			if !near(got.Jain, tt.want.Jain) || !near(got.Top2Share, tt.want.Top2Share) ||
				!near(got.MaxShare, tt.want.MaxShare) || !near(got.MinShare, tt.want.MinShare) {
				t.Errorf("FairnessOf(%v) = %+v; want %+v", tt.counts, got, tt.want)
			}
		})
	}
}

func TestSharesSumToOne(t *testing.T) {
	for _, counts := range [][]uint64{{1, 2, 3}, {5, 0, 0, 0, 0, 0, 0, 1}, {1000000, 1}} {
		var sum float64
		for _, s := range Shares(counts) {
			sum += s
		}
		if !near(sum, 1) {
			t.Errorf("shares of %v sum to %v; want 1", counts, sum)
		}
	}
}

func TestShareTopK(t *testing.T) {
	tests := []struct {
		counts []uint64
		k      int
		want   float64
	}{
		{[]uint64{1, 1, 1, 1}, 1, 0.25},
		{[]uint64{1, 1, 1, 1}, 2, 0.5},
		{[]uint64{6, 1, 3}, 2, 0.9},
		{[]uint64{6, 1, 3}, 5, 1},
		{[]uint64{6, 1, 3}, 0, 0},
	}
	for _, tt := range tests {
		if got := ShareTopK(tt.counts, tt.k); !near(got, tt.want) {
			t.Errorf("ShareTopK(%v, %d) = %v; want %v", tt.counts, tt.k, got, tt.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		xs   []float64
		want Summary
	}{
		// Two to five values: the range, which holds the median with
		// confidence 1 - 2·0.5ⁿ.
		{[]float64{3, 1, 2}, Summary{N: 3, Median: 2, Min: 1, Max: 3, Lo: 1, Hi: 3, Confidence: 0.75}},
		{[]float64{4, 1, 2, 3}, Summary{N: 4, Median: 2.5, Min: 1, Max: 4, Lo: 1, Hi: 4, Confidence: 0.875}},
		{[]float64{2, 1}, Summary{N: 2, Median: 1.5, Min: 1, Max: 2, Lo: 1, Hi: 2, Confidence: 0.5}},
		// Six or more: benchmath's interval of order statistics, here the
		// 1st to 7th of eight at 96.1%, narrower than the range.
		{[]float64{8, 1, 7, 2, 6, 3, 5, 4}, Summary{N: 8, Median: 4.5, Min: 1, Max: 8, Lo: 1, Hi: 7, Confidence: 0.9609375}},
		// One value has no interval.
		{[]float64{5}, Summary{N: 1, Median: 5, Min: 5, Max: 5, Lo: 5, Hi: 5}},
		{[]float64{math.NaN(), 2}, Summary{N: 1, Median: 2, Min: 2, Max: 2, Lo: 2, Hi: 2}},
		{nil, Summary{}},
	}
	for _, tt := range tests {
		got := Summarize(tt.xs)
		if got != tt.want {
			t.Errorf("Summarize(%v) = %+v; want %+v", tt.xs, got, tt.want)
		}
	}
}

func TestSummaryOverlaps(t *testing.T) {
	a := Summarize([]float64{10, 11, 12})
	if b := Summarize([]float64{12, 13, 14}); !a.Overlaps(b) || !b.Overlaps(a) {
		t.Errorf("%+v and %+v touch at 12; want overlapping", a, b)
	}
	if c := Summarize([]float64{13, 14, 15}); a.Overlaps(c) || c.Overlaps(a) {
		t.Errorf("%+v and %+v are apart; want no overlap", a, c)
	}
}

// TestBusyFairness: a worker's share of busy time is its CPU seconds over
// all workers' in the trial, killed processes' included in their index.
func TestBusyFairness(t *testing.T) {
	workers := func(seconds ...float64) *results.Trial {
		tr := &results.Trial{Workers: len(seconds)}
		for i, s := range seconds {
			tr.PerWorker = append(tr.PerWorker, results.WorkerCounts{Index: i, CPUSeconds: s})
		}
		return tr
	}
	tests := []struct {
		name  string
		trial *results.Trial
		want  results.Fairness
	}{
		{"even", workers(0.5, 0.5, 0.5, 0.5), results.Fairness{Jain: 1, Top2Share: 0.5, MaxShare: 0.25, MinShare: 0.25}},
		{"one busy", workers(1.5, 0.25, 0.25), results.Fairness{Jain: 4.0 / (3 * 2.375), Top2Share: 0.875, MaxShare: 0.75, MinShare: 0.125}},
		{"one idle", workers(0.6, 0.4, 0), results.Fairness{Jain: 1 / (3 * 0.52), Top2Share: 1, MaxShare: 0.6, MinShare: 0}},
		{"no CPU measured", workers(0, 0), results.Fairness{}},
		{"one worker: no share to speak of", workers(2), results.Fairness{}},
		{"no workers", workers(), results.Fairness{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BusyFairness(tt.trial)
			if !near(got.Jain, tt.want.Jain) || !near(got.Top2Share, tt.want.Top2Share) ||
				!near(got.MaxShare, tt.want.MaxShare) || !near(got.MinShare, tt.want.MinShare) {
				t.Errorf("BusyFairness(%v) = %+v; want %+v", BusySeconds(tt.trial), got, tt.want)
			}
		})
	}
}
