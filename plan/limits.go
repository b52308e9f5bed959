package plan

import (
	"fmt"
	"time"
)

// Limits bound what a scenario or the command line may ask for: enough
// for any real machine, and small enough that a typo (an extra zero, ms
// for s) is refused before anything starts instead of forking thousands of
// processes or running for a week. The README lists them.
var Limits = struct {
	Workers, Reps, ProxyProcesses, BodyBytes, Rate, Concurrency, MaxConnections IntLimit
	HandlerCPU, HandlerSleep, Duration, Warmup, Timeout, RespawnDelay           DurationLimit
	// Run bounds the whole run: every trial's warm-up and duration summed.
	Run time.Duration
}{
	Workers:        IntLimit{1, 1024},
	Reps:           IntLimit{1, 1000},
	ProxyProcesses: IntLimit{0, 1024},
	BodyBytes:      IntLimit{0, 64 << 20},
	Rate:           IntLimit{0, 1_000_000},
	Concurrency:    IntLimit{1, 100_000},
	MaxConnections: IntLimit{0, 100_000},
	HandlerCPU:     DurationLimit{0, 10 * time.Second},
	HandlerSleep:   DurationLimit{0, time.Minute},
	Duration:       DurationLimit{time.Millisecond, time.Hour},
	Warmup:         DurationLimit{0, 10 * time.Minute},
	Timeout:        DurationLimit{time.Millisecond, 10 * time.Minute},
	RespawnDelay:   DurationLimit{0, time.Minute},
	Run:            24 * time.Hour,
}

// Limit is the range a number or a duration must lie in.
type Limit[T int | time.Duration] struct{ Min, Max T }

// IntLimit and DurationLimit are the two kinds of limit.
type (
	IntLimit      = Limit[int]
	DurationLimit = Limit[time.Duration]
)

// Check says how v falls outside the range, or returns nil.
func (l Limit[T]) Check(v T) error {
	switch {
	case v < l.Min:
		return fmt.Errorf("must be at least %v, got %v", l.Min, v)
	case v > l.Max:
		return fmt.Errorf("must be at most %v, got %v (a limit of clusterbench, against typos)", l.Max, v)
	}
	return nil
}
