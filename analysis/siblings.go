package analysis

import (
	"strings"

	"clusterbench/results"
)

// Sibling pairs a mode that runs Node's own cluster with the Go mode of
// the same design: one design, two implementations, the same load.
type Sibling struct {
	Node, Go string
	// Policy is the Go mode's policy that is Node's design: the one put
	// beside the Node mode when a condition ran several.
	Policy string
	// Design says what both do.
	Design string
	// Master is true when the design has a master whose CPU matters.
	Master bool
}

// Siblings are the Node modes and their Go siblings.
var Siblings = []Sibling{
	{"node-rr", "roundrobin", "free", "a master accepts and hands each connection to a free worker", true},
	// libuv, like Go's netpoller, waits without EPOLLEXCLUSIVE: every
	// worker wakes.
	{"node-none", "shared", "race", "every worker accepts on one shared socket", false},
}

// goPoint is the Go mode's point in c, the policy of Node's own design
// first.
func (s Sibling) goPoint(c *Condition) *Point {
	var found *Point
	for _, p := range c.Points {
		name, policy, _ := strings.Cut(p.Mode, ":")
		if name != s.Go || len(p.Trials) == 0 {
			continue
		}
		if found == nil || policy == s.Policy {
			found = p
		}
	}
	return found
}

// SiblingComparison puts a Node mode beside its Go sibling under one
// condition that ran both.
type SiblingComparison struct {
	Sibling   Sibling
	Condition *Condition
	Node, Go  SiblingSide
}

// SiblingSide is one mode's medians over its repetitions.
type SiblingSide struct {
	Mode          string
	ThroughputRPS float64
	P99Ms         float64
	MasterCores   float64
	// TopTwo is the two busiest workers' share of connections; Jain is
	// per connection.
	TopTwo, Jain float64
}

func siblingsOf(conds []*Condition) []SiblingComparison {
	var out []SiblingComparison
	for _, s := range Siblings {
		for _, c := range conds {
			var node *Point
			for _, p := range c.Points {
				if p.Mode == s.Node && len(p.Trials) > 0 {
					node = p
				}
			}
			goPoint := s.goPoint(c)
			if node == nil || goPoint == nil {
				continue
			}
			out = append(out, SiblingComparison{Sibling: s, Condition: c, Node: sideOf(node), Go: sideOf(goPoint)})
		}
	}
	return out
}

func sideOf(p *Point) SiblingSide {
	median := func(metric func(*results.Trial) float64) float64 { return p.Summary(metric).Median }
	return SiblingSide{
		Mode:          p.Mode,
		ThroughputRPS: median(func(t *results.Trial) float64 { return t.ThroughputRPS }),
		P99Ms:         median(func(t *results.Trial) float64 { return t.Latency.P99 }),
		MasterCores:   median(func(t *results.Trial) float64 { return t.CPU.MasterCores() }),
		TopTwo:        median(func(t *results.Trial) float64 { return t.Fairness.Connections.Top2Share }),
		Jain:          median(func(t *results.Trial) float64 { return t.Fairness.Connections.Jain }),
	}
}
