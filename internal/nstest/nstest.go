// Package nstest holds what the tests of namespaces and firewall rules
// share: the rule for a missing prerequisite, and a look at the nat table.
package nstest

import (
	"os"
	"os/exec"
	"testing"
)

// Require stops a test whose prerequisite (what) is missing, as err says:
// it fails in CI, which installs everything, and skips with the reason
// elsewhere.
func Require(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI must provide %s: %v", what, err)
	}
	t.Skipf("%s not available here: %v", what, err)
}

// NATRules is `iptables -t nat -S` in this process's network namespace.
func NATRules(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("iptables", "-w", "-t", "nat", "-S").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables -t nat -S: %v: %s", err, out)
	}
	return string(out)
}
