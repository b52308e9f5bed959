package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"clusterbench/internal/nstest"
	"clusterbench/results"
)

// detachingApp is the Python example app after it started children that
// detach every way a process can: one in the background that keeps the
// app's stdout and stderr open, one in a session of its own (setsid), and
// a daemon that forked twice, whose parent is gone.
const detachingApp = `sleep 301 & setsid sleep 302 & (sh -c 'sleep 303 >/dev/null 2>&1 &' &); exec python3 ../../examples/python/app.py`

// failingApp exits at once, saying why on stderr.
const failingApp = `echo boom-from-app >&2; exit 7`

// appCommand is an app's shell script as --worker-command takes it.
func appCommand(script string) string {
	b, _ := json.Marshal([]string{"sh", "-c", script})
	return string(b)
}

// runTool runs the tool as a real child process, marked, and returns its
// exit code and output; it fails the test if it takes longer than limit.
func runTool(t *testing.T, mark string, limit time.Duration, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "CLUSTERBENCH_TEST_MARK="+mark)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.WaitDelay = time.Second // what the tool left may hold its pipes: the test must not wait for it
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%v took over %v\nstderr: %s", args, limit, errOut.String())
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

func newMark() string { return strconv.FormatInt(time.Now().UnixNano(), 36) }

// TestDetachingAppLeavesNothing runs an app whose children detach, in run
// under several modes and in serve: every trial is measured, nothing the
// app started outlives the run, however it detached.
func TestDetachingAppLeavesNothing(t *testing.T) {
	requireNetns(t)
	requirePython(t)
	for _, mode := range []string{"shared", "nginx", "iptables"} {
		t.Run("run/"+mode, func(t *testing.T) {
			requireMode(t, mode)
			mark := newMark()
			dir := filepath.Join(t.TempDir(), "run")
			code, _, stderr := runTool(t, mark, 40*time.Second, "run", "-o", dir, "--mode", mode, "--workers", "2",
				"--duration", "1s", "--warmup", "0s", "--reps", "2", "--worker-command", appCommand(detachingApp))
			if code != exitOK {
				t.Fatalf("exit code %d; want %d\nstderr: %s", code, exitOK, stderr)
			}
			r, err := results.Read(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Trials) != 2 {
				t.Fatalf("%d trials; want 2", len(r.Trials))
			}
			for _, tr := range r.Trials {
				if tr.Failed() {
					t.Errorf("trial failed: %s", tr.Error)
				}
			}
			eventuallyNone(t, mark)
		})
	}
	for _, tc := range []struct{ name, mode, netns string }{
		{"serve/shared", "shared", "--netns=false"},
		{"serve/shared-netns", "shared", "--netns"},
		{"serve/iptables", "iptables", "--netns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireMode(t, tc.mode)
			mark := newMark()
			code, _, stderr := runTool(t, mark, 30*time.Second, "serve", "--mode", tc.mode, "--workers", "2", tc.netns,
				"--addr", "127.0.0.1:0", "--worker-command", appCommand(detachingApp),
				"--", "sh", "-c", `curl -sf "$CLUSTERBENCH_URL" >/dev/null`)
			if code != exitOK {
				t.Fatalf("exit code %d; want %d\nstderr: %s", code, exitOK, stderr)
			}
			eventuallyNone(t, mark)
		})
	}
}

// TestKilledToolLeavesNothingOfADetachingApp kills the tool with SIGKILL
// while an app whose children detach serves: nothing is left running, and
// no namespace is kept alive. (serve on the host's own network has no
// namespace to contain it, and is not killed here: what its workers leave
// outlives a SIGKILL of serve.)
func TestKilledToolLeavesNothingOfADetachingApp(t *testing.T) {
	requireNetns(t)
	requirePython(t)
	for _, tc := range []struct {
		name, mode string
		args       []string
	}{
		{"run/shared", "shared", []string{"run", "-o", filepath.Join(t.TempDir(), "shared"), "--duration", "30s", "--warmup", "0s"}},
		{"run/nginx", "nginx", []string{"run", "-o", filepath.Join(t.TempDir(), "nginx"), "--duration", "30s", "--warmup", "0s"}},
		{"serve/iptables", "iptables", []string{"serve", "--netns", "--addr", "127.0.0.1:0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireMode(t, tc.mode)
			mark := newMark()
			args := append(tc.args, "--mode", tc.mode, "--workers", "2", "--worker-command", appCommand(detachingApp))
			if tc.args[0] == "serve" {
				args = append(args, "--", "sleep", "60") // a client that outlasts the test
			}
			cmd, _, _ := startTool(t, mark, args...)
			waitForMarked(t, mark, "sleep", 6) // three children of each worker app
			namespaces := namespacesOf(t, marked(t, mark))
			if len(namespaces) != 1 {
				t.Fatalf("processes in namespaces %v; want one private namespace", namespaces)
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			eventuallyNone(t, mark)
			eventuallyEmpty(t, namespaces)
		})
	}
}

// waitForMarked waits until n marked processes named name run.
func waitForMarked(t *testing.T, mark, name string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		found := 0
		for _, pid := range marked(t, mark) {
			if comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); strings.TrimSpace(string(comm)) == name {
				found++
			}
		}
		if found >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("fewer than %d %s processes started", n, name)
}

// TestFailingAppIsNamed runs an app that exits at once: each trial fails
// at once, and says how the app ended and what it wrote on stderr, in the
// record, the report and serve's stderr.
func TestFailingAppIsNamed(t *testing.T) {
	requireNetns(t)
	modes := []string{"shared", "nginx", "iptables"}
	for _, m := range modes {
		requireMode(t, m)
	}
	mark := newMark()
	dir := filepath.Join(t.TempDir(), "run")
	code, _, stderr := runTool(t, mark, 20*time.Second, "run", "-o", dir, "--mode", strings.Join(modes, ","), "--workers", "2",
		"--duration", "1s", "--warmup", "0s", "--worker-command", appCommand(failingApp))
	if code != exitFailed {
		t.Errorf("exit code %d; want %d\nstderr: %s", code, exitFailed, stderr)
	}
	r, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Trials) != len(modes) {
		t.Fatalf("%d trials; want %d", len(r.Trials), len(modes))
	}
	for _, tr := range r.Trials {
		if !strings.Contains(tr.Error, "exit status 7") || !strings.Contains(tr.Error, "boom-from-app") {
			t.Errorf("%s: error %q; want the app's exit status and stderr", tr.Mode, tr.Error)
		}
	}
	report, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(report), "boom-from-app") {
		t.Errorf("report.md does not quote the app's stderr")
	}

	code, _, stderr = runTool(t, mark, 20*time.Second, "serve", "--mode", "shared", "--workers", "2",
		"--addr", "127.0.0.1:0", "--worker-command", appCommand(failingApp), "--", "true")
	last := lastLineOf(stderr)
	if code == exitOK || !strings.Contains(last, "exit status 7") || !strings.Contains(last, "boom-from-app") {
		t.Errorf("serve: exit code %d, last line %q; want a failure naming the app's exit status and stderr", code, last)
	}
	eventuallyNone(t, mark)
}

// TestAppDyingWhileServingFailsTheTrial runs an app that serves, then
// dies, with no fault injected: behind a proxy, which answers for it, the
// trial is a failed one, never a measured one.
func TestAppDyingWhileServingFailsTheTrial(t *testing.T) {
	requireNetns(t)
	requirePython(t)
	requireMode(t, "nginx")
	dir := filepath.Join(t.TempDir(), "run")
	code, _, stderr := runTool(t, newMark(), 40*time.Second, "run", "-o", dir, "--mode", "nginx", "--workers", "2",
		"--duration", "2s", "--warmup", "0s", "--worker-command",
		appCommand(`(sleep 0.5; echo dying-app >&2; kill -9 $$) & exec python3 ../../examples/python/app.py`))
	if code != exitFailed {
		t.Errorf("exit code %d; want %d\nstderr: %s", code, exitFailed, stderr)
	}
	r, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Trials) != 1 || !strings.Contains(r.Trials[0].Error, "signal: killed") || !strings.Contains(r.Trials[0].Error, "dying-app") {
		t.Fatalf("trials %+v; want one failed, naming how the app died", r.Trials)
	}
}

func lastLineOf(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func requirePython(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("python3")
	nstest.Require(t, "python3", err)
}
