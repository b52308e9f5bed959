package main

import (
	"bytes"
	"errors"
	"io"
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

// asNobody returns a command that runs this test binary as the user
// nobody, from a copy that nobody may execute, in a directory nobody may
// write to (returned too).
func asNobody(t *testing.T, mark string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	var err error
	if os.Geteuid() != 0 {
		err = errors.New("only root can run a test as another user")
	}
	nstest.Require(t, "root, to run the tool as nobody", err)
	dir, err := os.MkdirTemp("", "clusterbench-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	self, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	binary := filepath.Join(dir, "clusterbench.test")
	copied, err := os.OpenFile(binary, os.O_CREATE|os.O_WRONLY, 0o755)
	if err == nil {
		_, err = io.Copy(copied, self)
		err = errors.Join(err, copied.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CLUSTERBENCH_TEST_MARK="+mark, "HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	return cmd, dir
}

// TestModesTellNobodyTheTruth: for a user other than root, every mode (and policy) that
// `modes` calls available measures its trial, and every other one is
// skipped with its reason; none fails.
func TestModesTellNobodyTheTruth(t *testing.T) {
	mark := strconv.FormatInt(time.Now().UnixNano(), 36)
	cmd, _ := asNobody(t, mark, "modes")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("modes as nobody: %v\n%s", err, out)
	}
	available := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if cells := strings.Split(line, "│"); len(cells) > 3 && strings.TrimSpace(cells[3]) == "yes" {
			available[strings.TrimSpace(cells[1])] = true
		}
	}

	cmd, dir := asNobody(t, mark, "run", "-o", "run", "--mode", strings.Join(everySpec(t), ","), "--workers", "2",
		"--duration", "300ms", "--warmup", "0s", "--concurrency", "4")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		t.Errorf("run as nobody: %v\n%s", err, stderr.String())
	}
	eventuallyNone(t, mark)
	r, err := results.Read(filepath.Join(dir, "run"))
	if err != nil {
		t.Fatal(err)
	}
	measured := map[string]bool{}
	for _, tr := range r.Trials {
		if tr.Failed() {
			t.Errorf("%s failed as nobody, although modes said %v: %s", tr.Mode, available[tr.Mode], tr.Error)
		} else {
			measured[tr.Mode] = true
		}
	}
	for _, s := range r.Skipped {
		name, _, _ := strings.Cut(s.Mode, ":")
		if available[name] {
			t.Errorf("%s was skipped as nobody, although modes said it runs: %s", s.Mode, s.Reason)
		}
	}
	if len(available) == 0 {
		t.Fatalf("modes as nobody lists no available mode:\n%s", out)
	}
	for name := range available {
		found := false
		for mode := range measured {
			found = found || strings.Split(mode, ":")[0] == name
		}
		if !found {
			t.Errorf("modes says %s runs for nobody, but no trial of it was measured", name)
		}
	}
}
