package modes

import (
	"io"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"clusterbench/worker"
)

// TestMain lets the test binary act as the worker app.
func TestMain(m *testing.M) {
	if os.Getenv("CLUSTERBENCH_TEST_WORKER") == "1" {
		if err := worker.Main(os.Args[1:]); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func testLauncher() worker.Launcher {
	return worker.Launcher{Command: []string{os.Args[0]}, Env: []string{"CLUSTERBENCH_TEST_WORKER=1"}, Stderr: os.Stderr}
}

func TestRegistry(t *testing.T) {
	for _, name := range []string{"shared", "reuseport"} {
		m, err := Lookup(name)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", name, err)
		}
		if m.Name() != name || m.Summary() == "" {
			t.Errorf("mode %q: name %q, summary %q", name, m.Name(), m.Summary())
		}
		if err := Available(m); err != nil {
			t.Errorf("mode %q not available on this Linux host: %v", name, err)
		}
	}
	if _, err := Lookup("nope"); err == nil {
		t.Error(`Lookup("nope") succeeded`)
	}
}

// TestDeploy runs each mode with real worker processes and real sockets,
// and checks that every connection is served and counted exactly once.
func TestDeploy(t *testing.T) {
	const workers, requests = 4, 400
	for _, name := range []string{"shared", "reuseport"} {
		t.Run(name, func(t *testing.T) {
			m, _ := Lookup(name)
			d, err := Deploy(t.Context(), m, Config{Addr: "127.0.0.1:0", Workers: workers, Handler: worker.Handler{BodyBytes: 16}, Launcher: testLauncher()})
			if err != nil {
				t.Fatal(err)
			}
			pids := d.PIDs()
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			seen := map[string]int{}
			for range requests {
				resp, err := client.Get("http://" + d.Addr() + "/")
				if err != nil {
					d.Stop(time.Second)
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				seen[resp.Header.Get(worker.HeaderWorker)]++
			}
			results, err := d.Stop(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			var total uint64
			for i, r := range results {
				if r.Index != i || r.PID != pids[i] {
					t.Errorf("result %d is worker %d pid %d; want worker %d pid %d", i, r.Index, r.PID, i, pids[i])
				}
				if got := uint64(seen[strconv.Itoa(i)]); r.Requests != got || r.Connections != got {
					t.Errorf("worker %d counted %d requests, %d connections; the client saw %d of each", i, r.Requests, r.Connections, got)
				}
				total += r.Requests
			}
			if total != requests {
				t.Errorf("workers served %d requests in all; want %d", total, requests)
			}
			if name == "reuseport" && len(seen) < 2 {
				// 400 connections from distinct source ports hash to one of 4 sockets each.
				t.Errorf("reuseport sent all connections to %v; want them spread", seen)
			}
			for _, pid := range pids {
				if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
					t.Errorf("worker pid %d still running after Stop", pid)
				}
			}
		})
	}
}

func TestDeployFailsCleanlyOnTakenAddress(t *testing.T) {
	m, _ := Lookup("shared")
	first, err := Deploy(t.Context(), m, Config{Addr: "127.0.0.1:0", Workers: 1, Launcher: testLauncher()})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Stop(time.Second)
	if _, err := Deploy(t.Context(), m, Config{Addr: first.Addr(), Workers: 1, Launcher: testLauncher()}); err == nil {
		t.Error("a second deployment on a taken address succeeded")
	}
}

func TestDeployRejectsZeroWorkers(t *testing.T) {
	m, _ := Lookup("reuseport")
	if _, err := Deploy(t.Context(), m, Config{Addr: "127.0.0.1:0", Workers: 0, Launcher: testLauncher()}); err == nil {
		t.Error("Deploy with 0 workers succeeded")
	}
}
