package modes

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"clusterbench/internal/nstest"
	"clusterbench/worker"
)

func requireProxy(t *testing.T, m Mode) {
	t.Helper()
	nstest.Require(t, "the "+m.Info().Name+" mode", Available(m))
}

// TestProxiesSpreadAndLeaveNothing deploys each proxy with real workers
// behind it: one proxy process takes strict turns, both sides count the
// same, the proxy's CPU is measured, and after Stop no process of the
// proxy is left.
func TestProxiesSpreadAndLeaveNothing(t *testing.T) {
	const workers, requests = 4, 200
	for _, name := range []string{"nginx", "nginx:least_conn", "haproxy", "haproxy:leastconn"} {
		t.Run(name, func(t *testing.T) {
			spec, err := ParseSpec(name)
			if err != nil {
				t.Fatal(err)
			}
			requireProxy(t, spec.Mode)
			d := deployForTest(t, name, Config{Workers: workers, ProxyProcesses: 1, Work: worker.Work{BodyBytes: 16}})
			f := d.frontend.(*proxyFrontend)
			proxyPIDs := []int{f.cmd.Process.Pid}
			for _, pid := range childPIDs(f.cmd.Process.Pid) {
				proxyPIDs = append(proxyPIDs, pid)
				proxyPIDs = append(proxyPIDs, childPIDs(pid)...)
			}
			if len(proxyPIDs) < 2 {
				t.Fatalf("found no proxy process under unshare (pid %d)", f.cmd.Process.Pid)
			}
			seen := get(t, d.Addr(), requests)
			rep, err := d.Stop(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range rep.Workers {
				got := uint64(seen[strconv.Itoa(i)])
				if w.Requests != got {
					t.Errorf("worker %d counted %d requests; the client saw %d", i, w.Requests, got)
				}
				// One request at a time through one proxy process: strict turns.
				if got != requests/workers {
					t.Errorf("worker %d got %d of %d requests; want %d (all: %v)", i, got, requests, requests/workers, seen)
				}
			}
			if rep.ProxyCPUSeconds <= 0 {
				t.Errorf("proxy CPU %v; want it measured", rep.ProxyCPUSeconds)
			}
			for _, pid := range proxyPIDs {
				if alive(pid) {
					t.Errorf("proxy process %d still running after Stop", pid)
				}
			}
		})
	}
}

// A proxy that cannot start is reported with its own message, and leaves
// nothing behind.
func TestProxyStartFailureSaysWhy(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tt := range []struct{ mode, want string }{
		{"nginx", "Address already in use"},
		{"haproxy", "cannot bind socket"},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			spec, _ := ParseSpec(tt.mode)
			requireProxy(t, spec.Mode)
			_, err := Deploy(t.Context(), spec, Config{Addr: taken.Addr().String(), Workers: 2, Launcher: testLauncher()})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.mode+": did not start") {
				t.Fatalf("Deploy on a taken port: %v; want %s's own message (%q)", err, tt.mode, tt.want)
			}
		})
	}
}

// alive reports whether pid runs (a zombie does not count).
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err == nil && !strings.Contains(string(stat), ") Z ")
}

func TestMapsEveryID(t *testing.T) {
	for _, tt := range []struct {
		uidMap string
		want   bool
	}{
		{"         0          0 4294967295\n", true},
		{"         0      65534          1\n", false}, // an unprivileged user namespace's root
		{"     65534          0          1\n", false}, // nobody in a proxy's own namespace
		{"         0          0      65536\n", false},
		{"", false},
	} {
		if got := mapsEveryID(tt.uidMap); got != tt.want {
			t.Errorf("mapsEveryID(%q) = %v; want %v", tt.uidMap, got, tt.want)
		}
	}
}
