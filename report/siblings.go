package report

import (
	"fmt"
	"strings"

	"clusterbench/analysis"
	"clusterbench/results"
)

// sibling pairs a mode that runs Node's own cluster with the Go mode of
// the same design, so that the report can put them side by side: one
// design, two implementations, the same load.
type sibling struct {
	node, goMode string
	design       string
}

var siblings = []sibling{
	{"node-rr", "roundrobin", "a master accepts and hands each connection to a free worker"},
	{"node-none", "shared", "every worker accepts on one shared socket"},
}

// goPoint is the Go mode's point in c, its default policy (Node's own
// design) first.
func (s sibling) goPoint(c *analysis.Condition) *analysis.Point {
	var found *analysis.Point
	for _, p := range c.Points {
		name, policy, _ := strings.Cut(p.Mode, ":")
		if name != s.goMode || len(p.Trials) == 0 {
			continue
		}
		if found == nil || policy == "free" {
			found = p
		}
	}
	return found
}

// siblingFindings puts each Node mode beside its Go sibling under every
// condition that ran both: throughput, latency, the master's CPU, and how
// evenly connections spread.
func siblingFindings(conds []*analysis.Condition) []string {
	var out []string
	for _, s := range siblings {
		for _, c := range conds {
			var node *analysis.Point
			for _, p := range c.Points {
				if p.Mode == s.node && len(p.Trials) > 0 {
					node = p
				}
			}
			goPoint := s.goPoint(c)
			if node == nil || goPoint == nil {
				continue
			}
			out = append(out, siblingLine(s, c, node, goPoint))
		}
	}
	return out
}

func siblingLine(s sibling, c *analysis.Condition, node, goPoint *analysis.Point) string {
	median := func(p *analysis.Point, metric func(*results.Trial) float64) float64 { return p.Summary(metric).Median }
	throughput := func(t *results.Trial) float64 { return t.ThroughputRPS }
	p99 := func(t *results.Trial) float64 { return t.Latency.P99 }
	top2 := func(t *results.Trial) float64 { return t.Fairness.Connections.Top2Share }
	jain := func(t *results.Trial) float64 { return t.Fairness.Connections.Jain }
	nodeRPS, goRPS := median(node, throughput), median(goPoint, throughput)
	var b strings.Builder
	fmt.Fprintf(&b, "**`%s` beside Go's `%s`** (%s; %s, %s): %s vs %s req/s",
		s.node, goPoint.Mode, s.design, c.Experiment, conditionTitle(c), number(nodeRPS), number(goRPS))
	if nodeRPS > 0 {
		fmt.Fprintf(&b, " (Go %.1f×)", goRPS/nodeRPS)
	}
	fmt.Fprintf(&b, ", p99 %.2f vs %.2f ms", median(node, p99), median(goPoint, p99))
	if s.goMode == "roundrobin" {
		master := func(t *results.Trial) float64 { return t.CPU.MasterCores() }
		fmt.Fprintf(&b, ", master %.2f vs %.2f cores", median(node, master), median(goPoint, master))
	}
	fmt.Fprintf(&b, "; top two workers %.0f%% vs %.0f%% of connections (Jain %.2f vs %.2f; a fair split gives the top two %.0f%%).",
		100*median(node, top2), 100*median(goPoint, top2), median(node, jain), median(goPoint, jain), 200/float64(c.Workers))
	return b.String()
}
