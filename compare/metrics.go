package compare

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"clusterbench/results"
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
	value      func(*results.Trial) float64
	format     func(float64) string
}

// Metrics lists every metric, in the order reports show them.
var Metrics = []*Metric{
	{Name: "throughput", Doc: "successful requests per second", HigherIsBetter: true, Threshold: 0.10,
		value: func(t *results.Trial) float64 { return t.ThroughputRPS }, format: fixed(0)},
	{Name: "p50", Doc: "median latency, ms", Threshold: 0.20,
		value: func(t *results.Trial) float64 { return t.Latency.P50 }, format: fixed(3)},
	{Name: "p99", Doc: "99th percentile latency, ms", Threshold: 0.25,
		value: func(t *results.Trial) float64 { return t.Latency.P99 }, format: fixed(3)},
	{Name: "cpu_per_request", Doc: "server CPU µs per request: master, proxy and workers", Threshold: 0.10,
		value: func(t *results.Trial) float64 { return orNaN(t.ServerCPUPerRequestUs) }, format: fixed(1)},
	{Name: "errors", Doc: "failed requests as a fraction of all requests", Absolute: true, Threshold: 0.001,
		value: errorRate, format: percent(2)},
	{Name: "jain_requests", Doc: "Jain's fairness index of requests over workers (1 = even)", HigherIsBetter: true, Absolute: true, Threshold: 0.05,
		value: func(t *results.Trial) float64 { return t.Fairness.Requests.Jain }, format: fixed(3)},
	{Name: "jain_connections", Doc: "Jain's fairness index of connections over workers", HigherIsBetter: true, Absolute: true, Threshold: 0.05,
		value: func(t *results.Trial) float64 { return t.Fairness.Connections.Jain }, format: fixed(3)},
	{Name: "top2_connections", Doc: "share of connections taken by the two busiest workers", Absolute: true, Threshold: 0.10,
		value: func(t *results.Trial) float64 { return t.Fairness.Connections.Top2Share }, format: percent(0)},
	{Name: "throughput_vs_ref", Doc: "throughput divided by the reference mode's in the same repetition", HigherIsBetter: true, Threshold: 0.10, Normalised: true,
		value: func(t *results.Trial) float64 { return t.ThroughputRPS }, format: fixed(3)},
	{Name: "cpu_per_request_vs_ref", Doc: "server CPU per request divided by the reference mode's in the same repetition", Threshold: 0.10, Normalised: true,
		value: func(t *results.Trial) float64 { return orNaN(t.ServerCPUPerRequestUs) }, format: fixed(3)},
	{Name: "p99_vs_ref", Doc: "p99 latency divided by the reference mode's in the same repetition", Threshold: 0.25, Normalised: true,
		value: func(t *results.Trial) float64 { return t.Latency.P99 }, format: fixed(3)},
}

// DefaultGate is what a comparison fails on when neither the baseline nor
// a flag says otherwise: the figures a user of a multi-process server
// would call a regression, between two runs on the same machine.
var DefaultGate = []string{"throughput", "p99", "cpu_per_request", "errors", "jain_connections"}

// DefaultReference is the mode normalised metrics divide by: the kernel
// alone spreads connections, so it changes only with the machine.
const DefaultReference = "reuseport"

// DefaultAlpha is the significance level of the Mann-Whitney U test.
// benchstat uses 0.05 for a reader who looks at a few rows; a gate tests
// every metric at every point, often a hundred tests, and at 0.05 one in
// twenty of them would be "significant" by chance alone.
const DefaultAlpha = 0.01

// Lookup returns the metric called name.
func Lookup(name string) (*Metric, error) {
	i := slices.IndexFunc(Metrics, func(m *Metric) bool { return m.Name == name })
	if i < 0 {
		return nil, fmt.Errorf("unknown metric %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return Metrics[i], nil
}

// Names lists the metrics' names.
func Names() []string {
	names := make([]string, len(Metrics))
	for i, m := range Metrics {
		names[i] = m.Name
	}
	return names
}

// ParseThreshold reads a threshold of m: a number, or a percentage ("10%"
// is 0.1). A bare number above 1 for a relative metric is refused: "10"
// would be 1000%, and was surely meant as 10%.
func (m *Metric) ParseThreshold(s string) (float64, error) {
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

// FormatThreshold shows a metric's threshold as the user would write it.
func (m *Metric) FormatThreshold(v float64) string {
	if m.Absolute {
		return m.format(v)
	}
	return strconv.FormatFloat(100*v, 'f', -1, 64) + "%"
}

// Better is the direction of an improvement, as a word.
func (m *Metric) Better() string {
	if m.HigherIsBetter {
		return "higher"
	}
	return "lower"
}

func errorRate(t *results.Trial) float64 {
	if t.Requests == 0 {
		return math.NaN()
	}
	return float64(t.Errors) / float64(t.Requests)
}

// orNaN marks a figure an older record does not have.
func orNaN(v float64) float64 {
	if v == 0 {
		return math.NaN()
	}
	return v
}

func fixed(decimals int) func(float64) string {
	return func(v float64) string { return strconv.FormatFloat(v, 'f', decimals, 64) }
}

func percent(decimals int) func(float64) string {
	return func(v float64) string { return strconv.FormatFloat(100*v, 'f', decimals, 64) + "%" }
}
