package compare

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	moremath "github.com/aclements/go-moremath/stats"

	"clusterbench/results"
)

// abRun builds a run of two variants over reps rounds at one point: base's
// CPU per request wobbles by a few percent from round to round (drift both
// variants share), and head's is base's times cpuRatio times its own
// small noise. Throughput is the inverse of CPU per request.
func abRun(reps int, cpuRatio float64) *results.Run {
	r := &results.Run{Schema: results.Schema, Scenario: "ab", Complete: true, Host: results.Host{CPUModel: "cpu", CPUs: 2}}
	for rep := 1; rep <= reps; rep++ {
		drift := 1 + 0.04*math.Sin(float64(rep)) // shared by the pair
		noise := 1 + 0.005*math.Cos(float64(3*rep))
		for _, v := range []struct {
			name  string
			ratio float64
		}{{"base", 1}, {"head", cpuRatio * noise}} {
			cpu := 250 * drift * v.ratio
			r.Trials = append(r.Trials, results.Trial{
				Variant: v.name, Experiment: "ab", Rep: rep, Mode: "reuseport", Workers: 2, KeepAlive: true,
				Handler: results.Handler{Name: "app"}, Load: results.Load{Name: "max"},
				Requests: 10000, Successes: 10000, ThroughputRPS: 2e6 / cpu, ServerCPUPerRequestUs: cpu,
				Latency:  results.Latency{P50: cpu / 100, P99: cpu / 25},
				Fairness: results.FairnessPair{Requests: results.Fairness{Jain: 0.99}, Connections: results.Fairness{Jain: 0.99}},
			})
		}
	}
	return r
}

func abSettings(t *testing.T) Settings {
	t.Helper()
	return defaults(t, &results.CompareSettings{
		Gate:       []string{"cpu_per_request", "throughput", "p99", "errors"},
		Thresholds: map[string]float64{"cpu_per_request": 0.03, "throughput": 0.05, "p99": 0.10},
	})
}

func pairedRowOf(t *testing.T, v *PairedVerdict, metric string) PairedRow {
	t.Helper()
	for _, r := range v.Rows {
		if r.Metric == metric {
			return r
		}
	}
	t.Fatalf("no paired row of %s in %d rows", metric, len(v.Rows))
	return PairedRow{}
}

func TestPairedRules(t *testing.T) {
	for _, c := range []struct {
		name       string
		reps       int
		ratio      float64
		cpu        Outcome
		regression bool
	}{
		// A drift of ±4% between rounds hides nothing: the pairs cancel it.
		{"same builds", 8, 1, Unchanged, false},
		{"10% slower", 8, 1.10, Regression, true},
		{"10% faster", 8, 1 / 1.10, Improvement, false},
		// Significant, but below the 3% threshold of CPU per request.
		{"2% slower", 8, 1.02, WithinThreshold, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := Paired("run", abRun(c.reps, c.ratio), abSettings(t))
			if err != nil {
				t.Fatal(err)
			}
			row := pairedRowOf(t, v, "cpu_per_request")
			if row.Outcome != c.cpu {
				t.Errorf("cpu_per_request: got %s (change %+.2f%%, p %v); want %s", row.Outcome, 100*float64(row.Change), row.PWorseHolm, c.cpu)
			}
			if got := v.Regressions > 0; got != c.regression {
				t.Errorf("regression: got %v (%s); want %v", got, v.Headline(), c.regression)
			}
			if len(row.Pairs) != c.reps {
				t.Errorf("pairs: got %d; want %d", len(row.Pairs), c.reps)
			}
			if lo, hi := float64(row.Lo), float64(row.Hi); !(lo <= float64(row.Ratio) && float64(row.Ratio) <= hi) {
				t.Errorf("interval [%v, %v] does not hold the ratio %v", lo, hi, row.Ratio)
			}
			if c.ratio != 1 && math.Abs(float64(row.Ratio)/c.ratio-1) > 0.01 {
				t.Errorf("ratio: got %v; want about %v", row.Ratio, c.ratio)
			}
		})
	}
}

// The pairs cancel drift that a comparison of the two samples cannot: the
// same 10% change, unpaired, is lost in ±4% drift over 8 rounds.
func TestPairingCancelsDrift(t *testing.T) {
	v, err := Paired("run", abRun(8, 1.05), abSettings(t))
	if err != nil {
		t.Fatal(err)
	}
	paired := pairedRowOf(t, v, "cpu_per_request")
	unpaired := row(t, v.Unpaired, "reuseport", "cpu_per_request")
	if !(float64(paired.PWorseHolm) < float64(unpaired.P)) {
		t.Errorf("paired p (Holm) %v is not below the unpaired p %v", paired.PWorseHolm, unpaired.P)
	}
	if paired.Outcome != Regression {
		t.Errorf("paired: got %s; want %s", paired.Outcome, Regression)
	}
}

func TestHolm(t *testing.T) {
	for _, c := range []struct {
		in, want []float64
	}{
		{[]float64{0.01, 0.04, 0.03}, []float64{0.03, 0.06, 0.06}},
		{[]float64{0.5, math.NaN(), 0.001}, []float64{0.5, math.NaN(), 0.002}},
		{[]float64{0.9, 0.8}, []float64{1, 1}},
	} {
		ps := make([]Number, len(c.in))
		for i, p := range c.in {
			ps[i] = Number(p)
		}
		holmValues(ps)
		for i := range ps {
			got, want := float64(ps[i]), c.want[i]
			if !(math.IsNaN(got) && math.IsNaN(want)) && math.Abs(got-want) > 1e-12 {
				t.Errorf("holm(%v)[%d]: got %v; want %v", c.in, i, got, want)
			}
		}
	}
}

func TestTQuantile(t *testing.T) {
	// Against the t distribution's own CDF, the definition of its quantile.
	for _, dof := range []float64{2, 7, 30} {
		for _, q := range []float64{0.9, 0.975, 0.995} {
			x := tQuantile(q, dof)
			if got := (tDistCDF(x, dof)); math.Abs(got-q) > 1e-9 {
				t.Errorf("CDF(tQuantile(%v, %v) = %v) = %v", q, dof, x, got)
			}
		}
	}
	if x := tQuantile(0.975, 1e6); math.Abs(x-1.959964) > 1e-4 {
		t.Errorf("with many degrees of freedom the 97.5%% quantile is the normal's 1.96; got %v", x)
	}
}

// A record that says nothing must never pass as "no regression".
func TestPairedRefusesEmptyRecords(t *testing.T) {
	noFigures := abRun(8, 1)
	for i := range noFigures.Trials {
		tr := &noFigures.Trials[i]
		tr.ServerCPUPerRequestUs, tr.ThroughputRPS, tr.Latency = 0, 0, results.Latency{}
	}
	onlyBase := abRun(8, 1)
	onlyBase.Trials = split(onlyBase, "base").Trials
	noVariants := abRun(8, 1)
	for i := range noVariants.Trials {
		noVariants.Trials[i].Variant = ""
	}
	noPairs := abRun(8, 1) // head's rounds never meet base's
	for i := range noPairs.Trials {
		if tr := &noPairs.Trials[i]; tr.Variant == "head" {
			tr.Rep += 100
		}
	}
	twoPairs := abRun(2, 1.5)
	for _, c := range []struct {
		name string
		run  *results.Run
	}{
		{"no trials", &results.Run{Schema: results.Schema, Complete: true}},
		{"no variants", noVariants},
		{"one variant", onlyBase},
		{"trials without figures", noFigures},
		{"no complete pair", noPairs},
		{"too few pairs", twoPairs},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := Paired("run", c.run, abSettings(t))
			if err == nil {
				t.Fatalf("got a verdict (%s); want nothing to compare", v.Headline())
			}
			if !strings.Contains(err.Error(), "nothing to compare") {
				t.Errorf("error %q does not say there is nothing to compare", err)
			}
		})
	}
	if _, err := Paired("run", noVariants, abSettings(t)); !errors.Is(err, ErrNoVariants) {
		t.Errorf("no variants: got %v; want ErrNoVariants", err)
	}
}

// Every trial of head failed where base measured: a regression, not
// nothing to compare.
func TestPairedHeadFailedIsARegression(t *testing.T) {
	r := abRun(8, 1)
	for i := range r.Trials {
		if tr := &r.Trials[i]; tr.Variant == "head" {
			tr.Error = "deployment: exit status 1"
		}
	}
	v, err := Paired("run", r, abSettings(t))
	if err != nil {
		t.Fatal(err)
	}
	if v.Regressions == 0 {
		t.Errorf("got %s; want a regression", v.Headline())
	}
}

func TestPairedExports(t *testing.T) {
	v, err := Paired("run", abRun(8, 1.10), abSettings(t))
	if err != nil {
		t.Fatal(err)
	}
	var md, js, text bytes.Buffer
	for _, write := range []func() error{func() error { return v.WriteMarkdown(&md) }, func() error { return v.WriteJSON(&js) }, func() error { return v.WriteText(&text) }} {
		if err := write(); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(md.String(), "❌") || !strings.Contains(text.String(), "regression") {
		t.Errorf("the outputs do not say regression:\n%s\n%s", md.String(), text.String())
	}
	var back struct {
		Paired []struct {
			Metric string `json:"metric"`
			Pairs  []Pair `json:"pairs"`
		} `json:"paired"`
		Regressions int `json:"regressions"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Regressions != v.Regressions || len(back.Paired) != len(v.Rows) || len(back.Paired[0].Pairs) != 8 {
		t.Errorf("JSON: %d regressions, %d rows; want %d, %d with 8 pairs", back.Regressions, len(back.Paired), v.Regressions, len(v.Rows))
	}
}

func tDistCDF(x, dof float64) float64 { return tdist(dof).CDF(x) }

func tdist(dof float64) moremath.TDist { return moremath.TDist{V: dof} }
