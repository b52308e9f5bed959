// Package cputime reads how much CPU processes used, from the kernel's own
// accounting: user plus system time, which is what competes for the cores a
// benchmark shares with its load generator.
//
// Other processes are read from /proc/PID/stat, whose times are in clock
// ticks (1/100 s on Linux), user and system time each rounded down: a
// reading is exact to two ticks per process, so spans should be long next
// to 20 ms times the number of processes read.
package cputime

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
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

// userHZ is the unit of the times in /proc/PID/stat. The kernel fixes it at
// 100 for user space on every Linux architecture (USER_HZ), whatever its
// own tick rate.
const userHZ = 100

// Process is one process's reading.
type Process struct {
	PID, PPID int
	// CPU is the user plus system time of all its threads, live and exited,
	// not counting its children.
	CPU time.Duration
}

// Of reads one process.
func Of(pid int) (Process, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Process{}, fmt.Errorf("cputime: %w", err)
	}
	return parseStat(pid, data)
}

// parseStat reads /proc/PID/stat. The command name (field 2) may hold
// spaces and parentheses, so fields are counted from its last ')'.
func parseStat(pid int, data []byte) (Process, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return Process{}, fmt.Errorf("cputime: /proc/%d/stat: no command name", pid)
	}
	// After the name: state(3) ppid(4) ... utime(14) stime(15).
	fields := bytes.Fields(data[end+1:])
	if len(fields) < 13 {
		return Process{}, fmt.Errorf("cputime: /proc/%d/stat: %d fields after the name, want at least 13", pid, len(fields))
	}
	ppid, err1 := strconv.Atoi(string(fields[1]))
	utime, err2 := strconv.ParseUint(string(fields[11]), 10, 64)
	stime, err3 := strconv.ParseUint(string(fields[12]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return Process{}, fmt.Errorf("cputime: /proc/%d/stat: malformed", pid)
	}
	return Process{PID: pid, PPID: ppid, CPU: time.Duration(utime+stime) * (time.Second / userHZ)}, nil
}

// Tree reads root and every process descending from it, root first. A
// process that exits while the tree is read is left out.
func Tree(root int) ([]Process, error) {
	all, err := readAll()
	if err != nil {
		return nil, err
	}
	top, ok := all[root]
	if !ok {
		return nil, fmt.Errorf("cputime: process %d is gone", root)
	}
	children := map[int][]int{}
	for pid, p := range all {
		children[p.PPID] = append(children[p.PPID], pid)
	}
	tree := []Process{top}
	for i := 0; i < len(tree); i++ {
		for _, pid := range children[tree[i].PID] {
			tree = append(tree, all[pid])
		}
	}
	return tree, nil
}

// readAll reads every process /proc shows.
func readAll() (map[int]Process, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("cputime: %w", err)
	}
	all := map[int]Process{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, err := Of(pid); err == nil {
			all[pid] = p
		}
	}
	return all, nil
}
