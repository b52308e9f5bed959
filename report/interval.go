package report

import (
	"fmt"
	"math"

	"clusterbench/analysis"
)

// intervalNote says how every median with an interval reads.
const intervalNote = "Brackets give a confidence interval for the median: 95% (benchmath's distribution-free interval, as benchstat) from six repetitions on; " +
	"with two to five it is their range, which holds the median with the lower confidence in parentheses (50% for two, 75% for three); " +
	"n=1 is a single repetition, with no interval: indicative only."

// withInterval is a median and its confidence interval: "5984 [5811, 6102]",
// "5984 [5811, 6102] (75%)" below the stated level, "5984 (n=1)" with one
// repetition, never "± 0%".
func withInterval(s analysis.Summary, format func(float64) string) string {
	switch {
	case s.N == 0:
		return "–"
	case !s.HasInterval():
		return format(s.Median) + " (n=1)"
	}
	return fmt.Sprintf("%s [%s, %s]%s", format(s.Median), format(s.Lo), format(s.Hi), lowConfidence(s))
}

// compactInterval is withInterval for a narrow terminal column: the wider
// side of the interval as a percentage of the median, "5984 ±3%".
func compactInterval(s analysis.Summary, format func(float64) string) string {
	switch {
	case s.N == 0:
		return "–"
	case !s.HasInterval():
		return format(s.Median) + " n=1"
	case s.Median == 0:
		return fmt.Sprintf("%s [%s, %s]%s", format(s.Median), format(s.Lo), format(s.Hi), lowConfidence(s))
	}
	half := math.Max(s.Median-s.Lo, s.Hi-s.Median) / math.Abs(s.Median)
	return fmt.Sprintf("%s ±%.0f%%%s", format(s.Median), 100*half, lowConfidence(s))
}

// lowConfidence names the confidence of an interval below the stated level.
func lowConfidence(s analysis.Summary) string {
	if s.Confidence >= analysis.Confidence {
		return ""
	}
	return fmt.Sprintf(" (%.0f%%)", 100*s.Confidence)
}

func whole(x float64) string { return fmt.Sprintf("%.0f", x) }
