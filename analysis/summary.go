package analysis

import (
	"math"
	"slices"
)

// Summary describes a sample of one metric over repetitions: its median and
// its full range, which for the handful of repetitions a benchmark has is
// more honest than a standard deviation.
type Summary struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
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
	return Summary{N: len(s), Median: median, Min: s[0], Max: s[len(s)-1]}
}

// Spread is half the range relative to the median: "±x%" in a report.
func (s Summary) Spread() float64 {
	if s.Median == 0 {
		return 0
	}
	return (s.Max - s.Min) / 2 / s.Median
}
