package compare

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	moremath "github.com/aclements/go-moremath/stats"

	"clusterbench/analysis"
	"clusterbench/results"
)

// A paired comparison judges one run that measured two variants of the
// app, base and head, interleaved on the same machine (see
// scenarios.Variants). Each round of a point gives one pair of trials run
// seconds apart, so absolute figures are fair to compare, and the
// machine's drift, which moves both trials of a pair alike, cancels in
// their ratio. The test is Student's paired t-test on the logarithms of
// the pairs' ratios: its mean is the change as a ratio (a geometric mean),
// its interval a ratio too, and it is one-sided, in the metric's worse
// direction. Its p-values are corrected for the many points and metrics
// tested at once with Holm's method, which holds the chance of any false
// alarm in the whole comparison at α.

// PairedMetrics are the absolute figures the paired test judges; the
// others (normalised, fairness, errors) are judged between the variants'
// samples as `compare BASE HEAD` does.
var PairedMetrics = []string{"cpu_per_request", "throughput", "p99"}

// minPairs is the fewest pairs a point needs for the test: with 2 the
// variance has one degree of freedom and the interval spans decades.
const minPairs = 3

// PairedVerdict is the judgement of head against base within one run.
type PairedVerdict struct {
	Run      Side        `json:"run"`
	Settings Settings    `json:"settings"`
	Rows     []PairedRow `json:"paired"`
	// Unpaired judges the other metrics between the variants' samples.
	Unpaired *Verdict `json:"unpaired"`
	Warnings []string `json:"warnings,omitempty"`
	// Regressions counts regressions of gated metrics, paired and
	// unpaired, and points whose every trial of head failed.
	Regressions int `json:"regressions"`
}

// PairedRow is one metric at one point, over its pairs.
type PairedRow struct {
	Experiment string `json:"experiment"`
	Mode       string `json:"mode"`
	Condition  string `json:"condition"`
	Metric     string `json:"metric"`
	Gated      bool   `json:"gated"`
	// Pairs are the rounds with both variants measured: base's and head's value.
	Pairs []Pair `json:"pairs"`
	// Ratio is head over base, the geometric mean of the pairs' ratios,
	// with its confidence interval Lo–Hi; Change is Ratio − 1.
	Ratio     Number  `json:"ratio"`
	Lo        Number  `json:"lo"`
	Hi        Number  `json:"hi"`
	Change    Number  `json:"change"`
	Threshold float64 `json:"threshold"`
	// PWorse is the one-sided p-value of a change in the worse direction,
	// PWorseHolm the same corrected for every paired test of the run.
	PWorse      Number  `json:"p_worse"`
	PWorseHolm  Number  `json:"p_worse_holm"`
	PBetterHolm Number  `json:"p_better_holm"`
	Outcome     Outcome `json:"verdict"`
}

// Pair is one round of a point: base's and head's value of a metric.
type Pair struct {
	Rep  int     `json:"rep"`
	Base float64 `json:"base"`
	Head float64 `json:"head"`
}

// ErrNoVariants is a run that did not measure two variants.
var ErrNoVariants = errors.New("the run has no variants (base and head)")

// HasVariants reports whether run measured variants.
func HasVariants(run *results.Run) bool {
	return slices.ContainsFunc(run.Trials, func(t results.Trial) bool { return t.Variant != "" })
}

// Paired judges head against base in run, named name, under s. It fails,
// as "nothing to compare", on a run without both variants or without one
// complete pair, so that an empty record never passes as no regression.
func Paired(name string, run *results.Run, s Settings) (*PairedVerdict, error) {
	if !HasVariants(run) {
		return nil, fmt.Errorf("nothing to compare: %s: %w", name, ErrNoVariants)
	}
	base, head := split(run, "base"), split(run, "head")
	for _, v := range []struct {
		name string
		run  *results.Run
	}{{"base", base}, {"head", head}} {
		if len(v.run.Trials) == 0 {
			return nil, fmt.Errorf("nothing to compare: %s has no trial of variant %s", name, v.name)
		}
	}
	unpairedSettings := s
	unpairedSettings.Gate = slices.DeleteFunc(slices.Clone(s.Gate), func(m string) bool { return slices.Contains(PairedMetrics, m) })
	unpaired, err := Compare(name+" base", base, name+" head", head, unpairedSettings)
	if err != nil {
		return nil, err
	}
	v := &PairedVerdict{Run: side(name, run), Settings: s, Unpaired: unpaired}
	bs, hs := newSide(base, s.Reference), newSide(head, s.Reference)
	for _, key := range bs.order {
		bp, hp := bs.points[key], hs.points[key]
		if hp == nil {
			continue // the unpaired verdict names it
		}
		for _, name := range PairedMetrics {
			m, _ := Lookup(name)
			v.Rows = append(v.Rows, pairedRow(m, bp, hp, s))
		}
	}
	holm(v.Rows, func(r *PairedRow) *Number { return &r.PWorse }, func(r *PairedRow) *Number { return &r.PWorseHolm })
	better := make([]Number, len(v.Rows)) // 1 − PWorse, the other tail
	for i, r := range v.Rows {
		better[i] = Number(1 - float64(r.PWorse))
	}
	holmValues(better)
	for i := range v.Rows {
		v.Rows[i].PBetterHolm = better[i]
		v.Rows[i].judge(s.Alpha)
	}
	if err := v.checkTestable(); err != nil {
		return nil, err
	}
	v.Warnings = append(v.Warnings, unpaired.Warnings...)
	for _, r := range v.Rows {
		if r.Gated && r.Outcome == NoData && len(r.Pairs) > 0 {
			v.Warnings = appendNew(v.Warnings, fmt.Sprintf("%s/%s/%s: %d complete pairs, fewer than the %d the paired test needs; use more reps", r.Experiment, r.Mode, r.Condition, len(r.Pairs), minPairs))
		}
		if r.Gated && r.Outcome == Regression {
			v.Regressions++
		}
	}
	v.Regressions += unpaired.Regressions
	return v, nil
}

// checkTestable refuses a record in which some gated paired metric could
// not be tested at any point, unless head failed outright somewhere (a
// regression in itself): such a record says nothing, and must not pass.
func (v *PairedVerdict) checkTestable() error {
	if len(v.Unpaired.Failed) > 0 {
		return nil
	}
	for _, name := range v.Settings.Gate {
		if !slices.Contains(PairedMetrics, name) {
			continue
		}
		if !slices.ContainsFunc(v.Rows, func(r PairedRow) bool { return r.Metric == name && r.Outcome != NoData }) {
			return fmt.Errorf("nothing to compare: %s: no point has %d complete pairs of %s (both variants measured, with figures, in the same round)", v.Run.Path, minPairs, name)
		}
	}
	return nil
}

// split is the run's trials of one variant, as a run of their own.
func split(run *results.Run, variant string) *results.Run {
	c := *run
	c.Trials = nil
	for _, t := range run.Trials {
		if t.Variant == variant {
			c.Trials = append(c.Trials, t)
		}
	}
	return &c
}

// pairedRow tests metric m at one point over the rounds both variants measured.
func pairedRow(m *Metric, bp, hp *analysis.Point, s Settings) PairedRow {
	row := PairedRow{Experiment: bp.Experiment, Mode: bp.Mode, Condition: condition(bp), Metric: m.Name, Gated: s.gated(m.Name),
		Threshold: s.Thresholds[m.Name], Ratio: nan(), Lo: nan(), Hi: nan(), Change: nan(), PWorse: nan(), Outcome: NoData}
	heads := map[int]*results.Trial{}
	for _, t := range hp.Trials {
		heads[t.Rep] = t
	}
	var logBase, logHead []float64
	for _, bt := range bp.Trials {
		ht := heads[bt.Rep]
		if ht == nil {
			continue
		}
		b, h := m.value(bt), m.value(ht)
		if !(b > 0) || !(h > 0) || math.IsInf(b, 0) || math.IsInf(h, 0) {
			continue // no figure: no pair
		}
		row.Pairs = append(row.Pairs, Pair{Rep: bt.Rep, Base: b, Head: h})
		logBase, logHead = append(logBase, math.Log(b)), append(logHead, math.Log(h))
	}
	sort.Slice(row.Pairs, func(i, j int) bool { return row.Pairs[i].Rep < row.Pairs[j].Rep })
	n := len(logBase)
	if n < minPairs {
		return row
	}
	diffs := make([]float64, n)
	for i := range diffs {
		diffs[i] = logHead[i] - logBase[i]
	}
	mean, sd := moremath.Mean(diffs), moremath.StdDev(diffs)
	worse := moremath.LocationGreater // head's logarithm above base's
	if m.HigherIsBetter {
		worse = moremath.LocationLess
	}
	res, err := moremath.PairedTTest(logHead, logBase, 0, worse)
	switch {
	case err == nil:
		row.PWorse = Number(res.P)
	case errors.Is(err, moremath.ErrZeroVariance):
		// Every pair changed by exactly the same ratio: certain, either way.
		row.PWorse = 1
		if (mean > 0) == (worse == moremath.LocationGreater) && mean != 0 {
			row.PWorse = 0
		}
	default:
		return row
	}
	half := tQuantile(1-(1-s.Confidence)/2, float64(n-1)) * sd / math.Sqrt(float64(n))
	row.Ratio, row.Lo, row.Hi = Number(math.Exp(mean)), Number(math.Exp(mean-half)), Number(math.Exp(mean+half))
	row.Change = Number(math.Exp(mean) - 1)
	return row
}

// judge gives the row its outcome: significant after correction and
// beyond the threshold in the worse direction is a regression.
func (r *PairedRow) judge(alpha float64) {
	if math.IsNaN(float64(r.PWorse)) {
		r.Outcome = NoData
		return
	}
	beyond := math.Abs(float64(r.Change)) > r.Threshold
	switch {
	case float64(r.PWorseHolm) < alpha && beyond:
		r.Outcome = Regression
	case float64(r.PBetterHolm) < alpha && beyond:
		r.Outcome = Improvement
	case float64(r.PWorseHolm) < alpha || float64(r.PBetterHolm) < alpha:
		r.Outcome = WithinThreshold
	default:
		r.Outcome = Unchanged
	}
}

// holm sets each row's corrected p-value from its raw one.
func holm(rows []PairedRow, raw, corrected func(*PairedRow) *Number) {
	ps := make([]Number, len(rows))
	for i := range rows {
		ps[i] = *raw(&rows[i])
	}
	holmValues(ps)
	for i := range rows {
		*corrected(&rows[i]) = ps[i]
	}
}

// holmValues replaces p-values by Holm's step-down adjusted ones: the
// k-th smallest of m tested is multiplied by m−k+1, kept monotone, capped
// at 1. NaN (untested) values are left out of m and stay NaN.
func holmValues(ps []Number) {
	var idx []int
	for i, p := range ps {
		if !math.IsNaN(float64(p)) {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return ps[idx[a]] < ps[idx[b]] })
	m, running := len(idx), 0.0
	for k, i := range idx {
		adj := math.Min(1, float64(m-k)*float64(ps[i]))
		running = math.Max(running, adj)
		ps[i] = Number(running)
	}
}

// tQuantile is the q quantile of Student's t distribution with dof
// degrees of freedom, by bisection of its CDF (moremath has no inverse).
func tQuantile(q, dof float64) float64 {
	dist := moremath.TDist{V: dof}
	lo, hi := -1e3, 1e3
	for range 200 {
		mid := (lo + hi) / 2
		if dist.CDF(mid) < q {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

func nan() Number { return Number(math.NaN()) }
