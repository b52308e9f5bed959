package report

import (
	"testing"

	"clusterbench/analysis"
)

func TestIntervalText(t *testing.T) {
	tests := []struct {
		xs            []float64
		full, compact string
	}{
		{nil, "–", "–"},
		// One repetition says so, never "± 0%".
		{[]float64{5984}, "5984 (n=1)", "5984 n=1"},
		{[]float64{100, 110}, "105 [100, 110] (50%)", "105 ±5% (50%)"},
		{[]float64{100, 104, 110}, "104 [100, 110] (75%)", "104 ±6% (75%)"},
		{[]float64{100, 101, 102, 103, 104, 105, 106, 107}, "104 [100, 106]", "104 ±3%"},
	}
	for _, tt := range tests {
		s := analysis.Summarize(tt.xs)
		if got := withInterval(s, whole); got != tt.full {
			t.Errorf("withInterval(%v) = %q; want %q", tt.xs, got, tt.full)
		}
		if got := compactInterval(s, whole); got != tt.compact {
			t.Errorf("compactInterval(%v) = %q; want %q", tt.xs, got, tt.compact)
		}
	}
}
