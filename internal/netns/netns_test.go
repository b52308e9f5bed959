package netns

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"clusterbench/internal/denyns"
	"clusterbench/internal/nstest"
)

// helperEnv makes the test binary act as a child instead of running tests.
const helperEnv = "NETNS_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helper(os.Getenv(helperEnv)))
	}
	os.Exit(m.Run())
}

// helper is the child: it reports what it sees on stdout.
func helper(role string) int {
	switch role {
	case "inside":
		if err := Init(); err != nil {
			os.Stdout.WriteString("init: " + err.Error())
			return 1
		}
		self, _ := current()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			os.Stdout.WriteString("listen: " + err.Error())
			return 1
		}
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			os.Stdout.WriteString("dial: " + err.Error())
			return 1
		}
		c.Close()
		os.Stdout.WriteString(self + " private=" + boolString(Private()))
	case "denied":
		if err := Available(); err != nil {
			os.Stdout.WriteString("unavailable: " + err.Error())
			return 0
		}
		os.Stdout.WriteString("available")
	}
	return 0
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func child(t *testing.T, role string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"="+role)
	return cmd
}

func requireNetns(t *testing.T) {
	t.Helper()
	nstest.Require(t, "network namespaces", Available())
}

func TestIsolatedChildHasItsOwnLoopback(t *testing.T) {
	requireNetns(t)
	cmd := child(t, "inside")
	if err := Isolate(cmd); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v: %s", err, out.String())
	}
	self, err := current()
	if err != nil {
		t.Fatal(err)
	}
	ns, private, _ := strings.Cut(out.String(), " ")
	if !strings.HasPrefix(ns, "net:[") || ns == self {
		t.Errorf("child's namespace %q, want a new one (mine is %s)", ns, self)
	}
	if private != "private=true" {
		t.Errorf("child reports %q, want private=true", private)
	}
}

func TestHostIsNotPrivate(t *testing.T) {
	if Private() {
		t.Fatal("the test process claims to be in a private namespace")
	}
	if err := Init(); err != nil {
		t.Fatalf("Init outside an isolated child must do nothing, got %v", err)
	}
}

// A process that did not get a new namespace (say, its environment was
// copied) must not set up or write rules in its parent's.
func TestInitRefusesTheCreatorsNamespace(t *testing.T) {
	self, err := current()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(envVar, fresh+self)
	if err := Init(); err == nil || !strings.Contains(err.Error(), "not a new one") {
		t.Fatalf("Init in the creator's namespace: got %v, want a refusal", err)
	}
	if Private() {
		t.Fatal("a refused namespace passes for private")
	}
}

// Where namespaces are forbidden, Available says so and why; checked for
// real under denyns.
func TestUnavailableSaysWhy(t *testing.T) {
	requireNetns(t) // denyns itself needs a user namespace
	cmd := child(t, "denied")
	if err := denyns.Wrap(cmd); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v: %s", err, errOut.String())
	}
	got := out.String()
	if !strings.HasPrefix(got, "unavailable: ") || !strings.Contains(got, "operation not permitted") {
		t.Fatalf("got %q, want unavailable because the operation is not permitted", got)
	}
}
