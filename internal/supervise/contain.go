package supervise

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Adopt makes this process the subreaper of everything it starts: a
// process that detaches from its parent (a background child, setsid, a
// double-forking daemon) becomes this process's child when its parent
// ends, instead of init's, so that KillDescendants finds it.
func Adopt() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("subreaper: %w", err)
	}
	return nil
}

// KillDescendants kills every process descending from this one, and
// returns how many it killed. Call it once everything this process means
// to keep has ended.
func KillDescendants() int {
	killed := 0
	// A descendant may fork while the tree is read: read it again until
	// nothing is left to kill.
	for range 10 {
		pids := descendants(os.Getpid())
		alive := 0
		for _, pid := range pids {
			if syscall.Kill(pid, syscall.SIGKILL) == nil && !zombie(pid) {
				alive++
			}
		}
		killed += alive
		if alive == 0 {
			return killed
		}
	}
	return killed
}

// descendants lists the processes under pid, parents first.
func descendants(pid int) []int {
	var out []int
	for _, child := range children(pid) {
		out = append(out, child)
		out = append(out, descendants(child)...)
	}
	return out
}

// children lists pid's children, as any of its threads' children: an
// adopted orphan's parent may be any thread of the subreaper.
func children(pid int) []int {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var pids []int
	for _, f := range files {
		data, _ := os.ReadFile(f)
		for _, field := range strings.Fields(string(data)) {
			if p, err := strconv.Atoi(field); err == nil {
				pids = append(pids, p)
			}
		}
	}
	return pids
}

// zombie reports whether pid has ended and waits only to be reaped.
func zombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' || stat[i+2] == 'X'
}
