// Package compare judges a run against a baseline, as a CI job does: for
// every trial point both runs measured and every metric, the change, its
// significance and its outcome, which together make the verdict.
//
// A regression needs both a significant difference (Mann-Whitney U, from
// golang.org/x/perf/benchmath, as benchstat uses) and a change beyond the
// metric's threshold in the worse direction, so that neither noise nor a
// real but negligible change fails a build.
package compare

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/perf/benchmath"

	"clusterbench/analysis"
	"clusterbench/modes"
	"clusterbench/results"
)

// Settings are a comparison's rules, with every default filled in: the
// rules a run record can carry, and the level of the intervals shown.
type Settings struct {
	results.CompareSettings
	Confidence float64 `json:"confidence"`
}

// DefaultConfidence is the confidence level of the intervals, benchstat's.
const DefaultConfidence = 0.95

// Resolve returns the rules of a comparison from layers of settings, each
// overriding the ones before it (the baseline's, then the flags'); what no
// layer sets takes the defaults.
func Resolve(layers ...*results.CompareSettings) (Settings, error) {
	s := Settings{Confidence: DefaultConfidence, CompareSettings: results.CompareSettings{
		Reference: DefaultReference, Gate: DefaultGate, Thresholds: map[string]float64{}, Alpha: DefaultAlpha}}
	for _, m := range Metrics {
		s.Thresholds[m.Name] = m.Threshold
	}
	for _, l := range layers {
		if l == nil {
			continue
		}
		if l.Reference != "" {
			spec, err := modes.ParseSpec(l.Reference)
			if err != nil {
				return Settings{}, fmt.Errorf("reference: %w", err)
			}
			s.Reference = spec.String()
		}
		if len(l.Gate) > 0 {
			for _, name := range l.Gate {
				if _, err := Lookup(name); err != nil {
					return Settings{}, fmt.Errorf("gate: %w", err)
				}
			}
			s.Gate = slices.Clone(l.Gate)
		}
		for name, v := range l.Thresholds {
			if _, err := Lookup(name); err != nil {
				return Settings{}, fmt.Errorf("threshold: %w", err)
			}
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				return Settings{}, fmt.Errorf("threshold %s: must be a number ≥ 0, got %v", name, v)
			}
			s.Thresholds[name] = v
		}
		if l.Alpha != 0 {
			if l.Alpha <= 0 || l.Alpha >= 1 {
				return Settings{}, fmt.Errorf("alpha: must be between 0 and 1, got %v", l.Alpha)
			}
			s.Alpha = l.Alpha
		}
	}
	if spec, err := modes.ParseSpec(s.Reference); err == nil {
		s.Reference = spec.String()
	}
	return s, nil
}

func (s Settings) gated(metric string) bool { return slices.Contains(s.Gate, metric) }

// Outcome is what a comparison concludes about one metric at one point.
type Outcome string

const (
	Regression  Outcome = "regression"
	Improvement Outcome = "improvement"
	// Unchanged: the difference is not significant.
	Unchanged Outcome = "~"
	// WithinThreshold: significant, but smaller than the threshold.
	WithinThreshold Outcome = "within threshold"
	NoData          Outcome = "no data"
)

// Verdict is the judgement of HEAD against BASE: every metric's outcome at
// every point, and the regressions that fail the comparison.
type Verdict struct {
	Base     Side     `json:"base"`
	Head     Side     `json:"head"`
	Settings Settings `json:"settings"`
	Rows     []Row    `json:"rows"`
	// Failed lists points BASE measured whose every trial failed in HEAD;
	// each counts as a regression.
	Failed []string `json:"failed,omitempty"`
	// OnlyBase and OnlyHead list points one run measured and the other did not.
	OnlyBase []string `json:"only_base,omitempty"`
	OnlyHead []string `json:"only_head,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// Regressions counts regressions of gated metrics, and failed points.
	Regressions int `json:"regressions"`
}

// Side describes one of the two runs.
type Side struct {
	Path     string       `json:"path"`
	Scenario string       `json:"scenario"`
	Started  time.Time    `json:"started"`
	Complete bool         `json:"complete"`
	Host     results.Host `json:"host"`
}

// Row is one metric at one point.
type Row struct {
	Experiment string `json:"experiment"`
	Mode       string `json:"mode"`
	// Condition is the rest of the point: "8w keep-alive off, trivial, max-c32".
	Condition string `json:"condition"`
	Metric    string `json:"metric"`
	Gated     bool   `json:"gated"`
	Base      Stats  `json:"base"`
	Head      Stats  `json:"head"`
	// Change is HEAD's median against BASE's: relative (0.1 = +10%), or
	// a difference for absolute metrics; null when BASE's is 0.
	Change    Number  `json:"change"`
	Threshold float64 `json:"threshold"`
	// P is the Mann-Whitney U test's p-value.
	P       Number  `json:"p"`
	Outcome Outcome `json:"verdict"`
	// Notes are the statistics' own warnings, e.g. too few samples for an interval.
	Notes []string `json:"notes,omitempty"`
}

// Stats summarise one side's sample: its median and confidence interval.
type Stats struct {
	N          int       `json:"n"`
	Median     Number    `json:"median"`
	Lo         Number    `json:"lo"`
	Hi         Number    `json:"hi"`
	Confidence float64   `json:"confidence"`
	Values     []float64 `json:"values"`
}

// Compare judges head against base under s; baseName and headName name
// the runs. It fails only when the two runs have nothing in common to
// compare, or when a gated normalised metric cannot be computed because
// its reference mode did not run.
func Compare(baseName string, base *results.Run, headName string, head *results.Run, s Settings) (*Verdict, error) {
	if !slices.ContainsFunc(base.Trials, func(t results.Trial) bool { return !t.Failed() }) {
		return nil, fmt.Errorf("nothing to compare: %s measured nothing (%d trials, none measured)", baseName, len(base.Trials))
	}
	r := &Verdict{Base: side(baseName, base), Head: side(headName, head), Settings: s}
	bs, hs := newSide(base, s.Reference), newSide(head, s.Reference)
	matched := 0
	for _, key := range bs.order {
		bp, hp := bs.points[key], hs.points[key]
		switch {
		case hp == nil:
			r.OnlyBase = append(r.OnlyBase, key)
			continue
		case len(bp.Trials) > 0 && len(hp.Trials) == 0:
			r.Failed = append(r.Failed, key)
		}
		matched++
		r.Warnings = appendNew(r.Warnings, setupChanges(bp, hp)...)
		for _, m := range Metrics {
			if m.Normalised && bp.Mode == s.Reference {
				continue // always 1
			}
			r.Rows = append(r.Rows, r.compare(m, bp, bs.sample(m, bp), hs.sample(m, hp)))
		}
	}
	for _, key := range hs.order {
		if bs.points[key] == nil {
			r.OnlyHead = append(r.OnlyHead, key)
		}
	}
	if matched == 0 {
		return nil, fmt.Errorf("nothing to compare: no trial point of %s (scenario %s, %d points) is in %s (scenario %s, %d points); "+
			"a point is an experiment, mode, worker count, keep-alive, handler and load, matched by name", baseName, base.Scenario, len(bs.order), headName, head.Scenario, len(hs.order))
	}
	if err := r.checkGate(); err != nil {
		return nil, err
	}
	r.warn(base, head)
	for _, row := range r.Rows {
		if row.Gated && row.Outcome == Regression {
			r.Regressions++
		}
	}
	r.Regressions += len(r.Failed)
	return r, nil
}

// compare judges one metric at one point.
func (r *Verdict) compare(m *Metric, p *analysis.Point, base, head []float64) Row {
	s := r.Settings
	row := Row{Experiment: p.Experiment, Mode: p.Mode, Condition: condition(p), Metric: m.Name, Gated: s.gated(m.Name),
		Threshold: s.Thresholds[m.Name], Change: Number(math.NaN()), P: Number(math.NaN()), Outcome: NoData}
	thresholds := benchmath.DefaultThresholds
	thresholds.CompareAlpha = s.Alpha
	bs, hs := benchmath.NewSample(base, &thresholds), benchmath.NewSample(head, &thresholds)
	row.Base, row.Head = stats(bs, s.Confidence, &row.Notes), stats(hs, s.Confidence, &row.Notes)
	if len(base) == 0 || len(head) == 0 {
		return row
	}
	c := benchmath.AssumeNothing.Compare(bs, hs)
	row.P = Number(c.P)
	row.Notes = appendNew(row.Notes, errorStrings(c.Warnings)...)
	b, h := float64(row.Base.Median), float64(row.Head.Median)
	change := h - b
	if !m.Absolute {
		change = relativeChange(b, h)
	}
	row.Change = Number(change)
	worse := h < b
	if !m.HigherIsBetter {
		worse = h > b
	}
	switch {
	case c.P >= c.Alpha:
		row.Outcome = Unchanged
	case !math.IsNaN(change) && math.Abs(change) <= row.Threshold:
		row.Outcome = WithinThreshold
	case worse:
		row.Outcome = Regression
	default:
		row.Outcome = Improvement
	}
	return row
}

func relativeChange(base, head float64) float64 {
	if base == 0 {
		if head == 0 {
			return 0
		}
		return math.NaN() // from nothing: no ratio, but still a change
	}
	return (head - base) / base
}

func stats(s *benchmath.Sample, confidence float64, notes *[]string) Stats {
	st := Stats{N: len(s.Values), Values: slices.Clone(s.Values), Median: Number(math.NaN()), Lo: Number(math.NaN()), Hi: Number(math.NaN())}
	if st.N == 0 {
		return st
	}
	sum := benchmath.AssumeNothing.Summary(s, confidence)
	st.Median, st.Lo, st.Hi, st.Confidence = Number(sum.Center), Number(sum.Lo), Number(sum.Hi), sum.Confidence
	*notes = appendNew(*notes, errorStrings(sum.Warnings)...)
	return st
}

// checkGate refuses a gate that cannot be computed because of its
// settings: a normalised metric whose reference mode did not run. A gated
// metric that an older record lacks is only a warning.
func (r *Verdict) checkGate() error {
	for _, name := range r.Settings.Gate {
		m, _ := Lookup(name)
		has := slices.ContainsFunc(r.Rows, func(row Row) bool { return row.Metric == name && row.Base.N > 0 && row.Head.N > 0 })
		switch {
		case has:
		case m.Normalised:
			return fmt.Errorf("gate %s: the reference mode %s did not run beside other modes in both runs, so it cannot be computed; choose another with --reference or the scenario's compare.reference", name, r.Settings.Reference)
		default:
			r.Warnings = append(r.Warnings, fmt.Sprintf("gate %s: no point has values of it in both runs (a record from an older clusterbench lacks it), so it was not judged", name))
		}
	}
	return nil
}

// warn adds what a reader must know to trust the verdicts.
func (r *Verdict) warn(base, head *results.Run) {
	if !base.Complete {
		r.Warnings = append(r.Warnings, "BASE is a partial run: it was interrupted, so some points may be missing")
	}
	if !head.Complete {
		r.Warnings = append(r.Warnings, "HEAD is a partial run: it was interrupted, so some points may be missing")
	}
	if base.Schema != head.Schema {
		r.Warnings = append(r.Warnings, fmt.Sprintf("BASE is results.json schema %d and HEAD schema %d: in schema 1, CPU figures span the deployment's life, "+
			"start-up and warm-up included, and in schema 2 only the measured phase, so cpu_per_request may change by that alone", base.Schema, head.Schema))
	}
	r.Warnings = append(r.Warnings, hardwareWarnings(base.Host, head.Host, r.Settings)...)
	r.Warnings = append(r.Warnings, r.sampleSizeWarnings()...)
	if n := len(r.OnlyBase); n > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d points of BASE are not in HEAD, so they were not compared: %s", n, list(r.OnlyBase)))
	}
	if n := len(r.OnlyHead); n > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d points of HEAD are not in BASE, so they were not compared: %s", n, list(r.OnlyHead)))
	}
	for _, key := range r.Failed {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s: every trial failed in HEAD, but BASE measured it: counted as a regression", key))
	}
	// The statistics' own notes, once each with how often they came up;
	// equal samples (no errors in either run) need no warning.
	counts := map[string]int{}
	for _, row := range r.Rows {
		if row.Gated {
			for _, n := range row.Notes {
				if n != "all samples are equal" {
					counts[n]++
				}
			}
		}
	}
	for _, n := range slices.Sorted(maps.Keys(counts)) {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s (%d gated comparisons)", n, counts[n]))
	}
}

// hardwareWarnings says when the runs' machines differ, since absolute
// figures then differ for reasons that have nothing to do with the change.
func hardwareWarnings(base, head results.Host, s Settings) []string {
	var diffs []string
	if base.CPUModel != head.CPUModel || base.CPUs != head.CPUs {
		diffs = append(diffs, fmt.Sprintf("BASE ran on %d × %s, HEAD on %d × %s", base.CPUs, base.CPUModel, head.CPUs, head.CPUModel))
	}
	if base.Kernel != head.Kernel {
		diffs = append(diffs, fmt.Sprintf("kernel %s in BASE, %s in HEAD", base.Kernel, head.Kernel))
	}
	if len(diffs) == 0 {
		return nil
	}
	var absolute, normalised []string
	for _, m := range Metrics {
		switch {
		case m.Normalised:
			normalised = append(normalised, m.Name)
		case !m.Absolute && s.gated(m.Name):
			absolute = append(absolute, m.Name)
		}
	}
	msg := "different hardware: " + strings.Join(diffs, "; ")
	if len(absolute) > 0 {
		msg += fmt.Sprintf(". The gate includes absolute figures (%s), which differ between machines for reasons unrelated to the change; "+
			"gate on normalised ones (%s) instead, or compare runs from one machine", strings.Join(absolute, ", "), strings.Join(normalised, ", "))
	}
	return []string{msg}
}

// sampleSizeWarnings says where the test can never be significant: with
// n1 and n2 values the smallest two-sided p-value of Mann-Whitney U is
// 2 / C(n1+n2, n1), so with 3 and 3 repetitions it is 0.1.
func (r *Verdict) sampleSizeWarnings() []string {
	type sizes struct{ base, head int }
	points := map[sizes]int{}
	for _, row := range r.Rows {
		if row.Gated && row.Base.N > 0 && row.Head.N > 0 && smallestP(row.Base.N, row.Head.N) >= r.Settings.Alpha {
			points[sizes{row.Base.N, row.Head.N}]++
		}
	}
	need := 1
	for smallestP(need, need) >= r.Settings.Alpha {
		need++
	}
	var out []string
	for _, n := range slices.SortedFunc(maps.Keys(points), func(a, b sizes) int { return a.base*100 + a.head - b.base*100 - b.head }) {
		out = append(out, fmt.Sprintf("too few repetitions: with %d in BASE and %d in HEAD (%d gated comparisons), the Mann-Whitney U test cannot reach p < %g "+
			"(its smallest p-value is %.3f), so no regression can be detected there; use reps: %d or more",
			n.base, n.head, points[n], r.Settings.Alpha, smallestP(n.base, n.head), need))
	}
	return out
}

func smallestP(n1, n2 int) float64 {
	c := 1.0 // C(n1+n2, n1), built up as a product
	for i := 1; i <= n1; i++ {
		c = c * float64(n2+i) / float64(i)
	}
	return math.Min(1, 2/c)
}

// setupChanges says how a point's setup differs between the runs beyond
// its names: a handler or load of the same name doing other work.
func setupChanges(base, head *analysis.Point) []string {
	bt, ht := first(base), first(head)
	if bt == nil || ht == nil {
		return nil
	}
	var out []string
	if bt.Handler != ht.Handler {
		out = append(out, fmt.Sprintf("experiment %s: handler %s differs: %s in BASE, %s in HEAD", base.Experiment, bt.Handler.Name, describeHandler(bt.Handler), describeHandler(ht.Handler)))
	}
	if bt.Load != ht.Load {
		out = append(out, fmt.Sprintf("experiment %s: load %s differs: %s in BASE, %s in HEAD", base.Experiment, bt.Load.Name, describeLoad(bt.Load), describeLoad(ht.Load)))
	}
	if bt.NetNS != ht.NetNS {
		out = append(out, fmt.Sprintf("experiment %s: private network namespaces: %v in BASE, %v in HEAD", base.Experiment, bt.NetNS, ht.NetNS))
	}
	return out
}

func first(p *analysis.Point) *results.Trial {
	if len(p.Trials) > 0 {
		return p.Trials[0]
	}
	if len(p.Failed) > 0 {
		return p.Failed[0]
	}
	return nil
}

func describeHandler(h results.Handler) string {
	s := fmt.Sprintf("cpu %gµs, sleep %gms, body %d B", h.CPUMicros, h.SleepMs, h.BodyBytes)
	if h.Tail != (results.HandlerTail{}) {
		s += fmt.Sprintf(", %g%% of requests %gµs", 100*h.Tail.Fraction, h.Tail.CPUMicros)
	}
	return s
}

func describeLoad(l results.Load) string {
	rate := "maximum rate"
	if l.Rate > 0 {
		rate = fmt.Sprintf("%d req/s", l.Rate)
	}
	return fmt.Sprintf("%s with %s, concurrency %d, %gs + %gs warm-up", rate, l.Engine, l.Concurrency, l.DurationSeconds, l.WarmupSeconds)
}

// runSide indexes one run's points and its reference mode's trials.
type runSide struct {
	points map[string]*analysis.Point
	order  []string
	// reference holds the reference mode's trials by everything but the mode.
	reference map[string]*results.Trial
}

func newSide(r *results.Run, reference string) *runSide {
	s := &runSide{points: map[string]*analysis.Point{}, reference: map[string]*results.Trial{}}
	for _, p := range analysis.Points(r) {
		key := pointKey(p)
		s.points[key] = p
		s.order = append(s.order, key)
	}
	for i := range r.Trials {
		if t := &r.Trials[i]; t.Label() == reference && !t.Failed() {
			s.reference[repKey(t)] = t
		}
	}
	return s
}

// sample returns metric m's values over p's measured repetitions.
func (s *runSide) sample(m *Metric, p *analysis.Point) []float64 {
	var xs []float64
	for _, t := range p.Trials {
		v := m.value(t)
		if m.Normalised {
			ref := s.reference[repKey(t)]
			if ref == nil || m.value(ref) == 0 {
				continue
			}
			v /= m.value(ref)
		}
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			xs = append(xs, v)
		}
	}
	return xs
}

func pointKey(p *analysis.Point) string { return p.Experiment + "/" + p.Mode + "/" + condition(p) }

func condition(p *analysis.Point) string {
	ka := "off"
	if p.KeepAlive {
		ka = "on"
	}
	return fmt.Sprintf("%dw keep-alive %s, %s, %s", p.Workers, ka, p.Handler, p.Load)
}

// repKey is a trial's place in its run without its mode: the repetition
// of every mode that ran under the same conditions at about the same time.
func repKey(t *results.Trial) string {
	return fmt.Sprint(t.Experiment, "\x00", t.Rep, "\x00", t.Workers, "\x00", t.KeepAlive, "\x00", t.Handler.Name, "\x00", t.Load.Name)
}

func side(name string, r *results.Run) Side {
	return Side{Path: name, Scenario: r.Scenario, Started: r.Started, Complete: r.Complete, Host: r.Host}
}

func errorStrings(errs []error) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return out
}

func appendNew(list []string, items ...string) []string {
	for _, it := range items {
		if !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}

// list shows up to five items and how many more there are.
func list(items []string) string {
	sorted := slices.Clone(items)
	sort.Strings(sorted)
	if len(sorted) > 5 {
		return strings.Join(sorted[:5], "; ") + fmt.Sprintf("; and %d more", len(sorted)-5)
	}
	return strings.Join(sorted, "; ")
}
