package trial

import (
	"strings"
	"testing"

	"clusterbench/results"
)

// TestLoadgenLimit: when the load generator, not the server, was the limit.
func TestLoadgenLimit(t *testing.T) {
	trial := func(rate int, sent, lgCores, serverCores float64, threads int, placed bool) *results.Trial {
		tr := &results.Trial{
			Load:    results.Load{Engine: "vegeta", Rate: rate, Threads: threads},
			RateRPS: sent,
			CPU:     results.CPU{LoadgenSeconds: 2 * lgCores, WorkersSeconds: 2 * serverCores, ServingSeconds: 2},
		}
		if placed {
			tr.Placement = &results.Placement{LoadgenCPUs: "0", ServerCPUs: "1"}
		}
		return tr
	}
	for _, tt := range []struct {
		name        string
		trial       *results.Trial
		loadgenCPUs int
		want        string // in the reason; "" for not bound
	}{
		{"open loop on rate", trial(1000, 990, 0.3, 0.3, 0, false), 2, ""},
		{"open loop short of its rate", trial(1000, 800, 0.3, 0.3, 0, false), 2, "it sent 800 req/s of the 1000 requested"},
		{"shared and busy, vegeta with half", trial(0, 0, 0.9, 1.0, 0, false), 2, "the 2 CPUs were busy and vegeta took 0.90 cores of them (47%), the server 1.00: with them the server could have served up to 1.9× as much"},
		{"shared and busy, a small load generator", trial(0, 0, 0.5, 1.45, 0, false), 2, ""},
		{"shared but idle", trial(0, 0, 0.6, 0.6, 0, false), 2, ""},
		{"pinned and pegged", trial(0, 0, 0.95, 0.5, 0, true), 1, "vegeta kept 0.95 of the 1 cores it could use busy"},
		{"pinned with room", trial(0, 0, 0.7, 1.0, 0, true), 1, ""},
		{"wrk's threads pegged", trial(0, 0, 1.85, 0.1, 2, false), 4, "kept 1.85 of the 2 cores"},
	} {
		got := loadgenLimit(tt.trial, tt.loadgenCPUs, 2)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: %q; want %q", tt.name, got, tt.want)
		}
	}
}
