// Package cpuset names sets of CPUs in the kernel's list format ("0-2,5")
// and pins this process to one, so that a load generator and the server it
// measures can be kept off each other's cores.
//
// Pinning goes through sched_setaffinity, thread by thread: Go runs on
// many threads, and a thread or child started later takes the mask of the
// thread that starts it, so once all are pinned everything to come is too.
package cpuset

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Set is a set of CPU numbers; the zero Set is empty.
type Set struct{ cpus []int } // sorted, no duplicates

// maxCPU bounds the CPU numbers believed, as the kernel's cpu_set_t does.
const maxCPU = 1024

// Parse reads a CPU list: numbers and ranges separated by commas, "0-2,5".
func Parse(list string) (Set, error) {
	var cpus []int
	for part := range strings.SplitSeq(strings.TrimSpace(list), ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		first, err := strconv.Atoi(lo)
		last := first
		if err == nil && isRange {
			last, err = strconv.Atoi(hi)
		}
		if err != nil || first < 0 || last < first || last >= maxCPU {
			return Set{}, fmt.Errorf("%q is not a CPU list (like 0, 0-3 or 0,2-3)", list)
		}
		for c := first; c <= last; c++ {
			cpus = append(cpus, c)
		}
	}
	slices.Sort(cpus)
	return Set{slices.Compact(cpus)}, nil
}

// CPUs lists the set's CPU numbers in order.
func (s Set) CPUs() []int { return slices.Clone(s.cpus) }

// Len is the number of CPUs in the set.
func (s Set) Len() int { return len(s.cpus) }

// IsEmpty reports whether the set has no CPU.
func (s Set) IsEmpty() bool { return len(s.cpus) == 0 }

// String is the canonical list form, ranges folded: "0-2,5".
func (s Set) String() string {
	var parts []string
	for i := 0; i < len(s.cpus); {
		j := i
		for j+1 < len(s.cpus) && s.cpus[j+1] == s.cpus[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(s.cpus[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", s.cpus[i], s.cpus[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// Overlaps reports whether s and o share a CPU.
func (s Set) Overlaps(o Set) bool {
	return slices.ContainsFunc(s.cpus, func(c int) bool { return slices.Contains(o.cpus, c) })
}

// Outside returns the CPUs of s that are not in o.
func (s Set) Outside(o Set) Set {
	var out []int
	for _, c := range s.cpus {
		if !slices.Contains(o.cpus, c) {
			out = append(out, c)
		}
	}
	return Set{out}
}

// Allowed returns the CPUs this process may run on.
func Allowed() (Set, error) {
	var mask unix.CPUSet
	if err := unix.SchedGetaffinity(0, &mask); err != nil {
		return Set{}, fmt.Errorf("cpuset: %w", err)
	}
	var cpus []int
	for c := range maxCPU {
		if mask.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return Set{cpus}, nil
}

// Online returns the CPUs the kernel has online, which any process may
// pin itself to whatever its current mask (a parent's pinning does not
// bind its children's choice).
func Online() (Set, error) {
	data, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return Set{}, fmt.Errorf("cpuset: %w", err)
	}
	return Parse(string(data))
}

// ParseUsable parses a CPU list whose every CPU is online.
func ParseUsable(list string) (Set, error) {
	set, err := Parse(list)
	if err != nil {
		return Set{}, err
	}
	online, err := Online()
	if err != nil {
		return Set{}, err
	}
	if out := set.Outside(online); !out.IsEmpty() {
		return Set{}, fmt.Errorf("CPU %s is not on this machine (online: %s)", out, online)
	}
	return set, nil
}

// PinSelf restricts every thread of this process to s. It goes over the
// threads until a pass finds none it has not pinned, so that a thread
// started meanwhile is not missed.
func PinSelf(s Set) error {
	if s.IsEmpty() {
		return fmt.Errorf("cpuset: pin to an empty set")
	}
	var mask unix.CPUSet
	for _, c := range s.cpus {
		mask.Set(c)
	}
	pinned := map[int]bool{}
	for {
		tids, err := threads()
		if err != nil {
			return err
		}
		fresh := 0
		for _, tid := range tids {
			if pinned[tid] {
				continue
			}
			if err := unix.SchedSetaffinity(tid, &mask); err != nil && err != unix.ESRCH {
				return fmt.Errorf("cpuset: pin thread %d to CPUs %s: %w", tid, s, err)
			}
			pinned[tid] = true
			fresh++
		}
		if fresh == 0 {
			return nil
		}
	}
}

// threads lists this process's thread ids.
func threads() ([]int, error) {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("cpuset: %w", err)
	}
	var tids []int
	for _, e := range entries {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}
