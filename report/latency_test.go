package report

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"clusterbench/analysis"
	"clusterbench/results"
)

// latencyTrial is a trial with the latency figures a run records today:
// the standard deviation, and the workers' CPU seconds.
func latencyTrial(mode string, rep int, stddev float64, cpuSeconds ...float64) results.Trial {
	counts := make([]uint64, len(cpuSeconds))
	for i := range counts {
		counts[i] = 100
	}
	t := trial(mode, rep, 1000, counts...)
	t.Latency = results.Latency{P50: 1, P90: 2, P99: 3 + float64(rep), P999: 5, Max: 9, Stddev: &stddev}
	for i, s := range cpuSeconds {
		t.PerWorker[i].CPUSeconds = s
	}
	return t
}

// TestLatencyTableRules: the table appears only for records that measured
// the standard deviation, with medians over repetitions, the busy-time
// shares from the workers' CPU seconds, and "-" where a figure has no
// meaning.
func TestLatencyTableRules(t *testing.T) {
	old := trial("shared", 1, 1000, 5, 5)
	old.Latency = results.Latency{P50: 1, P99: 3, P999: 5, Max: 9} // no stddev: an older record
	old.PerWorker[0].CPUSeconds, old.PerWorker[1].CPUSeconds = 0.3, 0.1
	noStddev := latencyTrial("shared", 2, 0, 0.2, 0.2)
	noStddev.Latency.Stddev = nil
	tests := []struct {
		name   string
		trials []results.Trial
		want   []string // rows of the Markdown table, or none
	}{
		{"an older record: no table", []results.Trial{old}, nil},
		{"medians over repetitions; busy shares from CPU seconds", []results.Trial{
			latencyTrial("reuseport", 1, 1, 0.3, 0.1), latencyTrial("reuseport", 2, 3, 0.3, 0.1),
		}, []string{"| reuseport | 2       | on         | trivial | max-c32 | 2    | 1.00   | 4.50   | 5.00     | 9.00   | 2.00      | 100%       | 75% / 25%          | 0.800     |"}},
		{"the stddev of the repetitions that have it", []results.Trial{latencyTrial("shared", 1, 4, 0.2, 0.2), noStddev}, []string{
			"| shared | 2       | on         | trivial | max-c32 | 2    | 1.00   | 4.50   | 5.00     | 9.00   | 4.00      | 100%       | 50% / 50%          | 1.000     |"}},
		{"one worker, and CPU not measured: no shares", []results.Trial{latencyTrial("single", 1, 2, 0.5), latencyTrial("shared", 1, 2, 0, 0)}, []string{
			"| single | 1       | on         | trivial | max-c32 | 1    | 1.00   | 4.00   | 5.00     | 9.00   | 2.00      | -          | -                  | -         |",
			"| shared | 2       | on         | trivial | max-c32 | 1    | 1.00   | 4.00   | 5.00     | 9.00   | 2.00      | -          | -                  | -         |"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &results.Run{Schema: results.Schema, Scenario: "s.yaml", Complete: true, Trials: tt.trials}
			var md, term bytes.Buffer
			if err := WriteMarkdown(&md, r); err != nil {
				t.Fatal(err)
			}
			if err := WriteTerminal(&term, r); err != nil {
				t.Fatal(err)
			}
			// The full tables are in report.md only; the terminal is a summary.
			hasTable := strings.Contains(md.String(), "### Latency and busy time")
			if hasTable != (tt.want != nil) || strings.Contains(term.String(), "stddev ms") {
				t.Fatalf("latency table in report.md %v, on the terminal %v; want %v, false:\n%s\n%s", hasTable, strings.Contains(term.String(), "stddev ms"), tt.want != nil, md.String(), term.String())
			}
			for _, row := range tt.want {
				if !strings.Contains(md.String(), row) {
					t.Errorf("report.md lacks the row\n%s\nin:\n%s", row, md.String())
				}
			}
		})
	}
}

// TestLatencyTableKeepsOlderReports: a record without the standard
// deviation renders exactly as it did before the table existed.
func TestLatencyTableKeepsOlderReports(t *testing.T) {
	points := analysis.Points(&results.Run{Trials: []results.Trial{trial("shared", 1, 1000, 5, 5)}})
	if hasLatencyDetail(points) {
		t.Error("a trial without a standard deviation asks for the latency table")
	}
}

// TestShareFigureShowsBusyTime: the share plot gains a busy-time panel
// per condition in records that have the latency table, and only there.
func TestShareFigureShowsBusyTime(t *testing.T) {
	older := trial("shared", 1, 1000, 5, 5)
	for _, tt := range []struct {
		name   string
		trials []results.Trial
		panels int
	}{
		{"older record", []results.Trial{older}, 2},
		{"new record", []results.Trial{latencyTrial("shared", 1, 2, 0.3, 0.1)}, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conds := analysis.Conditions(analysis.Points(&results.Run{Trials: tt.trials}))
			f := shareFigure("e", conds, map[string]modeStyle{"shared": styleOf("shared")})
			if len(f.panels) != tt.panels || f.cols != tt.panels {
				t.Errorf("%d panels in %d columns; want %d", len(f.panels), f.cols, tt.panels)
			}
		})
	}
	p := analysis.Points(&results.Run{Trials: []results.Trial{latencyTrial("shared", 1, 2, 0.3, 0.1)}})[0]
	if got := p.SortedBusyShares(); len(got) != 2 || math.Abs(got[0].Median-0.75) > 1e-9 || math.Abs(got[1].Median-0.25) > 1e-9 {
		t.Errorf("busy shares %+v; want 75%% then 25%%", got)
	}
}
