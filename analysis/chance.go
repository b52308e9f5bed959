package analysis

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
)

// ChanceSpread is what chance alone gives: the distribution of the
// fairness figures when each of Connections connections goes to one of
// Workers workers uniformly at random and independently (a multinomial
// spread). A measured figure is read against it: with 32 connections over
// 8 workers a random spread is far from even, so an uneven split of so few
// connections says little about a mode, while the same shares over
// thousands of connections say a lot.
type ChanceSpread struct {
	Connections, Workers int
	// Draws is how many random spreads were simulated; 0 when the
	// distribution was computed exactly over every possible spread.
	Draws int
	// TopTwo is the two busiest workers' share; Jain is Jain's index.
	TopTwo, Jain Distribution
}

// ChanceDraws is how many seeded random spreads Chance simulates where an
// exact computation would take too long: enough for tail probabilities
// down to 1 in 20,000.
const ChanceDraws = 20000

// maxExactSpreads bounds the exact computation: the number of ways to
// split the connections into at most Workers unordered counts.
const maxExactSpreads = 20000

// normalFromPerWorker is the expected count per worker from which a
// simulation draws each worker's count from the normal approximation of
// its binomial, rather than placing every connection on its own.
const normalFromPerWorker = 50

var chanceCache sync.Map // [2]int{connections, workers} -> *ChanceSpread

// Chance returns the distribution of the fairness of connections spread
// over workers at random: exact when the possible spreads are few enough
// to enumerate, else simulated with a generator seeded from the two
// numbers, so the same question always gets the same answer. Results are
// cached; nil for no workers.
func Chance(connections, workers int) *ChanceSpread {
	if workers < 1 || connections < 0 {
		return nil
	}
	key := [2]int{connections, workers}
	if c, ok := chanceCache.Load(key); ok {
		return c.(*ChanceSpread)
	}
	c := exactChance(connections, workers)
	if c == nil {
		c = simulatedChance(connections, workers)
	}
	chanceCache.Store(key, c)
	return c
}

// Distribution is a discrete distribution of one figure: each value with
// its probability, in increasing order of value.
type Distribution struct {
	atoms []atom
	// Resolution is the smallest probability it can tell from zero:
	// 1/Draws for a simulation, 0 when exact.
	Resolution float64
}

type atom struct{ value, prob float64 }

// tolerance absorbs the rounding of shares computed from the same counts
// in a different order.
const tolerance = 1e-9

// Quantile is the smallest value v with P(X ≤ v) ≥ q.
func (d Distribution) Quantile(q float64) float64 {
	var cum float64
	for _, a := range d.atoms {
		cum += a.prob
		if cum >= q-tolerance {
			return a.value
		}
	}
	return d.atoms[len(d.atoms)-1].value
}

// AtLeast is P(X ≥ x): how often chance gives x or more.
func (d Distribution) AtLeast(x float64) float64 {
	var p float64
	for _, a := range d.atoms {
		if a.value >= x-tolerance {
			p += a.prob
		}
	}
	return min(p, 1)
}

// Above is P(X > x): how often chance gives more than x.
func (d Distribution) Above(x float64) float64 { return max(0, 1-d.AtMost(x)) }

// AtMost is P(X ≤ x): how often chance gives x or less.
func (d Distribution) AtMost(x float64) float64 {
	var p float64
	for _, a := range d.atoms {
		if a.value <= x+tolerance {
			p += a.prob
		}
	}
	return min(p, 1)
}

// distributionOf merges equal values and sorts them.
func distributionOf(atoms []atom, resolution float64) Distribution {
	slices.SortFunc(atoms, func(a, b atom) int { return cmp.Compare(a.value, b.value) })
	var out []atom
	for _, a := range atoms {
		if n := len(out); n > 0 && out[n-1].value == a.value {
			out[n-1].prob += a.prob
			continue
		}
		out = append(out, a)
	}
	return Distribution{atoms: out, Resolution: resolution}
}

// spreadFigures are the fairness figures of one spread, as FairnessOf
// computes them but without allocating: it runs for every random spread.
func spreadFigures(counts []uint64) (topTwo, jain float64) {
	var first, second, total, sumSq float64
	for _, c := range counts {
		x := float64(c)
		total += x
		sumSq += x * x
		switch {
		case x > first:
			first, second = x, first
		case x > second:
			second = x
		}
	}
	if total == 0 {
		return 0, 0
	}
	return (first + second) / total, total * total / (float64(len(counts)) * sumSq)
}

// exactChance enumerates every split of the connections into at most
// workers counts, largest first, with its multinomial probability; nil
// when there are more than maxExactSpreads of them.
func exactChance(connections, workers int) *ChanceSpread {
	counts := make([]uint64, workers)
	var top, jain []atom
	logTotal := lgamma(connections+1) + lgamma(workers+1) - float64(connections)*math.Log(float64(workers))
	tooMany := false
	// place fills counts[i:] with a non-increasing split of left, each at
	// most most.
	var place func(i, left, most int)
	place = func(i, left, most int) {
		if tooMany {
			return
		}
		if i == workers {
			if left > 0 {
				return
			}
			if len(top) == maxExactSpreads {
				tooMany = true
				return
			}
			p := math.Exp(logTotal - logArrangements(counts))
			t, j := spreadFigures(counts)
			top, jain = append(top, atom{t, p}), append(jain, atom{j, p})
			return
		}
		// The rest can hold at most c each, so this one takes at least
		// an even part of what is left.
		for c := min(left, most); c*(workers-i) >= left; c-- {
			counts[i] = uint64(c)
			place(i+1, left-c, c)
		}
	}
	place(0, connections, connections)
	if tooMany {
		return nil
	}
	return &ChanceSpread{Connections: connections, Workers: workers,
		TopTwo: distributionOf(top, 0), Jain: distributionOf(jain, 0)}
}

// logArrangements is the log of Π cᵢ! · Π mₖ!, where mₖ counts the workers
// with the same count: the multinomial coefficient's denominator and the
// orderings of equal counts that are one and the same spread.
func logArrangements(sorted []uint64) float64 {
	var s float64
	run := 1
	for i, c := range sorted {
		s += lgamma(int(c) + 1)
		if i > 0 && c == sorted[i-1] {
			run++
			continue
		}
		s += lgamma(run + 1)
		run = 1
	}
	return s + lgamma(run+1)
}

func lgamma(n int) float64 {
	v, _ := math.Lgamma(float64(n))
	return v
}

// simulatedChance draws ChanceDraws random spreads from a generator
// seeded with the two numbers.
func simulatedChance(connections, workers int) *ChanceSpread {
	rng := rand.New(rand.NewPCG(uint64(connections), uint64(workers)))
	counts := make([]uint64, workers)
	top, jain := make([]atom, ChanceDraws), make([]atom, ChanceDraws)
	p := 1.0 / ChanceDraws
	for d := range ChanceDraws {
		clear(counts)
		if connections >= normalFromPerWorker*workers {
			normalSpread(rng, counts, connections)
		} else {
			for range connections {
				counts[rng.IntN(workers)]++
			}
		}
		t, j := spreadFigures(counts)
		top[d], jain[d] = atom{t, p}, atom{j, p}
	}
	return &ChanceSpread{Connections: connections, Workers: workers, Draws: ChanceDraws,
		TopTwo: distributionOf(top, p), Jain: distributionOf(jain, p)}
}

// normalSpread splits n over the workers worker by worker: each takes a
// binomial share of what is left, Bin(left, 1/workers left), drawn from
// its normal approximation, which is close with many connections per
// worker and costs one draw per worker instead of one per connection.
func normalSpread(rng *rand.Rand, counts []uint64, n int) {
	left := n
	for i := range counts {
		rest := len(counts) - i
		if rest == 1 {
			counts[i] = uint64(left)
			return
		}
		p := 1 / float64(rest)
		mean, sd := float64(left)*p, math.Sqrt(float64(left)*p*(1-p))
		c := int(math.Round(mean + sd*rng.NormFloat64()))
		c = max(0, min(left, c))
		counts[i] = uint64(c)
		left -= c
	}
}
