// Package cputime reads how much CPU a process used, from the kernel's own
// accounting: user plus system time, which is what competes for the cores a
// benchmark shares with its load generator.
package cputime

import (
	"syscall"
	"time"
)

// Self returns the CPU time used so far by this process, all threads together.
func Self() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
