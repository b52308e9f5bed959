package modes

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"clusterbench/internal/netns"
	"clusterbench/internal/nstest"
)

// migrateSetting reads net.ipv4.tcp_migrate_req in this process's namespace.
func migrateSetting(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(MigrateSysctl)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// TestReusePortMigrateRefusesTheHost: outside a private network namespace
// the policy refuses to open, and the host's setting stays as it was.
func TestReusePortMigrateRefusesTheHost(t *testing.T) {
	if netns.Private() {
		t.Skip("runs on the host's namespace only")
	}
	nstest.Require(t, "reuseport:migrate", SpecAvailable(Spec{Mode: ReusePort{}, Policy: Migrate}))
	before := migrateSetting(t)
	fe, err := ReusePort{}.Open(Setup{Addr: "127.0.0.1:0", Workers: 2, Policy: Migrate})
	if err == nil {
		fe.Close()
		t.Fatal("reuseport:migrate opened outside a private network namespace")
	}
	if !strings.Contains(err.Error(), "outside a private network namespace") {
		t.Errorf("error %q; want it to say why", err)
	}
	if after := migrateSetting(t); after != before {
		t.Errorf("the host's tcp_migrate_req went from %s to %s", before, after)
	}
}

// TestReusePortMigrateSetsItsNamespace deploys both policies with real
// workers in a private namespace: migrate turns the sysctl on there, and
// both serve; the host's setting is not touched.
func TestReusePortMigrateSetsItsNamespace(t *testing.T) {
	nstest.Require(t, "reuseport:migrate", SpecAvailable(Spec{Mode: ReusePort{}, Policy: Migrate}))
	host := ""
	if !netns.Private() {
		host = migrateSetting(t)
	}
	if !inPrivateNetwork(t) {
		if after := migrateSetting(t); after != host {
			t.Errorf("the host's tcp_migrate_req went from %s to %s", host, after)
		}
		return
	}
	if got := migrateSetting(t); got != "0" {
		t.Fatalf("a new namespace has tcp_migrate_req %s; want the kernel's default, 0", got)
	}
	d := deployForTest(t, "reuseport:migrate", Config{Workers: 2})
	if got := migrateSetting(t); got != "1" {
		t.Errorf("tcp_migrate_req is %s under reuseport:migrate; want 1", got)
	}
	if seen := get(t, d.Addr(), 20); len(seen) == 0 {
		t.Error("reuseport:migrate served nothing")
	}
	acc, err := d.Stop(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var served uint64
	for _, w := range acc.Workers {
		served += w.Requests
	}
	if served != 20 {
		t.Errorf("the workers counted %d requests; want the 20 sent", served)
	}
}

// TestSpecsListEveryPolicy: the tests that cover every mode run Specs, so
// it must hold each mode once per policy, or once if it has none.
func TestSpecsListEveryPolicy(t *testing.T) {
	var got []string
	for _, s := range Specs() {
		got = append(got, s.String())
	}
	want := 0
	for _, name := range Names() {
		m, _ := Lookup(name)
		want += max(1, len(m.Info().Policies))
	}
	if len(got) != want {
		t.Errorf("%d specs %v; want %d", len(got), got, want)
	}
	for _, s := range []string{"reuseport", "reuseport:migrate", "roundrobin:free", "roundrobin:rotate", "shared:race", "single"} {
		if !slices.Contains(got, s) {
			t.Errorf("specs %v lack %s", got, s)
		}
	}
}
