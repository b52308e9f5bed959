package analysis

import (
	"cmp"
	"slices"

	"clusterbench/results"
)

// FaultFinding is the damage of one condition's fault: which modes lost
// requests, and how long a replacement took.
type FaultFinding struct {
	Condition *Condition
	// Fault is the experiment's fault, as the last mode recorded it.
	Fault *results.Fault
	// Modes is every mode with the fault, fewest lost requests first.
	Modes []FaultDamage
	// AllKilled is set when every worker was killed for good in every
	// trial of the condition.
	AllKilled *AllKilled
}

// FaultDamage is a mode's damage, medians over its repetitions.
type FaultDamage struct {
	Mode string
	// LostRequests failed from the kill on, for ErrorsForSeconds.
	LostRequests     float64
	ErrorsForSeconds float64
	// RecoverySeconds is from the kill to the first response a
	// replacement served; Recovered is false when no replacement served
	// within the trial in some repetition.
	RecoverySeconds float64
	Recovered       bool
}

// ByRecovery is the modes, quickest to recover first, those that did not
// in every repetition last.
func (f FaultFinding) ByRecovery() []FaultDamage {
	out := slices.Clone(f.Modes)
	slices.SortStableFunc(out, func(a, b FaultDamage) int {
		switch {
		case !a.Recovered && !b.Recovered:
			return 0
		case !a.Recovered:
			return 1
		case !b.Recovered:
			return -1
		}
		return cmp.Compare(a.RecoverySeconds, b.RecoverySeconds)
	})
	return out
}

// AllKilled is what happened with no worker left: the cluster model says
// the port closes and new connections are refused.
type AllKilled struct {
	Trials     int
	PortClosed int // trials whose deployment closed its port
	Refused    int // trials in which the client saw refused connections
}

func faultFindingsOf(conds []*Condition) []FaultFinding {
	var out []FaultFinding
	for _, c := range conds {
		f := FaultFinding{Condition: c}
		for _, p := range c.Points {
			pf := p.Fault()
			if pf == nil {
				continue
			}
			f.Fault = pf
			lost, _ := p.FaultSummary(func(f *results.Fault) float64 { return float64(f.LostRequests) })
			errorsFor, _ := p.FaultSummary(func(f *results.Fault) float64 { return f.ErrorsForSeconds })
			recovery, missing := p.FaultSummary(func(f *results.Fault) float64 { return OrNaN(f.RecoverySeconds) })
			f.Modes = append(f.Modes, FaultDamage{Mode: p.Mode, LostRequests: lost.Median, ErrorsForSeconds: errorsFor.Median,
				RecoverySeconds: recovery.Median, Recovered: missing == 0})
		}
		if len(f.Modes) == 0 {
			continue
		}
		slices.SortStableFunc(f.Modes, func(a, b FaultDamage) int { return cmp.Compare(a.LostRequests, b.LostRequests) })
		f.AllKilled = allKilledOf(c)
		out = append(out, f)
	}
	return out
}

// allKilledOf is nil unless every trial of c killed every worker for good.
func allKilledOf(c *Condition) *AllKilled {
	var a AllKilled
	for _, p := range c.Points {
		for _, t := range p.Trials {
			f := t.Fault
			if f == nil || f.Respawn || f.Kill != t.Workers {
				return nil
			}
			a.Trials++
			if f.PortClosedSeconds != nil {
				a.PortClosed++
			}
			if f.After.ErrorKinds["refused"] > 0 {
				a.Refused++
			}
		}
	}
	if a.Trials == 0 {
		return nil
	}
	return &a
}
