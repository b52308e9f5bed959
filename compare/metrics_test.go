package compare

import (
	"testing"

	"clusterbench/metric"
)

// TestEveryMetricIsComputed: the catalogue and the measures name the same
// metrics, so no metric can be gated on and never computed.
func TestEveryMetricIsComputed(t *testing.T) {
	if len(measures) != len(metric.All) {
		t.Errorf("%d measures for %d metrics", len(measures), len(metric.All))
	}
	for _, m := range Metrics {
		if m.value == nil || m.format == nil {
			t.Errorf("metric %s has no measure", m.Name)
		}
	}
}
