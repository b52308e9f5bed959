package analysis

import (
	"math"
	"slices"

	"golang.org/x/perf/benchmath"
)

// Confidence is the level of the confidence intervals a report states.
const Confidence = 0.95

// Summary describes a sample of one metric over repetitions: its median,
// a confidence interval for the median, and its full range.
//
// The interval is benchmath's distribution-free one (as benchstat and
// compare use), with no assumption of normality, which a handful of
// benchmark repetitions cannot support. It needs at least six values for
// 95%; with two to five the range of the values is the widest interval
// there is, and it holds the median with the lower confidence
// 1 − 2·0.5ⁿ (50% for two, 75% for three), which Confidence states.
type Summary struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	// Lo and Hi bound the median with probability Confidence; both are
	// the median when N is 1, and Confidence is then 0: no interval.
	Lo         float64 `json:"lo"`
	Hi         float64 `json:"hi"`
	Confidence float64 `json:"confidence"`
}

// Summarize returns the summary of xs; NaNs are ignored.
func Summarize(xs []float64) Summary {
	s := slices.DeleteFunc(slices.Clone(xs), math.IsNaN)
	if len(s) == 0 {
		return Summary{}
	}
	slices.Sort(s)
	mid := len(s) / 2
	median := s[mid]
	if len(s)%2 == 0 {
		median = (s[mid-1] + s[mid]) / 2
	}
	sum := Summary{N: len(s), Median: median, Min: s[0], Max: s[len(s)-1], Lo: median, Hi: median}
	if len(s) == 1 {
		return sum
	}
	ci := benchmath.AssumeNothing.Summary(benchmath.NewSample(s, &benchmath.DefaultThresholds), Confidence)
	if math.IsInf(ci.Lo, 0) || math.IsInf(ci.Hi, 0) {
		// Too few values for the level: the range, at the level it has.
		sum.Lo, sum.Hi, sum.Confidence = sum.Min, sum.Max, 1-2*math.Pow(0.5, float64(len(s)))
		return sum
	}
	sum.Lo, sum.Hi, sum.Confidence = ci.Lo, ci.Hi, ci.Confidence
	return sum
}

// Overlaps reports whether the confidence intervals of s and o overlap:
// then their medians are within the noise of each other.
func (s Summary) Overlaps(o Summary) bool { return s.Lo <= o.Hi && o.Lo <= s.Hi }

// HasInterval reports whether s has an interval: more than one value.
func (s Summary) HasInterval() bool { return s.N > 1 }
