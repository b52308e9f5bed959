// Package rundir makes a run directory belong to one run. A run refuses a
// directory that holds something already, unless it was asked to replace
// the run there or to continue it, and it holds a lock on the directory
// while it writes there: an flock on a file inside, which the kernel
// releases when the process dies, however it dies.
package rundir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockName is the lock file's name inside a run directory. It stays when
// the run ends: removing it would let two runs lock two different files.
const LockName = ".lock"

// recordName is the record that makes a directory a run directory
// (results.FileName; this package stays below results).
const recordName = "results.json"

// Claim is what a run asks of its directory.
type Claim int

const (
	New      Claim = iota // the directory must be absent or empty
	Replace               // a run directory's contents are removed first
	Continue              // a run directory's record is kept, to add trials to
)

// Refused is a directory a run may not have: bad input, nothing written.
type Refused struct {
	Dir string
	Why string
}

func (e *Refused) Error() string { return fmt.Sprintf("output directory %s %s", e.Dir, e.Why) }

// Lock is a run directory held by this process.
type Lock struct{ file *os.File }

// Check says whether dir may be claimed, writing nothing: a directory that
// another run holds is refused at once, naming that run's PID.
func Check(dir string, c Claim) error {
	if pid, held := holder(dir); held {
		return inUse(dir, pid)
	}
	entries, err := contents(dir)
	if err != nil {
		return err
	}
	return decide(dir, entries, c)
}

// Acquire creates dir if need be, locks it, checks it again under the lock
// (another run may have finished there since Check), and empties it for
// Replace. The lock is released by Release, or by the process's death.
func Acquire(dir string, c Claim) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, LockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid, _ := holder(dir)
			return nil, inUse(dir, pid)
		}
		return nil, fmt.Errorf("output directory: lock: %w", err)
	}
	l := &Lock{file: f}
	entries, err := contents(dir)
	if err == nil {
		err = decide(dir, entries, c)
	}
	if err == nil && c == Replace {
		for _, name := range entries {
			if err = os.RemoveAll(filepath.Join(dir, name)); err != nil {
				err = fmt.Errorf("output directory: replace: %w", err)
				break
			}
		}
	}
	if err == nil {
		err = l.sayWho()
	}
	if err != nil {
		l.Release()
		return nil, err
	}
	return l, nil
}

// sayWho writes this process's PID in the lock file, for a run refused.
func (l *Lock) sayWho() error {
	if err := l.file.Truncate(0); err != nil {
		return fmt.Errorf("output directory: lock: %w", err)
	}
	if _, err := l.file.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return fmt.Errorf("output directory: lock: %w", err)
	}
	return nil
}

// Release unlocks the directory.
func (l *Lock) Release() error { return l.file.Close() }

// decide is the rule: which directories, by their contents (the lock file
// left out), a claim may have.
func decide(dir string, entries []string, c Claim) error {
	isRun := false
	for _, name := range entries {
		isRun = isRun || name == recordName
	}
	switch {
	case c == Continue && !isRun:
		return &Refused{dir, "holds no " + recordName + ": there is no run to continue"}
	case len(entries) == 0, c != New && isRun:
		return nil
	case isRun:
		return &Refused{dir, "already holds a run (" + recordName + "): give --replace to overwrite it, " +
			"--continue to finish an interrupted run of the same scenario, or another -o"}
	}
	return &Refused{dir, "is not empty and holds no run (" + recordName + "): choose another -o"}
}

// contents lists dir without its lock file; an absent dir is empty.
func contents(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &Refused{dir, fmt.Sprintf("cannot be read: %v", err)}
	}
	var names []string
	for _, e := range entries {
		if e.Name() != LockName {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// holder is the PID that holds dir's lock, if a process holds it (0 if
// it has not yet written its PID).
func holder(dir string) (pid int, held bool) {
	f, err := os.Open(filepath.Join(dir, LockName))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return 0, false
	}
	data, _ := os.ReadFile(f.Name())
	pid, _ = strconv.Atoi(strings.TrimSpace(string(data)))
	return pid, true
}

func inUse(dir string, pid int) error {
	who := "another run"
	if pid > 0 {
		who = fmt.Sprintf("another run (PID %d)", pid)
	}
	return &Refused{dir, "is in use by " + who + "; wait for it to finish or choose another -o"}
}
