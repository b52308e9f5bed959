package worker

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Tail is the slow part of a heavy-tailed handler: each request, with
// probability Fraction, costs CPU instead of the handler's usual CPU. It is
// where the choice of accept strategy matters most: a connection queued
// behind a slow request waits. The zero Tail is no tail.
type Tail struct {
	Fraction float64       `yaml:"fraction"`
	CPU      time.Duration `yaml:"cpu"`
}

// IsZero reports whether there is no tail.
func (t Tail) IsZero() bool { return t == Tail{} }

// String is the flag form, PERCENT%:CPU, e.g. "1%:10ms"; "" for no tail.
func (t Tail) String() string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatFloat(100*t.Fraction, 'g', -1, 64) + "%:" + t.CPU.String()
}

// Set reads the flag form, PERCENT%:CPU: "1%:10ms" makes one request in a
// hundred cost 10ms of CPU. The ranges are plan's to check, as for the
// other handler flags.
func (t *Tail) Set(s string) error {
	percent, cpu, ok := strings.Cut(s, ":")
	number, isPercent := strings.CutSuffix(percent, "%")
	if !ok || !isPercent {
		return fmt.Errorf("%q is not PERCENT%%:CPU, like 1%%:10ms", s)
	}
	p, err := strconv.ParseFloat(number, 64)
	if err != nil {
		return fmt.Errorf("%q: %q is not a percentage", s, percent)
	}
	d, err := time.ParseDuration(cpu)
	if err != nil {
		return fmt.Errorf("%q: %q is not a duration (like 10ms)", s, cpu)
	}
	*t = Tail{Fraction: p / 100, CPU: d}
	return nil
}

// costs picks each request's busy work: the slow amount with the tail's
// probability, else the usual one.
type costs struct {
	usual, slow spinWork
	fraction    float64
}

// pick draws from the runtime's generator, which needs no lock and is
// independent per request: which requests are slow is chance, not order.
func (c costs) pick() spinWork {
	if c.fraction > 0 && rand.Float64() < c.fraction {
		return c.slow
	}
	return c.usual
}
