package segment

import (
	"slices"
	"strings"
	"testing"
)

// TestScaleAsK6Does checks the striping against the parts k6's own
// ExecutionTuple.ScaleInt64 gives (k6 at 87883075, run for these cases).
func TestScaleAsK6Does(t *testing.T) {
	for _, c := range []struct {
		sequence string
		total    int
		want     []int
	}{
		{"0,1/3,2/3,1", 1000, []int{334, 333, 333}},
		{"0,1/3,2/3,1", 32, []int{11, 11, 10}},
		{"0,1/2,3/4,1", 10, []int{5, 3, 2}},
		{"0,1/2,3/4,1", 7, []int{4, 2, 1}},
		{"0,1/4,2/4,3/4,1", 10, []int{3, 3, 2, 2}},
		{"0,1/4,2/4,3/4,1", 7, []int{2, 2, 2, 1}},
		{"0,1", 5, []int{5}},
	} {
		s, err := ParseSequence(c.sequence)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Scale(c.total); !slices.Equal(got, c.want) {
			t.Errorf("%s: Scale(%d) = %v; want %v", c.sequence, c.total, got, c.want)
		}
	}
	// The 0,1/2,3/4,1 parts of 1 to 12, as k6's source comment lists them.
	s, _ := ParseSequence("0,1/2,3/4,1")
	want := [][]int{{1, 0, 0}, {1, 1, 0}, {2, 1, 0}, {2, 1, 1}, {3, 1, 1}, {3, 2, 1}, {4, 2, 1}, {4, 2, 2}, {5, 2, 2}, {5, 3, 2}, {6, 3, 2}, {6, 3, 3}}
	for v, w := range want {
		if got := s.Scale(v + 1); !slices.Equal(got, w) {
			t.Errorf("0,1/2,3/4,1: Scale(%d) = %v; want %v", v+1, got, w)
		}
	}
}

// TestScaleAddsUpAndNeverShrinks: every part of every total sums to the
// total, and no part falls as the total grows.
func TestScaleAddsUpAndNeverShrinks(t *testing.T) {
	for _, text := range []string{"0,1/3,2/3,1", "0,1/2,3/4,1", "0,1/7,2/7,3/7,4/7,5/7,6/7,1", "0,3/5,1",
		"0,0.1,0.3,0.6,1", "0,2/9,1/2,5/6,1", "0,25%,50%,1", Even(13).String()} {
		s, err := ParseSequence(text)
		if err != nil {
			t.Fatal(err)
		}
		prev := make([]int, s.Len())
		for total := 0; total <= 3000; total++ {
			parts := s.Scale(total)
			sum := 0
			for i, p := range parts {
				sum += p
				if p < prev[i] {
					t.Fatalf("%s: segment %d gets %d of %d, but %d of %d", text, i, p, total, prev[i], total-1)
				}
			}
			if sum != total {
				t.Fatalf("%s: parts %v of %d add up to %d", text, parts, total, sum)
			}
			prev = parts
		}
	}
}

func TestParseSequenceRefuses(t *testing.T) {
	for text, want := range map[string]string{
		"1":                   "want points from 0 to 1",
		"0,1/3":               "ends at 1/3, want 1",
		"1/4,1":               "starts at 1/4, want 0",
		"0,1/2,1/3,1":         "1/3 does not come after 1/2",
		"0,1/2,1/2,1":         "1/2 does not come after 1/2",
		"0,half,1":            `"half" is not a fraction`,
		"0,12.5%,1":           `"12.5%" is not a whole percentage`,
		"0,1e-1,1":            `"1e-1" is not a fraction`,
		"0,1/99991,1/99989,1": "no common denominator up to 100000",
	} {
		if _, err := ParseSequence(text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSequence(%q): %v; want an error with %q", text, err, want)
		}
	}
}

func TestSequenceNotation(t *testing.T) {
	s, err := ParseSequence("0, 25%, 0.5, 1")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); got != "0,1/4,1/2,1" {
		t.Errorf("String() = %s; want 0,1/4,1/2,1", got)
	}
	if got := s.Segment(1); got != "1/4:1/2" {
		t.Errorf("Segment(1) = %s; want 1/4:1/2", got)
	}
	if got := Even(3).String(); got != "0,1/3,2/3,1" {
		t.Errorf("Even(3) = %s", got)
	}
}
