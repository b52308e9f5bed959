package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"clusterbench/analysis"
)

// style marks what findings stress and the names they quote: Markdown in
// the report, nothing on a terminal.
type style struct{ markdown bool }

func (s style) strong(x string) string {
	if s.markdown {
		return "**" + x + "**"
	}
	return x
}

func (s style) code(x string) string {
	if s.markdown {
		return "`" + x + "`"
	}
	return x
}

// codes quotes each name and joins them: "`a`, `b`".
func (s style) codes(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = s.code(n)
	}
	return strings.Join(quoted, ", ")
}

// WriteFindings writes the findings as a list: a "Findings" section of
// Markdown, or plain text for a terminal. It writes nothing when there are
// none.
func WriteFindings(w io.Writer, f analysis.Findings, markdown bool) error {
	lines := findingLines(f, style{markdown})
	if len(lines) == 0 {
		return nil
	}
	heading := "\nfindings:\n"
	if markdown {
		heading = "## Findings\n\n"
	}
	if _, err := io.WriteString(w, heading); err != nil {
		return err
	}
	for _, l := range lines {
		if _, err := fmt.Fprintf(w, "- %s\n", l); err != nil {
			return err
		}
	}
	if markdown {
		_, err := fmt.Fprintln(w)
		return err
	}
	return nil
}

// findingLines states each finding as a sentence or a few.
func findingLines(f analysis.Findings, s style) []string {
	var out []string
	if f.TopTwo != nil {
		out = append(out, topTwoLine(f.TopTwo, s))
	}
	for _, c := range f.Conditions {
		out = append(out, conditionLine(c, s))
	}
	if f.FirstPlaces != nil {
		out = append(out, firstPlacesLine(f.FirstPlaces, s))
	}
	if len(f.FrontendCosts) > 0 {
		out = append(out, frontendCostLine(f.FrontendCosts, s))
	}
	for _, c := range f.Siblings {
		out = append(out, siblingLine(c, s))
	}
	for _, fault := range f.Faults {
		out = append(out, faultLine(fault, s))
	}
	if f.Counting != nil {
		out = append(out, countingLines(f.Counting, s)...)
	}
	return out
}

func topTwoLine(t *analysis.TopTwo, s style) string {
	var b strings.Builder
	claim := fmt.Sprintf("%.0f%%", 100*analysis.TopTwoClaim)
	switch {
	case t.Eligible == 0:
		b.WriteString(s.strong(fmt.Sprintf("No trial had enough connections to tell whether two workers take more than %s of them.", claim)))
	case len(t.Above) == 0:
		fmt.Fprintf(&b, "%s, in any of the %s with more than two workers and enough connections.",
			s.strong("The two busiest workers never took more than "+claim+" of connections"), plural(t.Eligible, "trial"))
	default:
		fmt.Fprintf(&b, "%s:", s.strong(fmt.Sprintf("The two busiest workers took more than %s of connections in %d of %s", claim, t.AboveTotal(), plural(t.Eligible, "trial"))))
		var parts []string
		for _, p := range t.Above {
			// The number of connections says how much a share means: two of
			// six connections are a third whatever the mode.
			var shares, ofEach []string
			for _, r := range p.Reps {
				shares = append(shares, fmt.Sprintf("%.0f%%", 100*r.Share))
				ofEach = append(ofEach, fmt.Sprintf("%.0f%% of %d", 100*r.Share, r.Connections))
			}
			top := strings.Join(ofEach, ", ") + " connections"
			first := p.Reps[0].Connections
			if !slices.ContainsFunc(p.Reps, func(r analysis.TopTwoTrial) bool { return r.Connections != first }) {
				top = fmt.Sprintf("%s of %d connections each", strings.Join(shares, ", "), first)
			}
			parts = append(parts, fmt.Sprintf(" %s in experiment %s with %s, in %s; top two: %s)",
				s.code(p.Point.Mode), p.Point.Experiment, conditionTitle(p.Point.Condition()), proportionText(p.Proportion), top))
		}
		b.WriteString(strings.Join(parts, ";") + ".")
		// What chance gives, once for each number of connections and workers.
		seen := map[[2]int]bool{}
		for _, p := range t.Above {
			c := p.Chance
			if c == nil || seen[[2]int{c.Connections, c.Workers}] {
				continue
			}
			seen[[2]int{c.Connections, c.Workers}] = true
			fmt.Fprintf(&b, " Chance alone gives two of %d workers more than %s of %d connections %s.", c.Workers, claim, c.Connections, chanceFrequency(p.ChanceAbove, c.TopTwo))
		}
	}
	for _, keepAlive := range []bool{false, true} {
		if t := t.Highest[keepAlive]; t != nil {
			fmt.Fprintf(&b, " Highest with keep-alive %s: %.0f%% (%s, %s, handler %s, load %s; a fair split gives the top two %.0f%%).",
				onOff(keepAlive), 100*t.Fairness.Connections.Top2Share, s.code(t.Label()), plural(t.Workers, "worker"), t.Handler.Name, t.Load.Name, 200/float64(t.Workers))
		}
	}
	if len(t.LeftOut) > 0 {
		var few []string
		for _, r := range t.LeftOut {
			few = append(few, fmt.Sprintf("%s %s rep %d: %d", s.code(r.Trial.Label()), r.Trial.Experiment, r.Trial.Rep, r.Connections))
		}
		fmt.Fprintf(&b, " Left out: %s with fewer than %d connections per worker, where two workers hold a large share by chance alone (%s).",
			plural(len(t.LeftOut), "trial"), analysis.MinConnectionsPerWorker, strings.Join(few, ", "))
	}
	return b.String()
}

// proportionText is "1 of 6 repetitions (95% interval 0.42–64%", left
// open for more.
func proportionText(p analysis.Proportion) string {
	return fmt.Sprintf("%d of %s (%.0f%% interval %s–%s", p.K, plural(p.N, "repetition"), 100*p.Confidence, percent(p.Lo), percent(p.Hi))
}

func conditionLine(f analysis.ConditionFinding, s style) string {
	var b strings.Builder
	c := f.Condition
	fmt.Fprintf(&b, "%s: ", s.strong(c.Experiment+", "+conditionTitle(c)))
	if r := f.Ranking; r != nil {
		unit, what := "req/s", "fastest"
		if r.ByLatency {
			unit, what = "ms p99", "lowest p99 latency"
		}
		best, next, last := r.Modes[0], r.Modes[1], r.Modes[len(r.Modes)-1]
		fmt.Fprintf(&b, "%s %s (%s %s), %s %s", what, s.code(best.Mode), number(best.Value.Median), unit,
			ratio(best.Value.Median, next.Value.Median, r.ByLatency), s.code(next.Mode))
		if overlap, ok := r.IntervalsOverlap(); ok {
			if overlap {
				b.WriteString(" (their confidence intervals overlap: within the noise)")
			} else {
				b.WriteString(" (their confidence intervals do not overlap)")
			}
		}
		if len(r.Modes) > 2 {
			fmt.Fprintf(&b, " and %s the last, %s", ratio(best.Value.Median, last.Value.Median, r.ByLatency), s.code(last.Mode))
		}
		b.WriteString(". ")
		if r.Efficiency != nil {
			b.WriteString(efficiencyText(r.Efficiency, s))
		}
	}
	b.WriteString(evennessText(f.Evenness, s))
	return b.String()
}

func efficiencyText(e *analysis.Efficiency, s style) string {
	line := ""
	if len(e.LoadgenBound) > 0 {
		line = fmt.Sprintf("The load generator was the limit (†) for %s, so these throughputs understate the server. ", s.codes(e.LoadgenBound))
	}
	return line + fmt.Sprintf("Least server CPU per request: %s (%.1f µs); the most: %s (%.1f µs, %.2f× as much). ",
		s.code(e.Least.Mode), e.Least.MicrosPerRequest, s.code(e.Most.Mode), e.Most.MicrosPerRequest, e.Most.MicrosPerRequest/e.Least.MicrosPerRequest)
}

// ratio says how far ahead a is of b: "1.13× the throughput of", or for
// latency, where lower is better, "0.80× the p99 of".
func ratio(a, b float64, latency bool) string {
	if b == 0 {
		return "ahead of"
	}
	if latency {
		if a/b < 0.01 { // "0.00×" would say nothing
			return fmt.Sprintf("1/%.0f of the p99 of", b/a)
		}
		return fmt.Sprintf("%.2f× the p99 of", a/b)
	}
	return fmt.Sprintf("%.2f× the throughput of", a/b)
}

func evennessText(e analysis.Evenness, s style) string {
	list := func(modes []analysis.ModeSpread, detail func(analysis.ModeSpread) string) string {
		parts := make([]string, len(modes))
		for i, m := range modes {
			parts[i] = s.code(m.Mode) + detail(m)
		}
		return strings.Join(parts, ", ")
	}
	jains := func(m analysis.ModeSpread) string {
		return fmt.Sprintf("Jain %.3f per request, %.3f per connection", m.RequestsJain, m.ConnectionsJain)
	}
	var parts []string
	if len(e.Even) > 0 {
		parts = append(parts, fmt.Sprintf("even (Jain ≥ %.2f in every repetition): %s", analysis.EvenJain,
			list(e.Even, func(analysis.ModeSpread) string { return "" })))
	}
	if len(e.NearEven) > 0 {
		parts = append(parts, fmt.Sprintf("near-even (≥ %.2f): %s", analysis.NearEvenJain,
			list(e.NearEven, func(m analysis.ModeSpread) string { return " (" + jains(m) + ")" })))
	}
	if len(e.Uneven) > 0 {
		parts = append(parts, "uneven (medians): "+list(e.Uneven, func(m analysis.ModeSpread) string {
			return fmt.Sprintf(" (%s; top two %.0f%% of %.0f connections, %s)", jains(m), 100*m.TopTwoConnections, m.Connections, chanceVerdict(m))
		}))
	}
	if len(parts) == 0 {
		return ""
	}
	text := strings.Join(parts, "; ") + "."
	return strings.ToUpper(text[:1]) + text[1:]
}

// chanceVerdict says whether an uneven mode's spread of connections is
// more than chance gives.
func chanceVerdict(m analysis.ModeSpread) string {
	switch {
	case m.BeyondChance == 0:
		return "as a random spread of so many connections could be"
	case m.BeyondChance == m.Reps:
		return fmt.Sprintf("beyond chance (p < %g) in every repetition", analysis.BeyondChance)
	}
	return fmt.Sprintf("beyond chance (p < %g) in %d of %d repetitions", analysis.BeyondChance, m.BeyondChance, m.Reps)
}

// chanceFrequency says how often chance gives something, of a
// distribution: "in 0.3% of random spreads".
func chanceFrequency(p float64, d analysis.Distribution) string {
	switch {
	case p == 0 && d.Resolution > 0:
		return fmt.Sprintf("in none of %s random spreads", thousands(int(math.Round(1/d.Resolution))))
	case p == 0:
		return "never"
	case p < 1e-6:
		return "in fewer than one in a million random spreads"
	case p >= 0.995:
		return "in nearly every random spread"
	}
	return "in " + percent(p) + " of random spreads"
}

// percent is a probability with two significant digits: "0.30%", "12%".
func percent(p float64) string {
	x := 100 * p
	switch {
	case x >= 10:
		return fmt.Sprintf("%.0f%%", x)
	case x >= 1:
		return fmt.Sprintf("%.1f%%", x)
	}
	return strconv.FormatFloat(x, 'g', 2, 64) + "%"
}

// thousands writes 20000 as "20,000".
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func firstPlacesLine(f *analysis.FirstPlaces, s style) string {
	var parts []string
	for _, m := range f.Modes {
		parts = append(parts, fmt.Sprintf("%s in %d", s.code(m.Mode), m.Count))
	}
	return fmt.Sprintf("%s (throughput at maximum rate, p99 latency at a fixed rate), out of %d conditions: %s.",
		s.strong("Ranked first"), f.Conditions, strings.Join(parts, ", "))
}

func frontendCostLine(costs []analysis.FrontendCost, s style) string {
	var parts []string
	for _, c := range costs {
		parts = append(parts, fmt.Sprintf("%s %s %.2f–%.2f", s.code(c.Mode), c.Role, c.Low, c.High))
	}
	return s.strong("CPU beyond the workers") + " (cores, median per condition, lowest to highest condition): " + strings.Join(parts, ", ") +
		". On a small machine this CPU is taken from the workers."
}

func siblingLine(c analysis.SiblingComparison, s style) string {
	node, goSide := c.Node, c.Go
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s; %s, %s): %s vs %s req/s", s.strong(s.code(node.Mode)+" beside Go's "+s.code(goSide.Mode)),
		c.Sibling.Design, c.Condition.Experiment, conditionTitle(c.Condition), number(node.ThroughputRPS), number(goSide.ThroughputRPS))
	if node.ThroughputRPS > 0 {
		fmt.Fprintf(&b, " (Go %.1f×)", goSide.ThroughputRPS/node.ThroughputRPS)
	}
	fmt.Fprintf(&b, ", p99 %.2f vs %.2f ms", node.P99Ms, goSide.P99Ms)
	if c.Sibling.Master {
		fmt.Fprintf(&b, ", master %.2f vs %.2f cores", node.MasterCores, goSide.MasterCores)
	}
	fmt.Fprintf(&b, "; top two workers %.0f%% vs %.0f%% of connections (Jain %.2f vs %.2f; a fair split gives the top two %.0f%%).",
		100*node.TopTwo, 100*goSide.TopTwo, node.Jain, goSide.Jain, 200/float64(c.Condition.Workers))
	return b.String()
}

func faultLine(f analysis.FaultFinding, s style) string {
	c := f.Condition
	var b strings.Builder
	b.WriteString(s.strong(fmt.Sprintf("Fault in %s, %s: %s.", c.Experiment, conditionTitle(c), describeFault(f.Fault, c.Workers))))
	var lostNone, lostSome []string
	for _, m := range f.Modes {
		if m.LostRequests == 0 {
			lostNone = append(lostNone, s.code(m.Mode))
		} else {
			lostSome = append(lostSome, fmt.Sprintf("%s %.0f (errors for %.0f ms after the kill)", s.code(m.Mode), m.LostRequests, 1000*m.ErrorsForSeconds))
		}
	}
	if len(lostNone) > 0 {
		fmt.Fprintf(&b, " Lost no request (median of repetitions): %s.", strings.Join(lostNone, ", "))
	}
	if len(lostSome) > 0 {
		fmt.Fprintf(&b, " Lost requests (median): %s.", strings.Join(lostSome, ", "))
	}
	if f.Fault.Respawn {
		var recovered, never []string
		for _, m := range f.ByRecovery() {
			if m.Recovered {
				recovered = append(recovered, fmt.Sprintf("%s %.0f ms", s.code(m.Mode), 1000*m.RecoverySeconds))
			} else {
				never = append(never, s.code(m.Mode))
			}
		}
		if len(recovered) > 0 {
			fmt.Fprintf(&b, " Time from the kill to the first response served by a replacement: %s.", strings.Join(recovered, ", "))
		}
		if len(never) > 0 {
			fmt.Fprintf(&b, " No replacement served a response within the trial (in some repetition) in %s.", strings.Join(never, ", "))
		}
	} else {
		b.WriteString(" Nothing replaced the killed workers.")
	}
	if a := f.AllKilled; a != nil {
		fmt.Fprintf(&b, " With no worker left, the deployment closed its port in %d and new connections were refused in %d of %s.",
			a.PortClosed, a.Refused, plural(a.Trials, "trial"))
	}
	return b.String()
}

func countingLines(c *analysis.Counting, s style) []string {
	if c.Measured == 0 {
		return []string{s.strong("No trial produced a measurement") + fmt.Sprintf(" (%s failed; see the warnings).", plural(c.Trials, "trial"))}
	}
	var out []string
	if c.WorkersOnly > 0 {
		out = append(out, fmt.Sprintf("%s in %s: the record of serve -o, whose load came from elsewhere, has no client to compare with, nor any failed request to see; "+
			"clusterbench merge sets the load hosts' results beside it.", s.strong("Only the workers counted"), plural(c.WorkersOnly, "trial")))
	}
	clientSide := c.Measured - c.WorkersOnly
	leftToClient := ""
	if c.Unreported > 0 {
		leftToClient = fmt.Sprintf(", for every process that gave its final counts; for the %s that died without them the client's count stands", plural(c.Unreported, "process"))
	}
	switch {
	case clientSide == 0:
		return out
	case c.Disagree == 0:
		out = append(out, fmt.Sprintf("%s in all %s%s.", s.strong("Client and worker counts agreed"), plural(clientSide, "measured trial"), leftToClient))
	default:
		out = append(out, fmt.Sprintf("%s in %d of %s (see the warnings).", s.strong("Client and worker counts disagreed"), c.Disagree, plural(clientSide, "measured trial")))
	}
	if c.FailedRequests == 0 {
		out = append(out, s.strong("No request failed."))
	} else {
		out = append(out, fmt.Sprintf("%s, in %s.", s.strong(fmt.Sprintf("%d requests failed", c.FailedRequests)), s.codes(c.ModesWithErrors)))
	}
	if failed := c.Trials - c.Measured; failed > 0 {
		out = append(out, s.strong(plural(failed, "trial")+" could not be measured")+" (see the warnings).")
	}
	return out
}

// number prints a figure with as many digits as a reader needs.
func number(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	default:
		return fmt.Sprintf("%.2f", x)
	}
}
