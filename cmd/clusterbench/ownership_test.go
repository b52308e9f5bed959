package main

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"clusterbench/internal/nstest"
	"clusterbench/results"
	"clusterbench/trial"
)

// foreignListener starts another process that listens on host:0 with
// SO_REUSEPORT, as a stranger's server would, and returns its port.
func foreignListener(t *testing.T, host string) string {
	t.Helper()
	_, err := exec.LookPath("python3")
	nstest.Require(t, "python3, for a foreign listener", err)
	cmd := exec.Command("python3", "-c", `
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind((sys.argv[1], 0))
s.listen()
print(s.getsockname()[1], flush=True)
sys.stdin.read()
`, host)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	port, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("foreign listener: %v", err)
	}
	return strings.TrimSpace(port)
}

// TestServeRefusesAForeignReusePortGroup: serve never shares its public
// port with a stranger's SO_REUSEPORT listener, whether on the same
// address or on the wildcard one.
func TestServeRefusesAForeignReusePortGroup(t *testing.T) {
	for _, foreignHost := range []string{"127.0.0.1", "0.0.0.0"} {
		t.Run(foreignHost, func(t *testing.T) {
			addr := "127.0.0.1:" + foreignListener(t, foreignHost)
			// A real serve process: serve adopts and ends whatever it finds
			// under it, which in-process would be this test's listener. One
			// that starts fails the test after the limit.
			code, _, stderr := runTool(t, newMark(), 10*time.Second, "serve", "--mode", "reuseport", "--workers", "2", "--addr", addr)
			if code != exitUsage || !strings.Contains(stderr, addr) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("serve on %s beside a foreign listener on %s: exit code %d, stderr %q; want %d and one line naming the address",
					addr, foreignHost, code, stderr, exitUsage)
			}
		})
	}
}

// dirState is a directory's files and their contents, to see that a
// refused run wrote nothing.
func dirState(t *testing.T, dir string) map[string]string {
	t.Helper()
	state := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		state[e.Name()] = string(data)
	}
	return state
}

// TestRunDirectoryBelongsToOneRun: a finished run's directory, or any
// other non-empty one, is refused with exit 2 and left as it was, unless
// the run is asked to replace it.
func TestRunDirectoryBelongsToOneRun(t *testing.T) {
	requireNetns(t)
	quick := []string{"--mode", "shared", "--workers", "2", "--duration", "300ms", "--warmup", "0s"}
	dir := filepath.Join(t.TempDir(), "run")
	if code, _, stderr := runCLI(t, append([]string{"run", "-o", dir}, quick...)...); code != exitOK {
		t.Fatalf("first run: exit code %d: %s", code, stderr)
	}
	first := dirState(t, dir)
	for _, args := range [][]string{
		{"run", "-o", dir},
		{"run", "-o", dir, "--continue"}, // it is complete
		{"run", "-o", dir, "--replace", "--continue"},
	} {
		code, stdout, stderr := runCLI(t, append(args, quick...)...)
		if code != exitUsage || !strings.Contains(stderr, dir) && !strings.Contains(stderr, "not both") || stdout != "" {
			t.Errorf("%v into a finished run: exit code %d, stderr %q; want %d and an error naming the directory", args, code, stderr, exitUsage)
		}
		if after := dirState(t, dir); !maps.Equal(after, first) {
			t.Errorf("%v changed the run directory it refused", args)
		}
	}

	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, extra := range [][]string{nil, {"--replace"}, {"--continue"}} {
		args := append(append([]string{"run", "-o", other}, extra...), quick...)
		if code, _, stderr := runCLI(t, args...); code != exitUsage || !strings.Contains(stderr, other) {
			t.Errorf("%v into a directory of other files: exit code %d, stderr %q; want %d", extra, code, stderr, exitUsage)
		}
		if got := dirState(t, other); len(got) != 1 || got["notes.txt"] != "mine" {
			t.Errorf("%v wrote into a directory it refused: %v", extra, slices.Collect(maps.Keys(got)))
		}
	}

	if code, _, stderr := runCLI(t, append([]string{"run", "-o", dir, "--replace"}, quick...)...); code != exitOK {
		t.Fatalf("--replace: exit code %d: %s", code, stderr)
	}
	if after := dirState(t, dir); after[results.FileName] == first[results.FileName] {
		t.Errorf("--replace kept the old record")
	}
}

// TestRunDirectoryLockedAndContinued: while a run writes to a directory,
// every other run into it fails at once and names the holder's PID; an
// interrupted run is then continued by the same scenario only, keeping
// its trials and running the missing ones.
func TestRunDirectoryLockedAndContinued(t *testing.T) {
	requireNetns(t)
	mark := strconv.FormatInt(time.Now().UnixNano(), 36)
	dir := filepath.Join(t.TempDir(), "run")
	scenario := []string{"--mode", "shared", "--workers", "2", "--duration", "700ms", "--warmup", "0s", "--reps", "6"}
	cmd, _, _ := startTool(t, mark, append([]string{"run", "-o", dir}, scenario...)...)
	waitForTrials(t, dir, 1)
	holder := fmt.Sprintf("PID %d", cmd.Process.Pid)
	for _, extra := range [][]string{nil, {"--replace"}, {"--continue"}} {
		started := time.Now()
		code, _, stderr := runCLI(t, append(append([]string{"run", "-o", dir}, extra...), scenario...)...)
		if code != exitUsage || !strings.Contains(stderr, holder) || time.Since(started) > 2*time.Second {
			t.Errorf("run %v into a directory in use: exit code %d after %v, stderr %q; want %d at once, naming %s",
				extra, code, time.Since(started), stderr, exitUsage, holder)
		}
	}
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitFailed {
		t.Fatalf("interrupted run: exit code %d; want %d", code, exitFailed)
	}
	interrupted, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if interrupted.Complete || len(interrupted.Trials) == 0 || len(interrupted.Trials) >= 6 {
		t.Fatalf("interrupted run holds %d trials, complete=%v", len(interrupted.Trials), interrupted.Complete)
	}

	before := dirState(t, dir)
	different := slices.Clone(scenario)
	different[5] = "600ms" // --duration
	if code, _, stderr := runCLI(t, append([]string{"run", "-o", dir, "--continue"}, different...)...); code != exitUsage || !strings.Contains(stderr, "another scenario") {
		t.Errorf("--continue with another duration: exit code %d, stderr %q; want %d", code, stderr, exitUsage)
	}
	if !maps.Equal(dirState(t, dir), before) {
		t.Errorf("a refused --continue changed the run directory")
	}

	if code, _, stderr := runCLI(t, append([]string{"run", "-o", dir, "--continue"}, scenario...)...); code != exitOK {
		t.Fatalf("--continue: exit code %d: %s", code, stderr)
	}
	continued, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !continued.Complete || len(continued.Trials) != 6 {
		t.Fatalf("continued run: complete=%v with %d trials; want complete with 6", continued.Complete, len(continued.Trials))
	}
	if continued.ScenarioText != interrupted.ScenarioText || !strings.HasPrefix(continued.ScenarioText, "clusterbench run -o ") {
		t.Errorf("continued run's scenario %q; want the first run's command line, %q", continued.ScenarioText, interrupted.ScenarioText)
	}
	for i, tr := range interrupted.Trials {
		if !continued.Trials[i].Started.Equal(tr.Started) {
			t.Errorf("trial %d was measured again: started %v, was %v", i+1, continued.Trials[i].Started, tr.Started)
		}
	}
	for i, tr := range continued.Trials {
		if tr.Rep != i+1 || tr.Failed() {
			t.Errorf("trial %d: rep %d, error %q; want rep %d measured", i+1, tr.Rep, tr.Error, i+1)
		}
	}
}

// TestTrialProcessHangup: a SIGHUP that reaches only a trial's process
// (as a hangup reaches a terminal's process group) stops that trial
// cleanly, and the run is then partial, not complete: exit 3, the trial
// before kept.
func TestTrialProcessHangup(t *testing.T) {
	requireNetns(t)
	mark := strconv.FormatInt(time.Now().UnixNano(), 36)
	dir := filepath.Join(t.TempDir(), "run")
	cmd, _, stderr := startTool(t, mark, "run", "-o", dir, "--mode", "shared", "--workers", "2", "--duration", "1s", "--warmup", "0s", "--reps", "3")
	waitForTrials(t, dir, 1)
	time.Sleep(300 * time.Millisecond) // into the second trial
	var child int
	for _, pid := range marked(t, mark) {
		args, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.HasSuffix(string(args), "\x00"+trial.Command+"\x00") {
			child = pid
		}
	}
	if child == 0 {
		t.Fatal("no trial process found")
	}
	syscall.Kill(child, syscall.SIGHUP)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitFailed {
		t.Errorf("exit code %d after the trial process's hangup; want %d\n%s", code, exitFailed, stderr)
	}
	eventuallyNone(t, mark)
	r, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Complete || len(r.Trials) != 1 || r.Trials[0].Failed() {
		t.Errorf("complete=%v with trials %d (first failed: %v); want a partial run with its first trial", r.Complete, len(r.Trials), len(r.Trials) > 0 && r.Trials[0].Failed())
	}
}
