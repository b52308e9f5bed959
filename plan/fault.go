package plan

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Fault kills workers during a trial's measured load, to see how a mode
// copes: who gets the errors, and how long until a replacement serves.
// Whether killed workers are replaced is the deployment's Respawn.
type Fault struct {
	// Kill is how many workers to kill, the first ones by index.
	Kill Kill `json:"kill"`
	// At is the time into the measured load. serve run on its own counts
	// it from when every worker serves, and 0 there means on SIGUSR1.
	At time.Duration `json:"at"`
	// Signal kills them: SIGKILL is a crash, SIGTERM a graceful stop.
	Signal Signal `json:"signal"`
}

// Kill is how many workers a fault kills: a number, or all of them.
type Kill struct {
	All bool
	N   int // when not All
}

// KillAll is how Kill is written for every worker.
const KillAll = "all"

// ParseKill reads a number of workers (at least 1) or "all".
func ParseKill(s string) (Kill, error) {
	if s == KillAll {
		return Kill{All: true}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return Kill{}, fmt.Errorf("%q is not a number of workers or %q", s, KillAll)
	}
	if n < 1 {
		return Kill{}, fmt.Errorf("must be at least 1, got %d", n)
	}
	return Kill{N: n}, nil
}

// Count is how many of n workers it kills.
func (k Kill) Count(n int) int {
	if k.All {
		return n
	}
	return k.N
}

func (k Kill) String() string {
	if k.All {
		return KillAll
	}
	return strconv.Itoa(k.N)
}

// MarshalText writes "all" or the number, for JSON.
func (k Kill) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads what ParseKill reads, for YAML and JSON.
func (k *Kill) UnmarshalText(text []byte) error {
	v, err := ParseKill(string(text))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// Set reads a kill count from a flag.
func (k *Kill) Set(s string) error { return k.UnmarshalText([]byte(s)) }

// Signal is a signal a fault may send, spelled canonically ("SIGTERM").
type Signal syscall.Signal

// FaultSignals are the signals a fault may send: those that end the
// worker app. (It ignores SIGINT, which a Ctrl-C sends the whole group.)
var FaultSignals = []string{"SIGKILL", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGABRT", "SIGSEGV"}

// DefaultSignal is a crash.
const DefaultSignal = Signal(syscall.SIGKILL)

// ParseSignal reads a signal name, with or without "SIG", in any case.
func ParseSignal(name string) (Signal, error) {
	canonical := strings.ToUpper(name)
	if !strings.HasPrefix(canonical, "SIG") {
		canonical = "SIG" + canonical
	}
	for _, s := range FaultSignals {
		if s == canonical {
			return Signal(unix.SignalNum(s)), nil
		}
	}
	return 0, fmt.Errorf("%q is not one of %s", name, strings.Join(FaultSignals, ", "))
}

// String is the canonical name, e.g. SIGKILL.
func (s Signal) String() string { return unix.SignalName(syscall.Signal(s)) }

// MarshalText writes the canonical name, for JSON.
func (s Signal) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads what ParseSignal reads, for YAML and JSON.
func (s *Signal) UnmarshalText(text []byte) error {
	v, err := ParseSignal(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Set reads a signal from a flag.
func (s *Signal) Set(text string) error { return s.UnmarshalText([]byte(text)) }
