package compare

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"clusterbench/results"
)

// sample is a mode's throughput in each repetition.
type sample map[string][]float64

// newRun builds a run record in which each mode's trials have the given
// throughputs and otherwise identical, even figures.
func newRun(cpu string, s sample) *results.Run {
	r := &results.Run{Schema: results.Schema, Scenario: "test", Complete: true, Host: results.Host{CPUModel: cpu, CPUs: 2, Kernel: "6.1"}}
	for _, mode := range []string{"reuseport", "shared", "roundrobin"} {
		for rep, thr := range s[mode] {
			r.Trials = append(r.Trials, results.Trial{
				Experiment: "e", Rep: rep + 1, Mode: mode, Workers: 8, KeepAlive: true,
				Handler: results.Handler{Name: "trivial"}, Load: results.Load{Name: "max"},
				Requests: 1000, Successes: 1000, ThroughputRPS: thr, ServerCPUPerRequestUs: 50 + float64(rep)/10,
				Latency: results.Latency{P50: 1 + float64(rep)/100, P99: 5 + float64(rep)/100},
				Fairness: results.FairnessPair{
					Requests:    results.Fairness{Jain: 0.99 - float64(rep)/1000},
					Connections: results.Fairness{Jain: 0.99 - float64(rep)/1000, Top2Share: 0.25 + float64(rep)/1000},
				},
			})
		}
	}
	return r
}

// around returns n values spread by ±2% around x, in a shuffled order.
func around(x float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = x * (1 + 0.02*float64((i*3)%n-n/2)/float64(n))
	}
	return out
}

func mustCompare(t *testing.T, base, head *results.Run, s Settings) *Verdict {
	t.Helper()
	r, err := Compare("base", base, "head", head, s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func defaults(t *testing.T, layers ...*results.CompareSettings) Settings {
	t.Helper()
	s, err := Resolve(layers...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func row(t *testing.T, r *Verdict, mode, metric string) Row {
	t.Helper()
	for _, row := range r.Rows {
		if row.Mode == mode && row.Metric == metric {
			return row
		}
	}
	t.Fatalf("no row for %s %s in %d rows", mode, metric, len(r.Rows))
	return Row{}
}

func TestSameRunsHaveNoRegression(t *testing.T) {
	s := sample{"reuseport": around(20000, 5), "shared": around(18000, 5)}
	r := mustCompare(t, newRun("cpu", s), newRun("cpu", s), defaults(t))
	if r.Regressions != 0 {
		t.Fatalf("identical runs: %d regressions: %s", r.Regressions, r.Headline())
	}
	if got := row(t, r, "shared", "throughput"); got.Outcome != Unchanged || got.Change != 0 {
		t.Errorf("identical samples: verdict %q, change %v; want ~ and 0", got.Outcome, got.Change)
	}
	if !strings.HasPrefix(r.Headline(), "no regression") {
		t.Errorf("headline %q", r.Headline())
	}
}

func TestSlowerHeadIsARegression(t *testing.T) {
	base := newRun("cpu", sample{"reuseport": around(20000, 5), "shared": around(18000, 5)})
	head := newRun("cpu", sample{"reuseport": around(20000, 5), "shared": around(18000*0.75, 5)})
	r := mustCompare(t, base, head, defaults(t))
	got := row(t, r, "shared", "throughput")
	if got.Outcome != Regression || r.Regressions != 1 {
		t.Fatalf("25%% slower: verdict %q, %d regressions; want a regression", got.Outcome, r.Regressions)
	}
	if math.Abs(float64(got.Change)+0.25) > 0.02 || got.P >= 0.05 {
		t.Errorf("change %v, p %v; want about -25%% and p < 0.05", got.Change, got.P)
	}
	// The normalised metric sees it too, since the reference did not slow down.
	if v := row(t, r, "shared", "throughput_vs_ref").Outcome; v != Regression {
		t.Errorf("throughput_vs_ref: %q, want regression", v)
	}
	// Not gated: reported, but the comparison passes.
	r = mustCompare(t, base, head, defaults(t, &results.CompareSettings{Gate: []string{"p99"}}))
	if r.Regressions != 0 || row(t, r, "shared", "throughput").Outcome != Regression {
		t.Errorf("ungated throughput: %d regressions, want 0 with the row still a regression", r.Regressions)
	}
}

func TestThresholdAndDirection(t *testing.T) {
	base := newRun("cpu", sample{"reuseport": around(20000, 6), "shared": around(18000, 6)})
	slightly := newRun("cpu", sample{"reuseport": around(20000, 6), "shared": around(18000*0.95, 6)})
	r := mustCompare(t, base, slightly, defaults(t))
	if v := row(t, r, "shared", "throughput").Outcome; v != WithinThreshold {
		t.Errorf("5%% slower with a 10%% threshold: %q, want %q", v, WithinThreshold)
	}
	r = mustCompare(t, base, slightly, defaults(t, &results.CompareSettings{Thresholds: map[string]float64{"throughput": 0.03}}))
	if v := row(t, r, "shared", "throughput").Outcome; v != Regression {
		t.Errorf("5%% slower with a 3%% threshold: %q, want regression", v)
	}
	faster := newRun("cpu", sample{"reuseport": around(20000, 6), "shared": around(18000*1.3, 6)})
	r = mustCompare(t, base, faster, defaults(t))
	if v := row(t, r, "shared", "throughput").Outcome; v != Improvement || r.Regressions != 0 {
		t.Errorf("30%% faster: %q with %d regressions, want an improvement", v, r.Regressions)
	}
}

func TestTooFewRepetitionsCannotFailAndSaySo(t *testing.T) {
	base := newRun("cpu", sample{"reuseport": around(20000, 4), "shared": around(18000, 4)})
	head := newRun("cpu", sample{"reuseport": around(20000, 4), "shared": around(9000, 4)})
	r := mustCompare(t, base, head, defaults(t))
	if v := row(t, r, "shared", "throughput").Outcome; v != Unchanged {
		t.Errorf("4+4 values at α=0.01: %q, want ~ (the test cannot be significant)", v)
	}
	if !hasWarning(r, "too few repetitions: with 4 in BASE and 4 in HEAD") || !hasWarning(r, "use reps: 5 or more") {
		t.Errorf("no warning about the sample size: %q", r.Warnings)
	}
}

func TestNormalisedMetricsCancelTheMachine(t *testing.T) {
	base := newRun("slow cpu", sample{"reuseport": around(10000, 5), "shared": around(9000, 5), "roundrobin": around(8000, 5)})
	// Twice as fast a machine, where roundrobin alone lost ground.
	head := newRun("fast cpu", sample{"reuseport": around(20000, 5), "shared": around(18000, 5), "roundrobin": around(12000, 5)})
	r := mustCompare(t, base, head, defaults(t, &results.CompareSettings{Gate: []string{"throughput_vs_ref"}}))
	if v := row(t, r, "shared", "throughput_vs_ref").Outcome; v != Unchanged {
		t.Errorf("shared kept its ratio to reuseport: %q, want ~", v)
	}
	if v := row(t, r, "shared", "throughput").Outcome; v != Improvement {
		t.Errorf("shared's absolute throughput doubled: %q, want improvement", v)
	}
	if v := row(t, r, "roundrobin", "throughput_vs_ref").Outcome; v != Regression || r.Regressions != 1 {
		t.Errorf("roundrobin fell from 0.8 to 0.6 of reuseport: %q, %d regressions; want 1 regression", v, r.Regressions)
	}
	for _, row := range r.Rows {
		if row.Mode == "reuseport" && row.Metric == "throughput_vs_ref" {
			t.Error("the reference mode has a normalised row, which is always 1")
		}
	}
	if !hasWarning(r, "different hardware: BASE ran on 2 × slow cpu, HEAD on 2 × fast cpu") {
		t.Errorf("no hardware warning: %q", r.Warnings)
	}
	// Gating on absolute figures across machines is called out.
	r = mustCompare(t, base, head, defaults(t))
	if !hasWarning(r, "gate includes absolute figures (throughput, p99, cpu_per_request)") {
		t.Errorf("no warning about absolute figures across machines: %q", r.Warnings)
	}
	// So is a baseline whose CPU figures span more.
	if hasWarning(r, "schema") {
		t.Errorf("a warning about schemas between records of one schema: %q", r.Warnings)
	}
	base.Schema = 1
	r = mustCompare(t, base, head, defaults(t))
	if !hasWarning(r, "BASE is results.json schema 1 and HEAD schema 2") {
		t.Errorf("no warning about the baseline's older schema: %q", r.Warnings)
	}
}

func TestBadInputIsAnError(t *testing.T) {
	base := newRun("cpu", sample{"reuseport": around(20000, 5), "shared": around(18000, 5)})
	other := newRun("cpu", sample{"reuseport": around(20000, 5)})
	for i := range other.Trials {
		other.Trials[i].Experiment = "another"
	}
	if _, err := Compare("base", base, "head", other, defaults(t)); err == nil || !strings.Contains(err.Error(), "nothing to compare") {
		t.Errorf("no common point: err = %v", err)
	}
	noRef := newRun("cpu", sample{"shared": around(18000, 5)})
	_, err := Compare("base", noRef, "head", noRef, defaults(t, &results.CompareSettings{Gate: []string{"throughput_vs_ref"}}))
	if err == nil || !strings.Contains(err.Error(), "reference mode reuseport did not run") {
		t.Errorf("gate on a normalised metric without its reference: err = %v", err)
	}
	for _, bad := range []results.CompareSettings{
		{Gate: []string{"thruput"}},
		{Thresholds: map[string]float64{"p99": -1}},
		{Alpha: 1.5},
		{Reference: "no-such-mode"},
	} {
		if _, err := Resolve(&bad); err == nil {
			t.Errorf("Resolve(%+v): no error", bad)
		}
	}
}

func TestFailedPointAndMissingPoints(t *testing.T) {
	base := newRun("cpu", sample{"reuseport": around(20000, 5), "shared": around(18000, 5), "roundrobin": around(15000, 5)})
	head := newRun("cpu", sample{"reuseport": around(20000, 5), "shared": around(18000, 5)})
	for i := range head.Trials {
		if head.Trials[i].Mode == "shared" {
			head.Trials[i].Error = "deployment failed"
		}
	}
	r := mustCompare(t, base, head, defaults(t))
	if len(r.Failed) != 1 || r.Regressions != 1 || !strings.Contains(r.Failed[0], "shared") {
		t.Errorf("shared failed in HEAD: failed %q, %d regressions; want it counted", r.Failed, r.Regressions)
	}
	if len(r.OnlyBase) != 1 || !strings.Contains(r.OnlyBase[0], "roundrobin") || !hasWarning(r, "1 points of BASE are not in HEAD") {
		t.Errorf("roundrobin only in BASE: %q, warnings %q", r.OnlyBase, r.Warnings)
	}
}

func TestResolveLayers(t *testing.T) {
	baseline := &results.CompareSettings{Gate: []string{"throughput_vs_ref"}, Reference: "roundrobin", Thresholds: map[string]float64{"throughput_vs_ref": 0.2}}
	flags := &results.CompareSettings{Thresholds: map[string]float64{"throughput_vs_ref": 0.05}, Alpha: 0.02}
	s := defaults(t, baseline, flags)
	if s.Reference != "roundrobin:free" || s.Gate[0] != "throughput_vs_ref" || s.Thresholds["throughput_vs_ref"] != 0.05 || s.Alpha != 0.02 || s.Thresholds["p99"] != 0.25 {
		t.Errorf("resolved %+v", s)
	}
}

func TestSmallestP(t *testing.T) {
	for _, c := range []struct {
		n1, n2 int
		want   float64
	}{{3, 3, 0.1}, {4, 4, 2.0 / 70}, {5, 5, 2.0 / 252}, {1, 1, 1}} {
		if got := smallestP(c.n1, c.n2); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("smallestP(%d, %d) = %v, want %v", c.n1, c.n2, got, c.want)
		}
	}
}

func TestOutputs(t *testing.T) {
	base := newRun("cpu", sample{"reuseport": around(20000, 5), "shared": around(18000, 5)})
	head := newRun("cpu", sample{"reuseport": around(20000, 5), "shared": around(12000, 5)})
	r := mustCompare(t, base, head, defaults(t))
	var md, text, js bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## clusterbench compare: ❌ 1 regression", "### Regressions", "| throughput | e", "<details>"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
	}
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "regression") || !strings.HasSuffix(text.String(), r.Headline()+"\n") {
		t.Errorf("terminal output does not end with the verdict:\n%s", text.String())
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Verdict
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON does not read back: %v", err)
	}
	if back.Regressions != 1 || len(back.Rows) != len(r.Rows) || back.Rows[0].Base.N != 5 {
		t.Errorf("JSON read back: %d regressions, %d rows", back.Regressions, len(back.Rows))
	}
}

func hasWarning(r *Verdict, part string) bool {
	for _, w := range r.Warnings {
		if strings.Contains(w, part) {
			return true
		}
	}
	return false
}
