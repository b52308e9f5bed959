package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"clusterbench/internal/nstest"
	"clusterbench/results"
)

// TestExampleAppsAreCounted runs the shipped example apps, in Python and
// in Node.js, under shared, reuseport and nginx, and the Python one on
// ports of its own behind nginx. Each worker's share is counted: by the
// kernel alone for the Python app, which names no worker; by the client
// from the Node app's X-Worker headers, with the kernel agreeing.
func TestExampleAppsAreCounted(t *testing.T) {
	requireNetns(t)
	for _, m := range []string{"shared", "reuseport", "nginx"} {
		requireMode(t, m)
	}
	for _, tc := range []struct {
		name, command, listen, modes, counting string
	}{
		{"python", "python3 ../../examples/python/app.py", "fd", "shared,reuseport,nginx", "kernel only"},
		{"node", "node ../../examples/node/app.js", "fd", "shared,reuseport,nginx", "client (the app's X-Worker headers) and kernel"},
		{"python-port", "python3 ../../examples/python/app.py", "port", "nginx", "kernel only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			program := strings.Fields(tc.command)[0]
			_, err := exec.LookPath(program)
			nstest.Require(t, program, err)
			dir := filepath.Join(t.TempDir(), "run")
			code, stdout, stderr := runCLI(t, "run", "-o", dir, "--mode", tc.modes, "--workers", "3", "--keepalive=false",
				"--rate", "300", "--duration", "1s", "--warmup", "300ms", "--worker-command", tc.command, "--worker-listen", tc.listen)
			if code != exitOK {
				t.Fatalf("exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			r, err := results.Read(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Trials) != strings.Count(tc.modes, ",")+1 {
				t.Fatalf("%d trials; want one per mode", len(r.Trials))
			}
			for _, tr := range r.Trials {
				var requests, connections uint64
				for _, w := range tr.PerWorker {
					requests += w.Requests
					connections += w.Connections
					if w.Requests == 0 || w.Requests != w.WorkerRequests {
						t.Errorf("%s: worker %d counted %d requests by the client's account, %d by the kernel's; want both, equal", tr.Mode, w.Index, w.Requests, w.WorkerRequests)
					}
				}
				t.Logf("%s: %s; %d requests on %d connections, shares %v, Jain %.3f", tr.Mode, tr.Counting, requests, connections,
					tr.RequestCounts(), tr.Fairness.Requests.Jain)
				switch {
				case tr.Failed():
					t.Errorf("%s: failed: %s", tr.Mode, tr.Error)
				case !strings.HasPrefix(tr.Counting, tc.counting) || !tr.CountsAgree:
					t.Errorf("%s: counting %q, counts agree %v (%v); want %q", tr.Mode, tr.Counting, tr.CountsAgree, tr.Mismatches, tc.counting)
				case len(tr.PerWorker) != 3 || requests != tr.Successes || connections != tr.Successes || tr.Errors > 0:
					t.Errorf("%s: %d workers counted %d requests on %d connections; want 3 workers, every one of the %d responses, each on a connection of its own",
						tr.Mode, len(tr.PerWorker), requests, connections, tr.Successes)
				case !strings.HasPrefix(tr.WorkerApp, "your app: ") || len(tr.Warnings) > 0:
					t.Errorf("%s: worker app %q, warnings %v", tr.Mode, tr.WorkerApp, tr.Warnings)
				}
			}
		})
	}
}
