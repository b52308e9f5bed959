package trial

import (
	"bufio"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
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
	if f, err := os.Open("/proc/meminfo"); err == nil {
		h.MemoryBytes = memTotal(f)
		f.Close()
	}
	info, _ := debug.ReadBuildInfo()
	h.Tool = toolVersion(info)
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

// memTotal reads the machine's memory from /proc/meminfo's MemTotal
// line, "MemTotal:  16323748 kB"; 0 when it is not there.
func memTotal(meminfo io.Reader) uint64 {
	sc := bufio.NewScanner(meminfo)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != "MemTotal" {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

// workerAppName describes the built-in worker app for reports.
func workerAppName() string {
	return "clusterbench Go worker (net/http, " + runtime.Version() + "; on a shared socket it accepts by the mode's policy: " +
		"race, Go's netpoller, wakes every waiting worker; exclusive waits with EPOLLEXCLUSIVE; blocking blocks in accept4)"
}
