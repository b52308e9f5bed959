package cputime

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func spin(d time.Duration) uint64 {
	x := uint64(1)
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		x = x*6364136223846793005 + 1
	}
	return x
}

func TestSelfGrowsWithWork(t *testing.T) {
	before := Self()
	x := spin(50 * time.Millisecond)
	if used := Self() - before; used <= 0 || x == 0 {
		t.Errorf("50ms of busy work used %v of CPU; want some", used)
	}
}

// TestOfAgreesWithGetrusage reads this process through /proc and through
// getrusage, two separate paths into the kernel's accounting.
func TestOfAgreesWithGetrusage(t *testing.T) {
	spin(300 * time.Millisecond)
	before := Self()
	p, err := Of(os.Getpid())
	after := Self()
	if err != nil {
		t.Fatal(err)
	}
	if p.PID != os.Getpid() || p.PPID != os.Getppid() {
		t.Errorf("read pid %d ppid %d; want %d and %d", p.PID, p.PPID, os.Getpid(), os.Getppid())
	}
	// /proc rounds user and system time down to a tick each.
	if p.CPU < before-2*time.Second/userHZ || p.CPU > after {
		t.Errorf("/proc says %v of CPU; getrusage says %v to %v", p.CPU, before, after)
	}
}

func TestTreeFindsGrandchildren(t *testing.T) {
	// sh starts a busy sleep-free loop in the background and waits: a
	// child and a grandchild, the grandchild using CPU.
	cmd := exec.Command("sh", "-c", `sh -c 'while :; do :; done' & wait`)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	var tree []Process
	deadline := time.Now().Add(5 * time.Second)
	for {
		var err error
		tree, err = Tree(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if len(tree) >= 3 && tree[len(tree)-1].CPU >= 50*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tree of this process %+v; want it, sh, and a busy grandchild", tree)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if tree[0].PID != os.Getpid() {
		t.Errorf("tree starts at %d; want the root %d", tree[0].PID, os.Getpid())
	}
	parents := map[int]bool{}
	for _, p := range tree {
		parents[p.PID] = true
	}
	for _, p := range tree[1:] {
		if !parents[p.PPID] {
			t.Errorf("process %d's parent %d is not in the tree", p.PID, p.PPID)
		}
	}
}

func TestTreeOfAGoneProcess(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := Tree(cmd.Process.Pid); err == nil {
		t.Error("tree of a reaped process: no error")
	}
}

func TestParseStatWithAnAwkwardName(t *testing.T) {
	line := "42 (a) b (c)) S 7 42 42 0 -1 4194560 100 0 0 0 250 130 0 0 20 0 1 0 12345 0 0\n"
	p, err := parseStat(42, []byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if p.PPID != 7 || p.CPU != 3800*time.Millisecond {
		t.Errorf("got ppid %d cpu %v; want 7 and 3.8s", p.PPID, p.CPU)
	}
	if _, err := parseStat(42, []byte("42 (x) S 7")); err == nil {
		t.Error("short stat: no error")
	}
}
