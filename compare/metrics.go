package compare

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"clusterbench/metric"
	"clusterbench/results"
)

// Metric is one figure of a trial that a comparison judges: its entry in
// the catalogue, and how it is computed and shown.
type Metric struct {
	metric.Metric
	value  func(*results.Trial) float64
	format func(float64) string
}

// measures computes and shows each metric of the catalogue.
var measures = map[string]struct {
	value  func(*results.Trial) float64
	format func(float64) string
}{
	"throughput":             {func(t *results.Trial) float64 { return t.ThroughputRPS }, fixed(0)},
	"p50":                    {func(t *results.Trial) float64 { return t.Latency.P50 }, fixed(3)},
	"p99":                    {func(t *results.Trial) float64 { return t.Latency.P99 }, fixed(3)},
	"cpu_per_request":        {func(t *results.Trial) float64 { return orNaN(t.ServerCPUPerRequestUs) }, fixed(1)},
	"errors":                 {errorRate, percent(2)},
	"jain_requests":          {func(t *results.Trial) float64 { return t.Fairness.Requests.Jain }, fixed(3)},
	"jain_connections":       {func(t *results.Trial) float64 { return t.Fairness.Connections.Jain }, fixed(3)},
	"top2_connections":       {func(t *results.Trial) float64 { return t.Fairness.Connections.Top2Share }, percent(0)},
	"throughput_vs_ref":      {func(t *results.Trial) float64 { return t.ThroughputRPS }, fixed(3)},
	"cpu_per_request_vs_ref": {func(t *results.Trial) float64 { return orNaN(t.ServerCPUPerRequestUs) }, fixed(3)},
	"p99_vs_ref":             {func(t *results.Trial) float64 { return t.Latency.P99 }, fixed(3)},
}

// Metrics lists every metric, in the order reports show them.
var Metrics = func() []*Metric {
	all := make([]*Metric, len(metric.All))
	for i, m := range metric.All {
		all[i] = &Metric{Metric: m, value: measures[m.Name].value, format: measures[m.Name].format}
	}
	return all
}()

// DefaultGate is what a comparison fails on when neither the baseline nor
// a flag says otherwise: the figures a user of a multi-process server
// would call a regression, between two runs on the same machine.
var DefaultGate = []string{"throughput", "p99", "cpu_per_request", "errors", "jain_connections"}

// DefaultReference is the mode normalised metrics divide by (see package metric).
const DefaultReference = metric.DefaultReference

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
func Names() []string { return metric.Names() }

// FormatThreshold shows a metric's threshold as the user would write it.
func (m *Metric) FormatThreshold(v float64) string {
	if m.Absolute {
		return m.format(v)
	}
	return strconv.FormatFloat(100*v, 'f', -1, 64) + "%"
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
