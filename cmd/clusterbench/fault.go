package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"clusterbench/modes"
	"clusterbench/scenarios"
)

// faultFlags are serve's fault injection: kill workers at a time, or
// when serve gets SIGUSR1 (which is how run times it to its load).
type faultFlags struct {
	kill   string // a number of workers, or "all"
	at     time.Duration
	signal string
}

func (f *faultFlags) register(fs *flag.FlagSet, whenAt string) {
	fs.StringVar(&f.kill, "kill-workers", "", "fault injection: kill this many workers (the first ones by index), or all")
	fs.DurationVar(&f.at, "kill-at", 0, "fault injection: kill them this long "+whenAt)
	fs.StringVar(&f.signal, "kill-signal", scenarios.DefaultFault.Signal, "fault injection: the signal that kills them ("+strings.Join(scenarios.FaultSignals, ", ")+")")
}

// scenario is the fault the flags describe for run, nil for none.
func (f *faultFlags) scenario(respawn bool, respawnDelay time.Duration) *scenarios.Fault {
	if f.kill == "" {
		return nil
	}
	return &scenarios.Fault{Kill: f.kill, At: f.at, Signal: f.signal, Respawn: respawn, RespawnDelay: respawnDelay}
}

// check validates the flags for a deployment of n workers.
func (f *faultFlags) check(n int, respawnDelay time.Duration) error {
	if err := scenarios.Limits.RespawnDelay.Check(respawnDelay); err != nil {
		return fmt.Errorf("--respawn-delay %w", err)
	}
	if f.kill == "" {
		if f.at != 0 {
			return errors.New("--kill-at needs --kill-workers")
		}
		return nil
	}
	if _, err := f.count(n); err != nil {
		return fmt.Errorf("--kill-workers: %w", err)
	}
	if f.at < 0 {
		return fmt.Errorf("--kill-at must be at least 0, got %v", f.at)
	}
	if _, err := scenarios.ParseSignal(f.signal); err != nil {
		return fmt.Errorf("--kill-signal: %w", err)
	}
	return nil
}

// count is how many of n workers to kill.
func (f *faultFlags) count(n int) (int, error) {
	if f.kill == scenarios.KillAll {
		return n, nil
	}
	k, err := strconv.Atoi(f.kill)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q is not a number of workers or %q", f.kill, scenarios.KillAll)
	case k < 1 || k > n:
		return 0, fmt.Errorf("must be between 1 and the %d workers, got %d", n, k)
	}
	return k, nil
}

// inject arms the fault on d: after --kill-at if given, else on SIGUSR1,
// once either way. The returned function disarms it.
func (f *faultFlags) inject(d *modes.Deployment, logf func(string, ...any)) (disarm func()) {
	if f.kill == "" {
		return func() {}
	}
	k, _ := f.count(len(d.PIDs())) // checked
	sig, _ := scenarios.ParseSignal(f.signal)
	var once sync.Once
	fire := func() {
		once.Do(func() {
			fault, err := d.Kill(k, sig)
			logf("fault: %s sent to workers %v (pids %v)", fault.Signal, fault.Workers, fault.PIDs)
			if err != nil {
				logf("fault: %v", err)
			}
		})
	}
	if f.at > 0 {
		timer := time.AfterFunc(f.at, fire)
		return func() { timer.Stop() }
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	done := make(chan struct{})
	go func() {
		select {
		case <-usr1:
			fire()
		case <-done:
		}
	}()
	var disarmOnce sync.Once
	return func() {
		disarmOnce.Do(func() {
			signal.Stop(usr1)
			close(done)
		})
	}
}
