// Package analysis judges a run record: it turns per-worker counts into
// shares and fairness figures, groups repeated trials into points and
// conditions with their summaries, and states what the run shows as typed
// findings and warnings. It renders nothing: package report does.
//
// Fairness is judged on counts, never on rates: a worker's share is its count
// over the total (or, for busy time, its CPU seconds over all workers'). Jain's index is 1 for a perfectly even split and 1/n when
// one of n workers takes everything; the top-2 share answers the Node.js
// documentation's claim about two of eight workers directly.
package analysis

import (
	"slices"

	"clusterbench/results"
)

// amount is what a worker can have a share of: a count, or seconds of CPU.
type amount interface{ ~uint64 | ~float64 }

// Shares returns each count's fraction of the total (all zero if the total is zero).
func Shares[T amount](counts []T) []float64 {
	var total float64
	for _, c := range counts {
		total += float64(c)
	}
	shares := make([]float64, len(counts))
	if total == 0 {
		return shares
	}
	for i, c := range counts {
		shares[i] = float64(c) / total
	}
	return shares
}

// Jain returns Jain's fairness index (Σx)² / (n·Σx²), or 0 when there is nothing to share.
func Jain[T amount](counts []T) float64 {
	var sum, sumSq float64
	for _, c := range counts {
		x := float64(c)
		sum += x
		sumSq += x * x
	}
	if sumSq == 0 {
		return 0
	}
	return sum * sum / (float64(len(counts)) * sumSq)
}

// ShareTopK returns the fraction of the total taken by the k largest counts.
func ShareTopK[T amount](counts []T, k int) float64 {
	shares := Shares(counts)
	slices.SortFunc(shares, func(a, b float64) int { return cmpDesc(a, b) })
	var top float64
	for i := 0; i < k && i < len(shares); i++ {
		top += shares[i]
	}
	return top
}

// SharesApply reports whether per-worker shares mean anything for t: not
// when one process served as all the workers (mode single), which takes
// everything by construction, so Jain's 1 and a top-2 share of 100% would
// be no finding.
func SharesApply(t *results.Trial) bool { return t.Threads == 0 }

// FairnessOf computes every fairness figure for counts.
func FairnessOf[T amount](counts []T) results.Fairness {
	shares := Shares(counts)
	if len(shares) == 0 {
		return results.Fairness{}
	}
	return results.Fairness{
		Jain:      Jain(counts),
		Top2Share: ShareTopK(counts, 2),
		MaxShare:  slices.Max(shares),
		MinShare:  slices.Min(shares),
	}
}

func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// BusySeconds is each worker's CPU time while the load was measured: how
// long it was busy. Its shares say how the work was spread, where the
// shares of requests say only how many each served.
func BusySeconds(t *results.Trial) []float64 {
	seconds := make([]float64, len(t.PerWorker))
	for i, w := range t.PerWorker {
		seconds[i] = w.CPUSeconds
	}
	return seconds
}

// BusyFairness is the fairness of the workers' busy time; zero when there
// is nothing to share, or one worker alone.
func BusyFairness(t *results.Trial) results.Fairness {
	if len(t.PerWorker) < 2 {
		return results.Fairness{}
	}
	return FairnessOf(BusySeconds(t))
}
