package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"clusterbench/internal/denyns"
	"clusterbench/internal/netns"
	"clusterbench/internal/nstest"
	"clusterbench/modes"
	"clusterbench/results"
	"clusterbench/trial"
)

// testClient is a stand-in for wrk under `serve -- CMD`: it sends n
// requests one at a time (or, for "forever", until SIGINT) to
// $CLUSTERBENCH_URL, and says on stderr how many and from which namespace.
func testClient(n string) int {
	limit, _ := strconv.Atoi(n)
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, os.Interrupt)
	ns, _ := os.Readlink("/proc/self/ns/net")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	sent := 0
	for ; n == "forever" || sent < limit; sent++ {
		select {
		case <-interrupted:
			fmt.Fprintf(os.Stderr, "client: %d requests from %s, interrupted\n", sent, ns)
			return 0
		default:
		}
		resp, err := client.Get(os.Getenv("CLUSTERBENCH_URL"))
		if err != nil {
			fmt.Fprintf(os.Stderr, "client: %v\n", err)
			return 1
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if sent == 0 {
			fmt.Fprintf(os.Stderr, "client: started in %s\n", ns)
		}
	}
	fmt.Fprintf(os.Stderr, "client: %d requests from %s\n", sent, ns)
	return 0
}

func requireNetns(t *testing.T) {
	t.Helper()
	nstest.Require(t, "network namespaces", netns.Available())
}

// requireMode stops a test whose mode cannot run here (see nstest.Require).
func requireMode(t *testing.T, name string) {
	t.Helper()
	spec, err := modes.ParseSpec(name)
	if err != nil {
		t.Fatal(err)
	}
	nstest.Require(t, "the "+name+" mode", modes.SpecAvailable(spec))
}

// noProxyFiles checks that no proxy wrote its files on the host: they
// belong in the proxy's private tmpfs.
func noProxyFiles(t *testing.T) {
	t.Helper()
	for _, name := range []string{"nginx.conf", "nginx.pid", "haproxy.cfg", "proxy", "client_body"} {
		if _, err := os.Stat(filepath.Join(os.TempDir(), name)); err == nil {
			t.Errorf("%s left in %s", name, os.TempDir())
		}
	}
}

// hostNAT is the host's nat table, which nothing may change.
func hostNAT(t *testing.T) string { return nstest.NATRules(t) }

func myNetns(t *testing.T) string {
	t.Helper()
	ns, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// namespacesOf lists the network namespaces of processes, other than ours.
func namespacesOf(t *testing.T, pids []int) map[string]bool {
	t.Helper()
	mine := myNetns(t)
	found := map[string]bool{}
	for _, pid := range pids {
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid)); err == nil && ns != mine {
			found[ns] = true
		}
	}
	return found
}

// processesIn lists every live process in one of the namespaces, as
// "pid (name) state". A network namespace without processes (and without
// mounts or open handles, which clusterbench never makes) is gone.
func processesIn(namespaces map[string]bool) []string {
	entries, _ := os.ReadDir("/proc")
	var found []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		ns, err := os.Readlink("/proc/" + e.Name() + "/ns/net")
		stat, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err == nil && namespaces[ns] && !bytes.Contains(stat, []byte(") Z ")) {
			found = append(found, strings.Join(strings.Fields(string(stat))[:3], " "))
		}
	}
	return found
}

// eventuallyEmpty waits briefly for the namespaces' last processes to
// finish exiting, and fails if any stay.
func eventuallyEmpty(t *testing.T, namespaces map[string]bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if len(processesIn(namespaces)) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("processes left in the private namespace %v: %v", namespaces, processesIn(namespaces))
}

// TestServeIPTablesWithClient runs a client command against the iptables
// mode, as a user would run wrk: the deployment, its rules and the client
// share a private namespace, and the host's firewall never changes.
func TestServeIPTablesWithClient(t *testing.T) {
	requireMode(t, "iptables")
	before := hostNAT(t)
	mark := strconv.FormatInt(time.Now().UnixNano(), 36)
	const requests = 400
	cmd := exec.Command(os.Args[0], "serve", "--mode", "iptables", "--workers", "4", "--json", "--", os.Args[0])
	cmd.Env = append(os.Environ(), "CLUSTERBENCH_TEST_MARK="+mark, "CLUSTERBENCH_TEST_CLIENT="+strconv.Itoa(requests))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("serve: %v\n%s", err, stderr.String())
	}
	var rep trial.ServeAccount
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("serve --json printed %q: %v", stdout.String(), err)
	}
	if rep.Mode != "iptables" || rep.Policy != "nth" || len(rep.Workers) != 4 {
		t.Fatalf("report %+v; want iptables:nth with 4 workers", rep)
	}
	for i, w := range rep.Workers {
		// One request at a time: nth takes strict turns.
		if w.Requests != requests/4 || rep.Frontend[fmt.Sprintf("dnat_worker_%d", i)] != requests/4 {
			t.Errorf("worker %d served %d, its rule counted %d; want %d each", i, w.Requests, rep.Frontend[fmt.Sprintf("dnat_worker_%d", i)], requests/4)
		}
	}
	if !strings.Contains(stderr.String(), fmt.Sprintf("client: %d requests from net:[", requests)) || strings.Contains(stderr.String(), myNetns(t)) {
		t.Errorf("the client did not run in a namespace of its own: %s", stderr.String())
	}
	if after := hostNAT(t); after != before {
		t.Errorf("host nat table changed:\n%s\nwas:\n%s", after, before)
	}
	eventuallyNone(t, mark)
}

// TestServeNetnsInterrupted stops `serve --netns -- CMD` with Ctrl-C: the
// client gets its SIGINT once and ends as wrk would, serve still reports,
// and nothing is left. Killed with SIGKILL instead, it leaves nothing either.
func TestServeNetnsInterrupted(t *testing.T) {
	requireNetns(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			mark := strconv.FormatInt(time.Now().UnixNano(), 36)
			cmd := exec.Command(os.Args[0], "serve", "--netns", "--mode", "roundrobin", "--workers", "2", "--json", "--", os.Args[0])
			cmd.Env = append(os.Environ(), "CLUSTERBENCH_TEST_MARK="+mark, "CLUSTERBENCH_TEST_CLIENT=forever")
			var stdout bytes.Buffer
			stderr := &lockedBuffer{}
			cmd.Stdout, cmd.Stderr = &stdout, stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill() })
			deadline := time.Now().Add(20 * time.Second)
			for !strings.Contains(stderr.String(), "client: started") && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			namespaces := namespacesOf(t, marked(t, mark))
			if len(namespaces) != 1 {
				t.Fatalf("deployment and client in namespaces %v; want one private namespace", namespaces)
			}
			time.Sleep(200 * time.Millisecond)
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			if sig == syscall.SIGINT {
				if err != nil {
					t.Fatalf("serve after Ctrl-C: %v\n%s", err, stderr.String())
				}
				var rep trial.ServeAccount
				if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
					t.Fatalf("serve --json printed %q: %v", stdout.String(), err)
				}
				var served uint64
				for _, w := range rep.Workers {
					served += w.Requests
				}
				if served == 0 || strings.Count(stderr.String(), "interrupted") != 1 {
					t.Errorf("served %d; client said %q; want requests, and the client interrupted once", served, stderr.String())
				}
			}
			eventuallyNone(t, mark)
			eventuallyEmpty(t, namespaces)
		})
	}
}

// TestRunWithoutIsolation turns namespaces off: trials run on the host
// loopback, and the record says so.
func TestRunWithoutIsolation(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := runCLI(t, "run", "-o", dir, "--netns=false", "--mode", "shared", "--workers", "2",
		"--duration", "300ms", "--warmup", "0s", "--concurrency", "2")
	if code != exitOK {
		t.Fatalf("exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	r, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Host.Isolation, "turned off") || len(r.Trials) != 1 || r.Trials[0].NetNS || r.Trials[0].Successes == 0 {
		t.Errorf("isolation %q, trials %+v; want one trial measured on the host loopback", r.Host.Isolation, r.Trials)
	}
}

// TestRunWhereNamespacesAreNotAllowed runs the tool where creating a
// network namespace really fails: iptables is skipped with its reason, the
// other modes run on the host loopback, and the exit code fails only when
// the scenario required iptables.
func TestRunWhereNamespacesAreNotAllowed(t *testing.T) {
	requireNetns(t) // denyns needs a user namespace to take it away
	for _, required := range []bool{false, true} {
		t.Run(fmt.Sprintf("required=%v", required), func(t *testing.T) {
			scenario := "experiments:\n  - name: e\n    modes: [shared, iptables]\n    workers: 2\n    load: {duration: 300ms, warmup: 0s, concurrency: 2}\n"
			if required {
				scenario += "    required: [iptables]\n"
			}
			file := writeFile(t, "s.yaml", scenario)
			dir := filepath.Join(t.TempDir(), "run")
			mark := strconv.FormatInt(time.Now().UnixNano(), 36)
			cmd := exec.Command(os.Args[0], "run", file, "-o", dir)
			cmd.Env = append(os.Environ(), "CLUSTERBENCH_TEST_MARK="+mark)
			if err := denyns.Wrap(cmd); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := cmd.ProcessState.ExitCode()
			switch {
			case !required && code != exitOK:
				t.Fatalf("exit %d (%v); want 0 when iptables is not required\n%s", code, err, stderr.String())
			case required && code != exitFailed:
				t.Fatalf("exit %d (%v); want %d when iptables is required\n%s", code, err, exitFailed, stderr.String())
			}
			r, err := results.Read(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r.Host.Isolation, "host loopback") || !strings.Contains(r.Host.Isolation, "not allowed here") {
				t.Errorf("isolation %q; want the host loopback and why", r.Host.Isolation)
			}
			if len(r.Trials) != 1 || r.Trials[0].Mode != "shared" || r.Trials[0].NetNS || r.Trials[0].Successes == 0 {
				t.Errorf("trials %+v; want shared measured on the host loopback", r.Trials)
			}
			if len(r.Skipped) != 1 || r.Skipped[0].Mode != "iptables:nth" || r.Skipped[0].Required != required ||
				!strings.Contains(r.Skipped[0].Reason, "needs a private network namespace") || !strings.Contains(r.Skipped[0].Reason, "operation not permitted") {
				t.Errorf("skipped %+v; want iptables with its reason", r.Skipped)
			}
			report, _ := os.ReadFile(filepath.Join(dir, "report.md"))
			if !bytes.Contains(report, []byte("e/iptables:nth: skipped 1 trial")) {
				t.Errorf("report.md does not list the skipped mode:\n%s", report)
			}
			eventuallyNone(t, mark)
		})
	}
}

// lockedBuffer is a bytes.Buffer that a child's output and the test may
// use at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestModesSaysWhyIPTablesCannotRun checks both reasons for real: the
// binaries missing from PATH, and namespaces not allowed.
func TestModesSaysWhyIPTablesCannotRun(t *testing.T) {
	requireNetns(t)
	for _, tt := range []struct {
		name, want string
		env        []string
		deny       bool
	}{
		{"binary missing", "no: iptables is not installed (apt-get install iptables)", []string{"PATH=" + t.TempDir()}, false},
		{"namespaces not allowed", "no: needs a private network namespace: cannot create a network namespace (operation not permitted)", nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "modes")
			cmd.Env = append(os.Environ(), tt.env...)
			if tt.deny {
				if err := denyns.Wrap(cmd); err != nil {
					t.Fatal(err)
				}
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("modes: %v\n%s", err, out)
			}
			// The table wraps long cells; compare without the layout.
			flat := strings.Join(strings.Fields(strings.NewReplacer("│", " ").Replace(string(out))), " ")
			if !strings.Contains(flat, tt.want) {
				t.Errorf("modes does not say %q:\n%s", tt.want, out)
			}
		})
	}
}

// TestRunProxies measures both proxies for real: the proxy's CPU is
// reported apart, its setup is recorded, and both sides' counts agree
// through it.
func TestRunProxies(t *testing.T) {
	requireMode(t, "nginx")
	requireMode(t, "haproxy")
	dir := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := runCLI(t, "run", "-o", dir, "--mode", "nginx,haproxy:leastconn", "--workers", "4", "--keepalive=false,true",
		"--proxy-processes", "2", "--upstream-keepalive", "--duration", "500ms", "--warmup", "100ms", "--concurrency", "4")
	if code != exitOK {
		t.Fatalf("exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	r, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Trials) != 4 {
		t.Fatalf("%d trials; want 4", len(r.Trials))
	}
	for _, tr := range r.Trials {
		name := fmt.Sprintf("%s keep-alive=%v", tr.Label(), tr.KeepAlive)
		if tr.Failed() || tr.Successes == 0 || !tr.CountsAgree {
			t.Errorf("%s: error %q, %d successes, mismatches %v", name, tr.Error, tr.Successes, tr.Mismatches)
		}
		if tr.CPU.ProxySeconds <= 0 || tr.CPU.MasterSeconds > tr.CPU.ProxySeconds {
			t.Errorf("%s: cpu %+v; want the proxy's own CPU time", name, tr.CPU)
		}
		if tr.Proxy == nil || tr.Proxy.Processes != 2 || !tr.Proxy.UpstreamKeepAlive {
			t.Errorf("%s: proxy setup %+v; want 2 processes with upstream keep-alive", name, tr.Proxy)
		}
	}
	noProxyFiles(t)
}

// TestRunGoesOnAfterAProxyFails gives HAProxy an impossible option: its
// trial fails with HAProxy's own words, and the other mode still runs.
func TestRunGoesOnAfterAProxyFails(t *testing.T) {
	requireMode(t, "haproxy")
	dir := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := runCLI(t, "run", "-o", dir, "--mode", "haproxy,shared", "--workers", "2",
		"--proxy-processes", "1000", "--duration", "300ms", "--warmup", "0s", "--concurrency", "2")
	if code != exitFailed {
		t.Fatalf("exit code %d; want %d for a failed trial\nstdout: %s\nstderr: %s", code, exitFailed, stdout, stderr)
	}
	r, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Trials) != 2 || !strings.Contains(r.Trials[0].Error, "'nbthread' value must be between 1 and") ||
		r.Trials[1].Failed() || r.Trials[1].Successes == 0 {
		t.Fatalf("trials %+v; want haproxy failed with its own message, then shared measured", r.Trials)
	}
	noProxyFiles(t)
}

// TestMissingProxyIsSkipped hides nginx from PATH: modes and run both say
// to install it, and the run measures the rest.
func TestMissingProxyIsSkipped(t *testing.T) {
	bin := t.TempDir() // nothing but what the tool itself needs
	for _, tool := range []string{"true", "sh", "unshare", "mount", "cat"} {
		if path, err := exec.LookPath(tool); err == nil {
			os.Symlink(path, filepath.Join(bin, tool))
		}
	}
	cmd := exec.Command(os.Args[0], "modes")
	cmd.Env = append(os.Environ(), "PATH="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "no: install nginx") {
		t.Errorf("modes without nginx: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "run")
	cmd = exec.Command(os.Args[0], "run", "-o", dir, "--mode", "nginx,shared", "--workers", "2", "--duration", "300ms", "--warmup", "0s", "--concurrency", "2")
	cmd.Env = append(os.Environ(), "PATH="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("run without nginx: %v\n%s", err, out)
	}
	r, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Skipped) != 1 || r.Skipped[0].Mode != "nginx:round-robin" || !strings.Contains(r.Skipped[0].Reason, "not available: install nginx") ||
		len(r.Trials) != 1 || r.Trials[0].Successes == 0 {
		t.Errorf("skipped %+v, trials %d; want nginx skipped (install nginx) and shared measured", r.Skipped, len(r.Trials))
	}
}
