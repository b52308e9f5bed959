package plan

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Engine is a load generator (see package loadgen).
type Engine string

// The load generators.
const (
	Vegeta Engine = "vegeta"
	Wrk    Engine = "wrk"
)

// Engines lists the load generators, the default first.
var Engines = []Engine{Vegeta, Wrk}

// ParseEngine returns the engine called name.
func ParseEngine(name string) (Engine, error) {
	if e := Engine(name); slices.Contains(Engines, e) {
		return e, nil
	}
	known := make([]string, len(Engines))
	for i, e := range Engines {
		known[i] = string(e)
	}
	return "", fmt.Errorf("unknown load generator %q (known: %s)", name, strings.Join(known, ", "))
}

func (e Engine) String() string { return string(e) }

// MarshalText writes the engine's name, for JSON.
func (e Engine) MarshalText() ([]byte, error) { return []byte(e), nil }

// UnmarshalText reads a known engine's name, for YAML and JSON.
func (e *Engine) UnmarshalText(text []byte) error {
	engine, err := ParseEngine(string(text))
	if err != nil {
		return err
	}
	*e = engine
	return nil
}

// Set reads an engine from a flag.
func (e *Engine) Set(s string) error { return e.UnmarshalText([]byte(s)) }

// CheckWrk says why a load cannot be driven by wrk, or returns nil: wrk
// is closed loop only, has no cap on connections apart from their
// number, and counts time in whole seconds.
func CheckWrk(rate, maxConnections int, duration, warmup time.Duration) error {
	switch {
	case rate != 0:
		return fmt.Errorf("wrk drives a closed loop only, so rate must be 0 (as fast as possible), got %d; use vegeta for a constant rate", rate)
	case maxConnections != 0:
		return fmt.Errorf("wrk opens exactly concurrency connections, so max_connections must be 0, got %d", maxConnections)
	case duration%time.Second != 0:
		return fmt.Errorf("wrk runs for whole seconds, got a duration of %v", duration)
	case warmup%time.Second != 0:
		return fmt.Errorf("wrk runs for whole seconds, got a warm-up of %v", warmup)
	}
	return nil
}

// ErrWrkFault is why wrk cannot measure a fault: it has no clock to split
// its counts at the fault or by the second, and it exits when it cannot
// connect at all.
var ErrWrkFault = errors.New("wrk cannot measure a fault (no per-second or before/after counts, and it stops when it cannot connect); use vegeta")
