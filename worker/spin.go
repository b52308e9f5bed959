package worker

import (
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// spinWork is a fixed amount of busy CPU work, counted in loop iterations so
// that a request costs the same instructions however busy the machine is.
type spinWork uint64

// sink keeps the compiler from removing the loop.
var sink atomic.Uint64

func (n spinWork) run() {
	if n == 0 {
		return
	}
	x := uint64(88172645463325252)
	for i := spinWork(0); i < n; i++ {
		// xorshift: cheap, branch-free, and impossible to fold away.
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	sink.Store(x)
}

// Calibrate returns how many loop iterations take one microsecond of CPU on
// this machine. It measures the calling thread's own CPU clock, so time spent
// waiting for a CPU does not count; it takes about 50ms.
func Calibrate() float64 {
	const probe = spinWork(1 << 20)
	// The thread CPU clock is only meaningful if the goroutine stays on one thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	probe.run() // warm up caches and frequency
	best := time.Duration(1<<63 - 1)
	for range 5 {
		start := threadCPU()
		probe.run()
		if d := threadCPU() - start; d > 0 && d < best {
			best = d
		}
	}
	return float64(probe) / float64(best.Microseconds()+1)
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}
