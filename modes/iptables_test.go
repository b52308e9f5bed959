package modes

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"clusterbench/internal/netns"
	"clusterbench/internal/nstest"
	"clusterbench/worker"
)

// inPrivateNetwork runs the calling (top-level) test again in a private
// network namespace and fails if that run fails. It reports whether this
// is the run inside, which goes on with the test.
func inPrivateNetwork(t *testing.T) bool {
	t.Helper()
	if netns.Private() {
		return true
	}
	nstest.Require(t, "network namespaces", netns.Available())
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	if err := netns.Isolate(cmd); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("in a private network namespace: %v\n%s", err, out)
	}
	t.Logf("passed in a private network namespace:\n%s", out)
	return false
}

func requireIPTables(t *testing.T) {
	t.Helper()
	nstest.Require(t, "the iptables mode", Available(IPTables{}))
}

// TestIPTablesSpreadsConnections deploys both policies with real workers
// and real rules: nth takes strict turns, random reaches every worker, the
// rules' own counters agree with the workers, and nothing is left after Stop.
func TestIPTablesSpreadsConnections(t *testing.T) {
	if !inPrivateNetwork(t) {
		return
	}
	requireIPTables(t)
	const workers, requests = 4, 400
	for _, name := range []string{"iptables:nth", "iptables:random"} {
		d := deployForTest(t, name, Config{Workers: workers, Work: worker.Work{BodyBytes: 16}})
		if !strings.Contains(nstest.NATRules(t), "-j clusterbench-") {
			t.Errorf("%s: no rules installed:\n%s", name, nstest.NATRules(t))
		}
		seen := get(t, d.Addr(), requests)
		rep, err := d.Stop(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range rep.Workers {
			got := uint64(seen[strconv.Itoa(i)])
			if w.Connections != got {
				t.Errorf("%s: worker %d counted %d connections; the client saw %d", name, i, w.Connections, got)
			}
			if dnat := rep.Frontend[fmt.Sprintf("dnat_worker_%d", i)]; dnat != got {
				t.Errorf("%s: rule for worker %d counted %d connections; the client saw %d", name, i, dnat, got)
			}
			switch {
			case name == "iptables:nth" && got != requests/workers:
				t.Errorf("%s: worker %d got %d connections; want exactly %d (all: %v)", name, i, got, requests/workers, seen)
			case got == 0:
				t.Errorf("%s: worker %d got no connection (all: %v)", name, i, seen)
			}
		}
		if rules := nstest.NATRules(t); strings.Contains(rules, "clusterbench") {
			t.Errorf("%s: rules left after Stop:\n%s", name, rules)
		}
	}
}

// TestIPTablesReplacementTakesThePort kills a worker; its replacement must
// listen on the port the rules point at, and get its turn again.
func TestIPTablesReplacementTakesThePort(t *testing.T) {
	if !inPrivateNetwork(t) {
		return
	}
	requireIPTables(t)
	d := deployForTest(t, "iptables:nth", Config{Workers: 3, Respawn: true, Logf: t.Logf})
	defer d.Stop(time.Second)
	before := d.PIDs()
	if err := syscall.Kill(before[1], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for d.PIDs()[1] == before[1] && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // until it listens
	seen := get(t, d.Addr(), 30)
	if seen["0"] != 10 || seen["1"] != 10 || seen["2"] != 10 {
		t.Errorf("after the replacement: %v; want 10 connections each", seen)
	}
}

// On the host, the mode refuses before touching the firewall.
func TestIPTablesRefusesTheHostNamespace(t *testing.T) {
	if netns.Private() {
		t.Fatal("this test must run in the host namespace")
	}
	var before string
	if _, err := exec.LookPath("iptables"); err == nil {
		before = nstest.NATRules(t)
	}
	spec, _ := ParseSpec("iptables")
	_, err := Deploy(t.Context(), spec, Config{Addr: "127.0.0.1:0", Workers: 2, Launcher: testLauncher()})
	if err == nil || !strings.Contains(err.Error(), "refusing to write firewall rules outside a private network namespace") {
		t.Fatalf("Deploy on the host: %v; want a refusal", err)
	}
	if before != "" && nstest.NATRules(t) != before {
		t.Errorf("host nat table changed:\n%s\nwas:\n%s", nstest.NATRules(t), before)
	}
}
