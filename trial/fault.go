package trial

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"clusterbench/modes"
	"clusterbench/plan"
)

// injectFault arms f on d: after f.At if set, else on SIGUSR1 (which is
// how a trial times it to its load), once either way. The returned
// function disarms it.
func injectFault(d *modes.Deployment, f *plan.Fault, logf func(string, ...any)) (disarm func()) {
	if f == nil {
		return func() {}
	}
	k := f.Kill.Count(len(d.PIDs()))
	var once sync.Once
	fire := func() {
		once.Do(func() {
			fault, err := d.Kill(k, syscall.Signal(f.Signal))
			logf("fault: %s sent to workers %v (pids %v)", fault.Signal, fault.Workers, fault.PIDs)
			if err != nil {
				logf("fault: %v", err)
			}
		})
	}
	if f.At > 0 {
		timer := time.AfterFunc(f.At, fire)
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
