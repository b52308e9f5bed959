package trial

import (
	"bufio"
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"

	"clusterbench/results"
)

func hostInfo(isolation string) results.Host {
	h := results.Host{
		CPUModel:  cpuModel(),
		CPUs:      runtime.NumCPU(),
		GoVersion: runtime.Version(),
		WorkerApp: workerAppName(),
		Isolation: isolation,
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	return h
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// workerAppName describes the built-in worker app for reports.
func workerAppName() string {
	return "clusterbench Go worker (net/http, " + runtime.Version() + "; on a shared socket it accepts by the mode's policy: " +
		"race, Go's netpoller, wakes every waiting worker; exclusive waits with EPOLLEXCLUSIVE; blocking blocks in accept4)"
}
