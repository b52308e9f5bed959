package modes

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"clusterbench/internal/leakcheck"
	"clusterbench/internal/netns"
	"clusterbench/internal/nstest"
	"clusterbench/internal/supervise"
	"clusterbench/worker"
)

// TestMain lets the test binary act as the worker app, and as a test run
// again in a private network namespace (see inPrivateNetwork).
func TestMain(m *testing.M) {
	if err := netns.Init(); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	if os.Getenv("CLUSTERBENCH_TEST_WORKER") == "1" {
		if err := worker.Main(os.Args[1:]); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func testLauncher() supervise.Launcher {
	return supervise.Launcher{Command: []string{os.Args[0]}, Env: []string{"CLUSTERBENCH_TEST_WORKER=1"}, Stderr: os.Stderr}
}

// deployForTest starts the mode named MODE or MODE:POLICY on a free
// loopback port with the test binary as its workers, or fails the test.
func deployForTest(t *testing.T, name string, cfg Config) *Deployment {
	t.Helper()
	spec, err := ParseSpec(name)
	if err != nil {
		t.Fatal(err)
	}
	nstest.Require(t, "mode "+name, SpecAvailable(spec))
	cfg.Addr, cfg.Launcher = "127.0.0.1:0", testLauncher()
	d, err := Deploy(t.Context(), spec, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRegistry(t *testing.T) {
	for _, name := range []string{"shared", "reuseport", "roundrobin"} {
		m, err := Lookup(name)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", name, err)
		}
		if info := m.Info(); info.Name != name || info.Summary == "" {
			t.Errorf("mode %q: name %q, summary %q", name, info.Name, info.Summary)
		}
		if err := Available(m); err != nil {
			t.Errorf("mode %q not available on this Linux host: %v", name, err)
		}
	}
	if _, err := Lookup("nope"); err == nil {
		t.Error(`Lookup("nope") succeeded`)
	}
}

// TestEvery: every mode and policy once, each as ParseSpec reads it.
func TestEvery(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Specs() {
		again, err := ParseSpec(s.String())
		if err != nil || again != s || seen[s.String()] {
			t.Errorf("%s: read back as %v (%v), or listed twice", s, again, err)
		}
		seen[s.String()] = true
	}
	for _, want := range []string{"reuseport", "roundrobin:rotate", "shared:race", "shared:exclusive", "shared:blocking"} {
		if !seen[want] {
			t.Errorf("Specs() lacks %s: %v", want, Specs())
		}
	}
}

func TestParseSpec(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{"shared", "shared:race", ""},
		{"shared:exclusive", "shared:exclusive", ""},
		{"roundrobin", "roundrobin:free", ""},
		{"roundrobin:rotate", "roundrobin:rotate", ""},
		{"roundrobin:fastest", "", `mode "roundrobin" has no policy "fastest" (known: free, rotate)`},
		{"node-rr:rotate", "", `mode "node-rr" has no policies, got "node-rr:rotate"`},
		{"reuseport", "reuseport", ""}, // its default has no name
		{"reuseport:", "reuseport", ""},
		{"reuseport:migrate", "reuseport:migrate", ""},
		{"reuseport:rotate", "", `mode "reuseport" has no policy "rotate" (known: migrate, or none)`},
		{"warp:free", "", `unknown mode "warp"`},
	} {
		spec, err := ParseSpec(tt.in)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseSpec(%q) error %v; want %q", tt.in, err, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("ParseSpec(%q): %v", tt.in, err)
		case tt.err == "" && spec.String() != tt.want:
			t.Errorf("ParseSpec(%q) = %s; want %s", tt.in, spec, tt.want)
		}
	}
}

// TestDeploy runs each mode with real worker processes and real sockets,
// and checks that every connection is served and counted exactly once.
func TestDeploy(t *testing.T) {
	const workers, requests = 4, 400
	for _, name := range []string{"shared", "shared:exclusive", "shared:blocking", "reuseport", "roundrobin:free", "roundrobin:rotate"} {
		t.Run(name, func(t *testing.T) {
			d := deployForTest(t, name, Config{Workers: workers, Work: worker.Work{BodyBytes: 16}})
			pids := d.PIDs()
			seen := get(t, d.Addr(), requests)
			rep, err := d.Stop(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			var total uint64
			for i, r := range rep.Workers {
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
			if strings.HasPrefix(name, "roundrobin") {
				// One request at a time: every worker has acknowledged its
				// last connection before the next arrives, so both policies
				// take strict turns.
				for i := range workers {
					if got := seen[strconv.Itoa(i)]; got != requests/workers {
						t.Errorf("worker %d got %d connections; want %d (all: %v)", i, got, requests/workers, seen)
					}
				}
				if rep.Frontend["accepted"] != requests || rep.Frontend["handed"] != requests {
					t.Errorf("master counted %v; want %d accepted and handed", rep.Frontend, requests)
				}
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
	first, err := Deploy(t.Context(), Spec{Mode: m}, Config{Addr: "127.0.0.1:0", Workers: 1, Launcher: testLauncher()})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Stop(time.Second)
	if _, err := Deploy(t.Context(), Spec{Mode: m}, Config{Addr: first.Addr(), Workers: 1, Launcher: testLauncher()}); err == nil {
		t.Error("a second deployment on a taken address succeeded")
	}
}

func TestDeployRejectsZeroWorkers(t *testing.T) {
	m, _ := Lookup("reuseport")
	if _, err := Deploy(t.Context(), Spec{Mode: m}, Config{Addr: "127.0.0.1:0", Workers: 0, Launcher: testLauncher()}); err == nil {
		t.Error("Deploy with 0 workers succeeded")
	}
}

// get sends n requests one at a time without keep-alive and counts them by worker.
func get(t *testing.T, addr string, n int) map[string]int {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	seen := map[string]int{}
	for range n {
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		seen[resp.Header.Get(worker.HeaderWorker)]++
	}
	return seen
}

// load sends requests without keep-alive until stop is closed, and returns
// how many each worker served and how many failed.
func load(addr string, stop <-chan struct{}) (seen map[string]int, failed int) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	seen = map[string]int{}
	for {
		select {
		case <-stop:
			return seen, failed
		default:
		}
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			failed++
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		seen[resp.Header.Get(worker.HeaderWorker)]++
	}
}

// TestRoundRobinWorkerDiesMidRun kills a worker under load: the master must
// stop handing it connections, a replacement must take its place and be
// served to, and the deployment must record it.
func TestRoundRobinWorkerDiesMidRun(t *testing.T) {
	for _, respawn := range []bool{true, false} {
		t.Run(fmt.Sprintf("respawn=%v", respawn), func(t *testing.T) {
			d := deployForTest(t, "roundrobin:free", Config{Workers: 3, Respawn: respawn, Logf: t.Logf})
			before := d.PIDs()
			stop := make(chan struct{})
			type outcome struct {
				seen   map[string]int
				failed int
			}
			done := make(chan outcome)
			go func() {
				seen, failed := load(d.Addr(), stop)
				done <- outcome{seen, failed}
			}()
			time.Sleep(300 * time.Millisecond)
			if err := syscall.Kill(before[1], syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for respawn && d.PIDs()[1] == before[1] && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(500 * time.Millisecond) // load on the replacement, or on the survivors
			afterKill := d.PIDs()
			close(stop)
			out := <-done
			rep, err := d.Stop(5 * time.Second)

			if respawn {
				if err != nil {
					t.Errorf("Stop: %v", err)
				}
				if afterKill[1] == before[1] {
					t.Fatal("worker 1 was not replaced")
				}
				if len(rep.Restarts) != 1 || rep.Restarts[0].Worker != 1 || rep.Restarts[0].PID != before[1] ||
					rep.Restarts[0].ReplacementPID != afterKill[1] || rep.Restarts[0].Exit != "signal: killed" || rep.Restarts[0].Error != "" {
					t.Errorf("restarts %+v; want worker 1 (pid %d) killed and replaced by pid %d", rep.Restarts, before[1], afterKill[1])
				}
				if rep.Workers[1].Restarts != 1 || rep.Workers[1].PID != afterKill[1] {
					t.Errorf("worker 1 result %+v; want 1 restart, pid %d", rep.Workers[1], afterKill[1])
				}
			} else {
				if err != nil {
					t.Errorf("Stop: %v; want a death it noticed left to the restarts", err)
				}
				if len(rep.Restarts) != 1 || rep.Restarts[0].Error != "respawn is off" {
					t.Errorf("restarts %+v; want one, not replaced", rep.Restarts)
				}
				if p := rep.Workers[1].Processes; len(p) != 1 || p[0].Final || p[0].PID != before[1] {
					t.Errorf("worker 1 processes %+v; want the dead one, without final counts", p)
				}
			}
			if rep.Frontend["workers_gone"] != 1 {
				t.Errorf("master counted %v; want 1 worker gone", rep.Frontend)
			}
			// Only requests the dying worker was serving may fail: the
			// master hands it nothing more.
			if out.failed > 2 {
				t.Errorf("%d requests failed around the kill; want at most 2", out.failed)
			}
			total := out.seen["0"] + out.seen["1"] + out.seen["2"]
			if total < 100 {
				t.Fatalf("only %d requests served: %v", total, out.seen)
			}
			// With a replacement every worker keeps its share; without, the
			// survivors take all after the kill.
			served := rep.Workers[1].Requests
			if respawn && served <= rep.Workers[0].Requests/4 {
				t.Errorf("worker 1 served %d of %v after its replacement; want its share", served, out.seen)
			}
		})
	}
}

// TestRoundRobinLeaksNoDescriptors counts the master's open descriptors
// (this test process is the master) before and after a deployment that
// served load and lost a worker.
func TestRoundRobinLeaksNoDescriptors(t *testing.T) {
	checkFDs := leakcheck.FDs(t)
	d := deployForTest(t, "roundrobin:rotate", Config{Workers: 4, Respawn: true})
	stop := make(chan struct{})
	done := make(chan map[string]int)
	go func() {
		seen, _ := load(d.Addr(), stop)
		done <- seen
	}()
	time.Sleep(200 * time.Millisecond)
	syscall.Kill(d.PIDs()[2], syscall.SIGKILL)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	seen := <-done
	rep, err := d.Stop(5 * time.Second)
	if err != nil {
		t.Error(err)
	}
	if rep.Frontend["accepted"] < 50 {
		t.Errorf("master accepted %d connections (client saw %v); want a real load", rep.Frontend["accepted"], seen)
	}
	checkFDs()
}

// TestKillEveryWorkerClosesThePort: with respawn off and every worker
// killed, the deployment closes its port, so a new connection is refused
// rather than left waiting, and its deaths are not a stop error.
func TestKillEveryWorkerClosesThePort(t *testing.T) {
	// The modes that hold the public socket themselves; Node's primary closes it on its own.
	for _, mode := range []string{"shared", "roundrobin", "node-rr", "node-none"} {
		t.Run(mode, func(t *testing.T) {
			d := deployForTest(t, mode, Config{Workers: 2, Respawn: false, Logf: t.Logf})
			pids := d.PIDs()
			f, err := d.Kill(2, syscall.SIGKILL)
			if err != nil || len(f.PIDs) != 2 || f.PIDs[0] != pids[0] || f.Signal != "SIGKILL" {
				t.Fatalf("Kill = %+v, %v; want both workers %v", f, err, pids)
			}
			var dialErr error
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				var c net.Conn
				// A connection caught as the port closes is reset, not refused: try again.
				if c, dialErr = net.DialTimeout("tcp", d.Addr(), time.Second); errors.Is(dialErr, syscall.ECONNREFUSED) {
					break
				}
				if c != nil {
					c.Close()
				}
			}
			if !errors.Is(dialErr, syscall.ECONNREFUSED) {
				t.Errorf("dial after every worker died: %v; want connection refused", dialErr)
			}
			// Node's primary closes the port as the last worker exits, and
			// tells of the exit once the worker's channel is drained.
			time.Sleep(100 * time.Millisecond)
			rep, err := d.Stop(5 * time.Second)
			if err != nil {
				t.Errorf("Stop: %v; want the recorded deaths left to the restarts", err)
			}
			if rep.PortClosed.IsZero() || rep.PortClosed.Before(f.At) || len(rep.Faults) != 1 {
				t.Errorf("port closed %v, faults %+v; want closed after the kill at %v", rep.PortClosed, rep.Faults, f.At)
			}
			if len(rep.Restarts) != 2 {
				t.Errorf("%d restarts; want both killed workers", len(rep.Restarts))
			}
			for _, r := range rep.Restarts {
				if !r.Killed || r.Error != "respawn is off" {
					t.Errorf("restart %+v; want killed on purpose and not replaced", r)
				}
			}
		})
	}
}

// TestRespawnDelay: a killed worker's replacement starts only after the delay.
func TestRespawnDelay(t *testing.T) {
	d := deployForTest(t, "reuseport", Config{Workers: 2, Respawn: true, RespawnDelay: 300 * time.Millisecond, Logf: t.Logf})
	f, err := d.Kill(1, syscall.SIGKILL)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for d.PIDs()[0] == f.PIDs[0] && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // until it is ready
	rep, err := d.Stop(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Restarts) != 1 || rep.Restarts[0].ReadyAt.Sub(f.At) < 300*time.Millisecond || !rep.Restarts[0].Killed {
		t.Errorf("restarts %+v; want the replacement ready no sooner than 300ms after the kill at %v", rep.Restarts, f.At)
	}
}
