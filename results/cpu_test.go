package results

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The first schema-1 records kept CPU seconds without the time they
// cover: their cores are over the warm-up and the measured load, never
// zero. A record that has the time keeps it.
func TestSchema1CoresWithoutServingSeconds(t *testing.T) {
	for _, tt := range []struct {
		name        string
		schema      int
		cpu         string
		wantWorkers float64
	}{
		{"schema 1 without serving time", 1, `{"loadgen_seconds": 4.8, "master_seconds": 0.06, "workers_seconds": 5.4}`, 5.4 / 6},
		{"schema 1 with serving time", 1, `{"workers_seconds": 5.4, "serving_seconds": 3}`, 5.4 / 3},
		{"schema 2", 2, `{"workers_seconds": 5.4, "serving_seconds": 5}`, 5.4 / 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			trial := fmt.Sprintf(`{"experiment": "e", "mode": "shared", "workers": 8, "requests": 10, "throughput_rps": 5,
				"duration_seconds": 5, "load": {"name": "max-c32", "warmup_seconds": 1}, "cpu": %s}`, tt.cpu)
			path := filepath.Join(t.TempDir(), FileName)
			if err := os.WriteFile(path, fmt.Appendf(nil, `{"schema": %d, "trials": [%s]}`, tt.schema, trial), 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := Read(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Trials[0].CPU.WorkersCores(); math.Abs(got-tt.wantWorkers) > 1e-9 {
				t.Errorf("workers' cores %.3f; want %.3f", got, tt.wantWorkers)
			}
		})
	}
}
