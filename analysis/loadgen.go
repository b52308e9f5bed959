package analysis

import (
	"slices"

	"clusterbench/results"
)

// LoadgenLimit is, for one experiment and load, how many measured trials
// the load generator and not the server limited: their throughput
// measures the load generator.
type LoadgenLimit struct {
	Experiment string
	Load       string
	Engine     string
	// Bound of Trials were limited, in Modes.
	Bound, Trials int
	Modes         []string
	// Example is the first limited trial, whose reason a warning quotes.
	Example *results.Trial
}

// LoadgenLimits lists, per experiment and load in order of first
// appearance, those whose load generator was the limit in some trial.
func LoadgenLimits(r *results.Run) []LoadgenLimit {
	var all []*LoadgenLimit
	index := map[string]*LoadgenLimit{}
	for _, t := range MeasuredTrials(r) {
		key := t.Experiment + "/" + t.Load.Name
		l, ok := index[key]
		if !ok {
			l = &LoadgenLimit{Experiment: t.Experiment, Load: t.Load.Name, Engine: t.Load.Engine}
			index[key] = l
			all = append(all, l)
		}
		l.Trials++
		if !t.LoadgenBound {
			continue
		}
		l.Bound++
		if !slices.Contains(l.Modes, t.Label()) {
			l.Modes = append(l.Modes, t.Label())
		}
		if l.Example == nil {
			l.Example = t
		}
	}
	var out []LoadgenLimit
	for _, l := range all {
		if l.Bound > 0 {
			out = append(out, *l)
		}
	}
	return out
}
