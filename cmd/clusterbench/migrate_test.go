package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"clusterbench/internal/denyns"
	"clusterbench/internal/nstest"
	"clusterbench/modes"
	"clusterbench/results"
)

// hostMigrateSetting is the host's net.ipv4.tcp_migrate_req, which nothing
// may change; "" where the kernel has none.
func hostMigrateSetting(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(modes.MigrateSysctl)
	if os.IsNotExist(err) {
		return ""
	} else if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// TestReusePortMigrateInTrialNamespace runs reuseport:migrate: while the
// trial runs, tcp_migrate_req is on in its network namespace and as it was
// on the host, and the trial measures with client and workers agreeing.
func TestReusePortMigrateInTrialNamespace(t *testing.T) {
	requireNetns(t)
	requireMode(t, "reuseport:migrate")
	host := hostMigrateSetting(t)
	mark := strconv.FormatInt(time.Now().UnixNano(), 36)
	dir := filepath.Join(t.TempDir(), "run")
	cmd, stdout, stderr := startTool(t, mark, "run", "-o", dir, "--mode", "reuseport:migrate", "--workers", "4",
		"--keepalive=false", "--duration", "3s", "--warmup", "0s", "--concurrency", "4")
	waitForDeployment(t, mark, 7) // tool, trial, serve, 4 workers
	mine := myNetns(t)
	inside := ""
	for _, pid := range marked(t, mark) {
		if ns, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/net"); err != nil || ns == mine {
			continue
		}
		out, err := exec.Command("nsenter", "--net=/proc/"+strconv.Itoa(pid)+"/ns/net", "cat", modes.MigrateSysctl).Output()
		if err != nil {
			t.Fatalf("read tcp_migrate_req in pid %d's namespace: %v", pid, err)
		}
		inside = strings.TrimSpace(string(out))
		break
	}
	if inside != "1" {
		t.Errorf("tcp_migrate_req in the trial's namespace is %q; want 1", inside)
	}
	if now := hostMigrateSetting(t); now != host {
		t.Errorf("the host's tcp_migrate_req went from %s to %s", host, now)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
	}
	r, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Trials) != 1 {
		t.Fatalf("%d trials, skipped %+v; want one", len(r.Trials), r.Skipped)
	}
	tr := r.Trials[0]
	if tr.Mode != "reuseport" || tr.Policy != modes.Migrate || !tr.NetNS {
		t.Errorf("trial of %s in a private namespace %v; want reuseport:migrate in one", tr.Label(), tr.NetNS)
	}
	if tr.Failed() || tr.Successes == 0 || tr.Errors != 0 || !tr.CountsAgree {
		t.Errorf("error %q, %d successes, %d errors, counts agree %v %v", tr.Error, tr.Successes, tr.Errors, tr.CountsAgree, tr.Mismatches)
	}
	if now := hostMigrateSetting(t); now != host {
		t.Errorf("the host's tcp_migrate_req went from %s to %s after the run", host, now)
	}
}

// TestModesSaysWhyMigrateCannotRun: where the kernel has no
// tcp_migrate_req (here hidden under an empty directory, in a mount
// namespace of the test's own), or namespaces are not allowed, `modes`
// says that reuseport runs but its policy migrate does not, and why.
func TestModesSaysWhyMigrateCannotRun(t *testing.T) {
	requireNetns(t)
	for _, tt := range []struct {
		name, want string
		command    []string
		deny       bool
	}{
		{"no sysctl", "reuseport none (default), migrate (not here: the kernel has no net.ipv4.tcp_migrate_req (Linux 5.14 or later)",
			[]string{"unshare", "--mount", "sh", "-c", `mount -t tmpfs none /proc/sys/net/ipv4 && exec "$0" modes`, os.Args[0]}, false},
		{"namespaces not allowed", "reuseport none (default), migrate (not here: needs a private network namespace: cannot create a network namespace (operation not permitted)",
			[]string{os.Args[0], "modes"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(tt.command[0], tt.command[1:]...)
			if tt.deny {
				if err := denyns.Wrap(cmd); err != nil {
					t.Fatal(err)
				}
			} else if os.Getuid() != 0 {
				nstest.Require(t, "hiding a sysctl", errors.New("mounting over /proc/sys needs root"))
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("modes: %v\n%s", err, out)
			}
			flat := strings.Join(strings.Fields(strings.NewReplacer("│", " ").Replace(string(out))), " ")
			if !strings.Contains(flat, tt.want) {
				t.Errorf("modes does not say %q:\n%s", tt.want, out)
			}
		})
	}
}
