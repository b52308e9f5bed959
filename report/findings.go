package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"clusterbench/analysis"
	"clusterbench/results"
)

// TopTwoClaim is the Node.js documentation's figure: with a shared socket,
// "over 70% of all connections ended up in just two processes, out of a
// total of eight". Findings say in which trials the two busiest workers
// took more than this share of connections.
const TopTwoClaim = 0.70

// minConnectionsPerWorker is how many connections per worker a trial
// needs before its top-two share says anything: with six connections over
// eight workers, two workers hold a third whatever the mode.
const minConnectionsPerWorker = 4

// evenJain is the Jain index from which a split counts as even: at 0.99
// no worker of eight is more than about a fifth off its fair share.
const evenJain = 0.99

// Findings states, from the measurements alone, what the run shows: which
// mode was fastest and by how much, which modes spread load evenly, where
// the two busiest workers took more than 70% of connections, what the
// master or proxy cost, and whether both sides' counts agreed. Each line
// is a sentence of Markdown.
func Findings(r *results.Run) []string {
	points := analysis.Points(r)
	var out []string
	if line := topTwoFinding(r); line != "" {
		out = append(out, line)
	}
	conds := analysis.Conditions(points)
	wins := map[string]int{}
	ranked := 0
	for _, c := range conds {
		line, winner := conditionFinding(c)
		if line == "" {
			continue
		}
		if winner != "" {
			wins[winner]++
			ranked++
		}
		out = append(out, line)
	}
	if ranked > 1 {
		out = append(out, fastestOverall(wins, ranked))
	}
	if line := costFinding(points); line != "" {
		out = append(out, line)
	}
	out = append(out, siblingFindings(conds)...)
	out = append(out, faultFindings(conds)...)
	out = append(out, countingFinding(r)...)
	return out
}

// measured lists the trials that produced a measurement.
func measured(r *results.Run) []*results.Trial {
	var out []*results.Trial
	for i := range r.Trials {
		if !r.Trials[i].Failed() {
			out = append(out, &r.Trials[i])
		}
	}
	return out
}

func topTwoFinding(r *results.Run) string {
	var eligible int
	highest := map[bool]*results.Trial{} // per keep-alive
	var hits []*analysis.Point
	hitCount, repsOf := map[*analysis.Point]int{}, map[*analysis.Point][]*results.Trial{}
	var fewConnections []string
	for _, p := range analysis.Points(r) {
		if p.Workers <= 2 {
			continue // two of two workers always take everything
		}
		for _, t := range p.Trials {
			if conns := sum(t.ConnectionCounts()); conns < minConnectionsPerWorker*uint64(t.Workers) {
				fewConnections = append(fewConnections, fmt.Sprintf("`%s` %s rep %d: %d", t.Label(), t.Experiment, t.Rep, conns))
				continue
			}
			eligible++
			repsOf[p] = append(repsOf[p], t)
			if h := highest[t.KeepAlive]; h == nil || t.Fairness.Connections.Top2Share > h.Fairness.Connections.Top2Share {
				highest[t.KeepAlive] = t
			}
			if t.Fairness.Connections.Top2Share > TopTwoClaim {
				if hitCount[p] == 0 {
					hits = append(hits, p)
				}
				hitCount[p]++
			}
		}
	}
	if eligible == 0 && len(fewConnections) == 0 {
		return ""
	}
	var b strings.Builder
	claim := fmt.Sprintf("%.0f%%", 100*TopTwoClaim)
	switch {
	case eligible == 0:
		fmt.Fprintf(&b, "**No trial had enough connections to tell whether two workers take more than %s of them.**", claim)
	case len(hits) == 0:
		fmt.Fprintf(&b, "**The two busiest workers never took more than %s of connections**, in any of the %s with more than two workers and enough connections.", claim, plural(eligible, "trial"))
	default:
		total := 0
		for _, p := range hits {
			total += hitCount[p]
		}
		fmt.Fprintf(&b, "**The two busiest workers took more than %s of connections in %d of %s**:", claim, total, plural(eligible, "trial"))
		var parts []string
		for _, p := range hits {
			// The number of connections says how much a share means: two of
			// six connections are a third whatever the mode.
			var shares, ofEach []string
			for _, t := range repsOf[p] {
				shares = append(shares, fmt.Sprintf("%.0f%%", 100*t.Fairness.Connections.Top2Share))
				ofEach = append(ofEach, fmt.Sprintf("%.0f%% of %d", 100*t.Fairness.Connections.Top2Share, sum(t.ConnectionCounts())))
			}
			top := strings.Join(ofEach, ", ") + " connections"
			first := sum(repsOf[p][0].ConnectionCounts())
			if !slices.ContainsFunc(repsOf[p], func(t *results.Trial) bool { return sum(t.ConnectionCounts()) != first }) {
				top = fmt.Sprintf("%s of %d connections each", strings.Join(shares, ", "), first)
			}
			parts = append(parts, fmt.Sprintf(" `%s` in experiment %s with %s, in %d of %d repetitions (top two: %s)",
				p.Mode, p.Experiment, conditionTitle(p.Condition()), hitCount[p], len(repsOf[p]), top))
		}
		b.WriteString(strings.Join(parts, ";") + ".")
	}
	for _, keepAlive := range []bool{false, true} {
		if t := highest[keepAlive]; t != nil {
			fmt.Fprintf(&b, " Highest with keep-alive %s: %.0f%% (`%s`, %s, handler %s, load %s; a fair split gives the top two %.0f%%).",
				onOff(keepAlive), 100*t.Fairness.Connections.Top2Share, t.Label(), plural(t.Workers, "worker"), t.Handler.Name, t.Load.Name, 200/float64(t.Workers))
		}
	}
	if len(fewConnections) > 0 {
		fmt.Fprintf(&b, " Left out: %s with fewer than %d connections per worker, where two workers hold a large share by chance alone (%s).",
			plural(len(fewConnections), "trial"), minConnectionsPerWorker, strings.Join(fewConnections, ", "))
	}
	return b.String()
}

func sum(counts []uint64) uint64 {
	var n uint64
	for _, c := range counts {
		n += c
	}
	return n
}

// conditionFinding ranks the modes of one condition and sorts them into
// even and uneven. At maximum rate the ranking is by throughput; at a fixed
// rate every mode serves the same rate, so it is by p99 latency.
func conditionFinding(c *analysis.Condition) (line, winner string) {
	var pts []*analysis.Point
	for _, p := range c.Points {
		if len(p.Trials) > 0 {
			pts = append(pts, p)
		}
	}
	if len(pts) == 0 {
		return "", ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**%s, %s**: ", c.Experiment, conditionTitle(c))
	if len(pts) > 1 {
		openLoop := pts[0].Trials[0].Load.Rate > 0
		metric, better, unit, what := func(t *results.Trial) float64 { return t.ThroughputRPS }, 1.0, "req/s", "fastest"
		if openLoop {
			metric, better, unit, what = func(t *results.Trial) float64 { return t.Latency.P99 }, -1.0, "ms p99", "lowest p99 latency"
		}
		slices.SortStableFunc(pts, func(a, b *analysis.Point) int {
			ma, mb := a.Summary(metric).Median, b.Summary(metric).Median
			switch {
			case better*ma > better*mb:
				return -1
			case better*ma < better*mb:
				return 1
			}
			return 0
		})
		best, next, worst := pts[0].Summary(metric), pts[1].Summary(metric), pts[len(pts)-1].Summary(metric)
		fmt.Fprintf(&b, "%s `%s` (%s %s), %s `%s`", what, pts[0].Mode, number(best.Median), unit, ratio(best.Median, next.Median, openLoop), pts[1].Mode)
		if best.N > 1 && next.N > 1 {
			if best.Min <= next.Max && next.Min <= best.Max {
				b.WriteString(" (their ranges overlap: within the noise)")
			} else {
				b.WriteString(" (their ranges do not overlap)")
			}
		}
		if len(pts) > 2 {
			fmt.Fprintf(&b, " and %s the last, `%s`", ratio(best.Median, worst.Median, openLoop), pts[len(pts)-1].Mode)
		}
		b.WriteString(". ")
		if !openLoop {
			b.WriteString(efficiency(pts))
		}
		winner = pts[0].Mode
	}
	b.WriteString(evenness(c))
	return b.String(), winner
}

// efficiency ranks modes by the server's CPU per request, which the load
// generator does not limit, and says when it limited the throughput.
func efficiency(pts []*analysis.Point) string {
	cost := func(t *results.Trial) float64 { return t.ServerCPUPerRequestUs }
	byCost := slices.Clone(pts)
	slices.SortStableFunc(byCost, func(a, b *analysis.Point) int { return cmp.Compare(a.Summary(cost).Median, b.Summary(cost).Median) })
	best, worst := byCost[0].Summary(cost).Median, byCost[len(byCost)-1].Summary(cost).Median
	if best <= 0 {
		return "" // an older record without the figure
	}
	var bound []string
	for _, p := range pts {
		if p.LoadgenBound() > 0 {
			bound = append(bound, "`"+p.Mode+"`")
		}
	}
	line := ""
	if len(bound) > 0 {
		line = fmt.Sprintf("The load generator was the limit (†) for %s, so these throughputs understate the server. ", strings.Join(bound, ", "))
	}
	return line + fmt.Sprintf("Least server CPU per request: `%s` (%.1f µs); the most: `%s` (%.1f µs, %.2f× as much). ",
		byCost[0].Mode, best, byCost[len(byCost)-1].Mode, worst, worst/best)
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

// evenness sorts the modes of a condition by how evenly they spread
// requests and connections, judged on every repetition.
func evenness(c *analysis.Condition) string {
	var both, requestsOnly, connectionsOnly, uneven []string
	for _, p := range c.Points {
		if len(p.Trials) == 0 {
			continue
		}
		req := p.Summary(func(t *results.Trial) float64 { return t.Fairness.Requests.Jain })
		conn := p.Summary(func(t *results.Trial) float64 { return t.Fairness.Connections.Jain })
		name := "`" + p.Mode + "`"
		switch {
		case req.Min >= evenJain && conn.Min >= evenJain:
			both = append(both, name)
		case req.Min >= evenJain:
			requestsOnly = append(requestsOnly, fmt.Sprintf("%s (Jain %.2f per connection)", name, conn.Median))
		case conn.Min >= evenJain:
			connectionsOnly = append(connectionsOnly, fmt.Sprintf("%s (Jain %.2f per request)", name, req.Median))
		default:
			top := p.Summary(func(t *results.Trial) float64 { return t.Fairness.Connections.Top2Share })
			uneven = append(uneven, fmt.Sprintf("%s (Jain %.2f per request, %.2f per connection; top two %.0f%% of connections)",
				name, req.Median, conn.Median, 100*top.Median))
		}
	}
	var parts []string
	if len(both) > 0 {
		parts = append(parts, fmt.Sprintf("even per request and per connection (Jain ≥ %.2f in every repetition): %s", evenJain, strings.Join(both, ", ")))
	}
	if len(requestsOnly) > 0 {
		parts = append(parts, "even per request only: "+strings.Join(requestsOnly, ", "))
	}
	if len(connectionsOnly) > 0 {
		parts = append(parts, "even per connection only: "+strings.Join(connectionsOnly, ", "))
	}
	if len(uneven) > 0 {
		parts = append(parts, "uneven (medians): "+strings.Join(uneven, ", "))
	}
	if len(parts) == 0 {
		return ""
	}
	s := strings.Join(parts, "; ") + "."
	return strings.ToUpper(s[:1]) + s[1:]
}

func fastestOverall(wins map[string]int, ranked int) string {
	modes := make([]string, 0, len(wins))
	for m := range wins {
		modes = append(modes, m)
	}
	slices.SortFunc(modes, func(a, b string) int {
		if wins[a] != wins[b] {
			return wins[b] - wins[a]
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, m := range modes {
		parts = append(parts, fmt.Sprintf("`%s` in %d", m, wins[m]))
	}
	return fmt.Sprintf("**Ranked first** (throughput at maximum rate, p99 latency at a fixed rate), out of %d conditions: %s.", ranked, strings.Join(parts, ", "))
}

// costFinding names the CPU a mode spends beyond its workers: a master
// that hands over connections, or a proxy.
func costFinding(points []*analysis.Point) string {
	type cost struct {
		lo, hi float64
		role   string
	}
	costs := map[string]*cost{}
	var order []string
	for _, p := range points {
		if len(p.Trials) == 0 {
			continue
		}
		master := p.Summary(func(t *results.Trial) float64 { return t.CPU.MasterCores() }).Median
		proxy := p.Summary(func(t *results.Trial) float64 { return t.CPU.ProxyCores() }).Median
		role, cores := "master", master
		if proxy > master {
			role, cores = "proxy", proxy
		}
		c, ok := costs[p.Mode]
		if !ok {
			c = &cost{lo: cores, hi: cores, role: role}
			costs[p.Mode] = c
			order = append(order, p.Mode)
		}
		c.lo, c.hi = min(c.lo, cores), max(c.hi, cores)
		if role == "proxy" {
			c.role = role
		}
	}
	var parts []string
	for _, m := range order {
		c := costs[m]
		if c.hi < 0.05 {
			continue // below what a serving process idles at
		}
		parts = append(parts, fmt.Sprintf("`%s` %s %.2f–%.2f", m, c.role, c.lo, c.hi))
	}
	if len(parts) == 0 {
		return ""
	}
	return "**CPU beyond the workers** (cores, median per condition, lowest to highest condition): " + strings.Join(parts, ", ") +
		". On a small machine this CPU is taken from the workers."
}

func countingFinding(r *results.Run) []string {
	trials := measured(r)
	if len(r.Trials) == 0 {
		return nil // interrupted before the first trial ended
	}
	if len(trials) == 0 {
		return []string{fmt.Sprintf("**No trial produced a measurement** (%s failed; see the warnings).", plural(len(r.Trials), "trial"))}
	}
	var disagree int
	var failedRequests uint64
	var withErrors []string
	seen := map[string]bool{}
	for _, t := range trials {
		if !t.CountsAgree {
			disagree++
		}
		if t.Errors > 0 {
			failedRequests += t.Errors
			if !seen[t.Label()] {
				seen[t.Label()] = true
				withErrors = append(withErrors, "`"+t.Label()+"`")
			}
		}
	}
	var out []string
	unreported := 0
	for _, t := range trials {
		unreported += len(t.Unreported)
	}
	leftToClient := ""
	if unreported > 0 {
		leftToClient = fmt.Sprintf(", for every process that gave its final counts; for the %s that died without them the client's count stands", plural(unreported, "process"))
	}
	if disagree == 0 {
		out = append(out, fmt.Sprintf("**Client and worker counts agreed** in all %s%s.", plural(len(trials), "measured trial"), leftToClient))
	} else {
		out = append(out, fmt.Sprintf("**Client and worker counts disagreed** in %d of %s (see the warnings).", disagree, plural(len(trials), "measured trial")))
	}
	if failedRequests == 0 {
		out = append(out, "**No request failed.**")
	} else {
		out = append(out, fmt.Sprintf("**%d requests failed**, in %s.", failedRequests, strings.Join(withErrors, ", ")))
	}
	if failed := len(r.Trials) - len(trials); failed > 0 {
		out = append(out, fmt.Sprintf("**%s could not be measured** (see the warnings).", plural(failed, "trial")))
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
