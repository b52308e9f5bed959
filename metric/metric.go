// Package metric is the catalogue of the figures a comparison judges:
// their names, directions and default thresholds, and how a threshold is
// written. It is plain data, so that a scenario can name metrics without
// linking the comparison itself; package compare computes them.
package metric

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Metric is one figure of a trial that a comparison judges.
type Metric struct {
	Name string
	Doc  string
	// HigherIsBetter is the direction of an improvement.
	HigherIsBetter bool
	// Absolute metrics take their threshold as a difference in their own
	// unit: fairness and error rate live near fixed bounds, where a
	// relative change says little (0 errors to 1 is "+∞%").
	Absolute bool
	// Threshold is the default smallest change that counts: a fraction of
	// the baseline, or a difference for absolute metrics.
	Threshold float64
	// Normalised metrics are divided by the reference mode's value in the
	// same run and repetition, which cancels the speed of the machine.
	Normalised bool
}

// All lists every metric, in the order reports show them.
var All = []Metric{
	{Name: "throughput", Doc: "successful requests per second", HigherIsBetter: true, Threshold: 0.10},
	{Name: "p50", Doc: "median latency, ms", Threshold: 0.20},
	{Name: "p99", Doc: "99th percentile latency, ms", Threshold: 0.25},
	{Name: "cpu_per_request", Doc: "server CPU µs per request: master, proxy and workers", Threshold: 0.10},
	{Name: "errors", Doc: "failed requests as a fraction of all requests", Absolute: true, Threshold: 0.001},
	{Name: "jain_requests", Doc: "Jain's fairness index of requests over workers (1 = even)", HigherIsBetter: true, Absolute: true, Threshold: 0.05},
	{Name: "jain_connections", Doc: "Jain's fairness index of connections over workers", HigherIsBetter: true, Absolute: true, Threshold: 0.05},
	{Name: "top2_connections", Doc: "share of connections taken by the two busiest workers", Absolute: true, Threshold: 0.10},
	{Name: "throughput_vs_ref", Doc: "throughput divided by the reference mode's in the same repetition", HigherIsBetter: true, Threshold: 0.10, Normalised: true},
	{Name: "cpu_per_request_vs_ref", Doc: "server CPU per request divided by the reference mode's in the same repetition", Threshold: 0.10, Normalised: true},
	{Name: "p99_vs_ref", Doc: "p99 latency divided by the reference mode's in the same repetition", Threshold: 0.25, Normalised: true},
}

// DefaultReference is the mode normalised metrics divide by: the kernel
// alone spreads connections, so it changes only with the machine.
const DefaultReference = "reuseport"

// Lookup returns the metric called name.
func Lookup(name string) (Metric, error) {
	i := slices.IndexFunc(All, func(m Metric) bool { return m.Name == name })
	if i < 0 {
		return Metric{}, fmt.Errorf("unknown metric %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return All[i], nil
}

// Names lists the metrics' names.
func Names() []string {
	names := make([]string, len(All))
	for i, m := range All {
		names[i] = m.Name
	}
	return names
}

// ParseThreshold reads a threshold of m: a number, or a percentage ("10%"
// is 0.1). A bare number above 1 for a relative metric is refused: "10"
// would be 1000%, and was surely meant as 10%.
func (m Metric) ParseThreshold(s string) (float64, error) {
	s = strings.TrimSpace(s)
	number, percent := strings.CutSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(number), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, fmt.Errorf("threshold %q is not a number ≥ 0 or a percentage like 10%%", s)
	}
	if percent {
		return v / 100, nil
	}
	if !m.Absolute && v > 1 {
		return 0, fmt.Errorf("threshold %q of %s is a fraction of the baseline, so %s would be %g%%: write %s%% for a percentage", s, m.Name, s, 100*v, s)
	}
	return v, nil
}

// Better is the direction of an improvement, as a word.
func (m Metric) Better() string {
	if m.HigherIsBetter {
		return "higher"
	}
	return "lower"
}
