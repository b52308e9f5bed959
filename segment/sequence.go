// Package segment divides one trial's load between several load hosts,
// as k6's execution segments divide a test between k6 instances: the
// hosts split the interval (0,1] into segments, and every whole number of
// the load (requests per second, concurrent requests, connections) is
// divided by the same striping. So the hosts' parts always add up to the
// whole, and a bigger segment never gets less than a smaller one.
//
// Each host's part becomes a vegeta attack in a shell script (Script), or
// a pod of a Kubernetes Indexed Job (Job). The Plan is what a merge of
// the hosts' results checks them against: which host had which part.
// The package schedules nothing: pdsh, ssh or Kubernetes runs the parts.
package segment

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// Sequence is the points that cut (0,1] into segments, from 0 to 1, as
// k6's --execution-segment-sequence writes them: "0,1/3,2/3,1".
type Sequence []*big.Rat

// MaxHosts bounds the segments of a sequence: far more load hosts than
// anyone drives one server with.
const MaxHosts = 1000

// maxStripe bounds the striping's cycle, the lowest common denominator of
// the segments' lengths; a sequence of decimals of many digits would ask
// for millions of slots.
const maxStripe = 100_000

// Even is the sequence of n equal segments: 0, 1/n, ..., 1, as the
// k6-operator gives its n runners.
func Even(n int) Sequence {
	s := make(Sequence, n+1)
	for i := range s {
		s[i] = big.NewRat(int64(i), int64(n))
	}
	return s
}

// ParseSequence reads a sequence of points from 0 to 1, each a fraction
// (1/3), a decimal (0.25) or a whole percentage (25%), rising.
func ParseSequence(text string) (Sequence, error) {
	fields := strings.Split(text, ",")
	if len(fields) < 2 {
		return nil, fmt.Errorf("sequence %q: want points from 0 to 1, e.g. 0,1/3,2/3,1", text)
	}
	s := make(Sequence, len(fields))
	for i, f := range fields {
		r, err := parsePoint(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("sequence %q: %w", text, err)
		}
		s[i] = r
	}
	switch {
	case s[0].Sign() != 0:
		return nil, fmt.Errorf("sequence %q: starts at %s, want 0", text, s[0].RatString())
	case s[len(s)-1].Cmp(big.NewRat(1, 1)) != 0:
		return nil, fmt.Errorf("sequence %q: ends at %s, want 1", text, s[len(s)-1].RatString())
	case len(s)-1 > MaxHosts:
		return nil, fmt.Errorf("sequence %q: %d segments, at most %d", text, len(s)-1, MaxHosts)
	}
	for i := 1; i < len(s); i++ {
		if s[i].Cmp(s[i-1]) <= 0 {
			return nil, fmt.Errorf("sequence %q: %s does not come after %s: the points must rise", text, s[i].RatString(), s[i-1].RatString())
		}
	}
	if _, err := s.stripes(); err != nil {
		return nil, fmt.Errorf("sequence %q: %w", text, err)
	}
	return s, nil
}

func parsePoint(f string) (*big.Rat, error) {
	if pct, ok := strings.CutSuffix(f, "%"); ok {
		r, ok := new(big.Rat).SetString(pct)
		if !ok || !r.IsInt() {
			return nil, fmt.Errorf("%q is not a whole percentage", f)
		}
		return r.Quo(r, big.NewRat(100, 1)), nil
	}
	r, ok := new(big.Rat).SetString(f)
	if !ok || strings.ContainsAny(f, "eE") {
		return nil, fmt.Errorf("%q is not a fraction (1/3), a decimal (0.25) or a percentage (25%%)", f)
	}
	return r, nil
}

// Len is the number of segments.
func (s Sequence) Len() int { return len(s) - 1 }

// String writes the sequence as ParseSequence reads it.
func (s Sequence) String() string {
	points := make([]string, len(s))
	for i, p := range s {
		points[i] = p.RatString()
	}
	return strings.Join(points, ",")
}

// Segment writes segment i as k6's --execution-segment does: "1/3:2/3".
func (s Sequence) Segment(i int) string {
	return s[i].RatString() + ":" + s[i+1].RatString()
}

// Scale divides the whole number total between the segments: each gets
// its length's share, whole numbers that add up to total.
//
// The units of total are numbered 0, 1, 2, ... and dealt out in cycles of
// the segments' lowest common denominator L: in each cycle a segment of
// length k/L owns k slots, spread as evenly over the cycle as can be, the
// longest segments first, and unit u goes to the owner of slot u mod L.
// A segment's part is then its slots in the whole cycles plus its slots
// among the first total mod L: the remainder goes to the segments whose
// slots come first. This is k6's striping (ExecutionTuple.ScaleInt64).
func (s Sequence) Scale(total int) []int {
	owners, err := s.stripes()
	if err != nil {
		panic(err) // ParseSequence and Even make only sequences that stripe
	}
	cycle := len(owners)
	parts := make([]int, s.Len())
	for slot, seg := range owners {
		parts[seg] += total / cycle
		if slot < total%cycle {
			parts[seg]++
		}
	}
	return parts
}

// stripes gives each slot of a cycle its segment: slot i goes to the
// first segment, longest first, that has taken fewer than its share of
// the slots before i.
func (s Sequence) stripes() ([]int, error) {
	lengths := make([]*big.Rat, s.Len())
	cycle := big.NewInt(1)
	for i := range lengths {
		lengths[i] = new(big.Rat).Sub(s[i+1], s[i])
		d := lengths[i].Denom()
		g := new(big.Int).GCD(nil, nil, cycle, d)
		cycle.Mul(cycle, new(big.Int).Quo(d, g))
		if cycle.Cmp(big.NewInt(maxStripe)) > 0 {
			return nil, errors.New("its segments' lengths have no common denominator up to 100000: use simpler fractions")
		}
	}
	n := cycle.Int64()
	slots := make([]int64, len(lengths)) // each segment's share of a cycle
	for i, l := range lengths {
		k := new(big.Rat).Mul(l, new(big.Rat).SetInt64(n))
		slots[i] = k.Num().Int64()
	}
	order := make([]int, len(lengths))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return int(slots[b] - slots[a]) })
	taken := make([]int64, len(lengths))
	owners := make([]int, n)
	for i := range n {
		owner := -1
		for _, seg := range order {
			// Its share of the slots before i is i·k/n; it may take slot i
			// while it has taken no more than that.
			if taken[seg] < slots[seg] && i*slots[seg] >= taken[seg]*n {
				owner = seg
				break
			}
		}
		if owner < 0 {
			return nil, fmt.Errorf("segment: no segment takes slot %d of %d", i, n) // cannot happen: the shares sum to n
		}
		taken[owner]++
		owners[i] = owner
	}
	return owners, nil
}
