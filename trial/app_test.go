package trial

import (
	"errors"
	"strings"
	"testing"

	"clusterbench/internal/kernelcount"
	"clusterbench/loadgen"
	"clusterbench/modes"
	"clusterbench/plan"
	"clusterbench/results"
)

// kernelSaw is a kernel counter that counted these requests and
// connections per worker while measuring, or failed with err.
func kernelSaw(err error, counts ...[2]uint64) *kernelCounter {
	k := &kernelCounter{err: err}
	if err != nil {
		return k
	}
	for _, c := range counts {
		k.start = append(k.start, kernelcount.Count{Requests: 1, Connections: 1})
		k.end = append(k.end, kernelcount.Count{Requests: 1 + c[0], Connections: 1 + c[1]})
	}
	return k
}

func TestCountApp(t *testing.T) {
	noRoot := errors.New("it needs root")
	for _, tt := range []struct {
		name      string
		listen    string
		keepAlive bool
		lg        *loadgen.Result
		kernel    *kernelCounter
		by        countedBy
		text      string
		// the workers' counts that stand for the app's own
		requests, connections []uint64
	}{
		{"named and counted, kept alive", modes.ListenFD, true, client([2]uint64{10, 3}, [2]uint64{6, 2}), kernelSaw(nil, [2]uint64{8, 2}, [2]uint64{4, 1}),
			byClientAndKernel, "client (the app's X-Worker headers) and kernel (per worker process, requests only",
			[]uint64{10, 5}, []uint64{3, 2}}, // a socket of ours: first requests added; connections the client's
		{"named and counted, a connection per request", modes.ListenPort, false, client([2]uint64{10, 10}), kernelSaw(nil, [2]uint64{10, 10}),
			byClientAndKernel, "client (the app's X-Worker headers) and kernel (per worker process)",
			[]uint64{10}, []uint64{10}},
		{"named, not counted", modes.ListenFD, true, client([2]uint64{10, 3}), kernelSaw(noRoot),
			byClient, "client only (the app's X-Worker headers); the kernel did not count: it needs root",
			[]uint64{0}, []uint64{0}},
		{"counted, not named", modes.ListenPort, true, unnamed(client([2]uint64{0, 0}, [2]uint64{0, 0}), 12), kernelSaw(nil, [2]uint64{7, 2}, [2]uint64{5, 1}),
			byKernel, "kernel only (per worker process): the app names no worker in its responses; connections are those opened while measuring",
			[]uint64{7, 5}, []uint64{2, 1}},
		{"neither", modes.ListenFD, false, unnamed(client([2]uint64{0, 0}), 3), kernelSaw(noRoot),
			byNobody, "none: the app names no worker and the kernel did not count: it needs root",
			[]uint64{0}, []uint64{0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			served := account(make([][2]uint64, len(tt.requests))...)
			for i := range served.Workers {
				served.Workers[i].Requests, served.Workers[i].Accepted = 99, 99 // the app's own, which it does not have
			}
			c := countApp(&plan.App{Listen: tt.listen}, tt.keepAlive, tt.kernel, tt.lg, served)
			if c.by != tt.by || !strings.HasPrefix(c.text, tt.text) {
				t.Errorf("counted by %d, %q; want %d, %q", c.by, c.text, tt.by, tt.text)
			}
			for i, w := range served.Workers {
				if w.Requests != tt.requests[i] || w.Connections != tt.connections[i] || w.Accepted != 0 {
					t.Errorf("worker %d: %d requests, %d connections, %d accepted; want %d, %d, 0", i, w.Requests, w.Connections, w.Accepted, tt.requests[i], tt.connections[i])
				}
			}
			if tt.by == byKernel && (tt.lg.PerWorker[0].Requests != tt.requests[0] || tt.lg.Unattributed != 0) {
				t.Errorf("the client's counts %+v, %d unattributed; want the kernel's in their place", tt.lg.PerWorker, tt.lg.Unattributed)
			}
			if (tt.by == byNobody) != (len(c.warnings) > 0) {
				t.Errorf("warnings %q", c.warnings)
			}
		})
	}
}

// unnamed is lg with its successes named by no worker.
func unnamed(lg *loadgen.Result, successes uint64) *loadgen.Result {
	lg.Requests, lg.Successes, lg.Unattributed = successes, successes, successes
	return lg
}

func TestAppAuthority(t *testing.T) {
	for _, tt := range []struct {
		name       string
		c          appCounting
		agree      bool
		perWorker  []uint64
		successes  uint64
		authority  string
		mismatches bool
		warning    string
	}{
		{"kernel only, agreeing", appCounting{by: byKernel}, true, []uint64{3, 4}, 7, "kernel: the only count per worker", false, ""},
		{"kernel only, short", appCounting{by: byKernel}, true, []uint64{3, 3}, 7, "kernel: the only count per worker", false, "the kernel counted 6 requests, the client 7 successful responses"},
		{"client only: nothing to disagree with", appCounting{by: byClient}, false, []uint64{3, 4}, 7, "client: the app reports no counts of its own", false, ""},
		{"nobody", appCounting{by: byNobody, warnings: []string{"worker shares not counted"}}, false, nil, 7, "client: the app reports no counts of its own", false, "worker shares not counted"},
		{"both, agreeing", appCounting{by: byClientAndKernel}, true, []uint64{3, 4}, 7, "both: client and kernel agree", false, ""},
		{"both, disagreeing", appCounting{by: byClientAndKernel}, false, []uint64{3, 4}, 7, "client: the two sides disagree (see mismatches)", true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// As fillMeasurement leaves it.
			rec := results.Trial{CountsAgree: tt.agree, CountsAuthority: countsAuthority(0, 0)}
			if !tt.agree {
				rec.Mismatches = []string{"worker 0: client counted 3 requests, worker 2"}
				rec.CountsAuthority = countsAuthority(len(rec.Mismatches), 0)
			}
			for _, n := range tt.perWorker {
				rec.PerWorker = append(rec.PerWorker, results.WorkerCounts{Requests: n})
			}
			appAuthority(&rec, tt.c, &loadgen.Result{Successes: tt.successes})
			if rec.CountsAuthority != tt.authority || (len(rec.Mismatches) > 0) != tt.mismatches {
				t.Errorf("authority %q, mismatches %q; want %q, some: %v", rec.CountsAuthority, rec.Mismatches, tt.authority, tt.mismatches)
			}
			if got := strings.Join(rec.Warnings, "\n"); (tt.warning == "") != (got == "") || !strings.Contains(got, tt.warning) {
				t.Errorf("warnings %q; want %q", rec.Warnings, tt.warning)
			}
			if tt.c.by == byKernel && rec.CountsAgree != (tt.warning == "") {
				t.Errorf("counts agree %v beside warnings %q", rec.CountsAgree, rec.Warnings)
			}
		})
	}
}

// TestAllDied: a trial fails as unmeasured when every worker exited
// unasked, replaced or not; some workers dying, or a fault's deaths, are
// measurements.
func TestAllDied(t *testing.T) {
	died := "worker 0 (pid 10) exited: exit status 7; its stderr ends: boom"
	exited := func(worker, replacement int, err string) modes.Restart {
		return modes.Restart{Worker: worker, PID: 10 + worker, ReplacementPID: replacement, Error: err}
	}
	two := []modes.WorkerResult{{}, {}}
	for _, c := range []struct {
		name     string
		fault    *plan.Fault
		died     string
		restarts []modes.Restart
		fails    bool
	}{
		{"nobody died", nil, "", nil, false},
		{"one of two died", nil, died, []modes.Restart{exited(0, 0, "respawn is off")}, false},
		{"both died, none replaced", nil, died, []modes.Restart{exited(0, 0, "respawn is off"), exited(1, 0, "respawn is off")}, true},
		{"both died, both serve again", nil, died, []modes.Restart{exited(0, 20, ""), exited(1, 21, "")}, true},
		{"one died twice", nil, died, []modes.Restart{exited(0, 20, ""), exited(0, 21, "")}, false},
		{"both died twice, the last replacements failed", nil, died,
			[]modes.Restart{exited(0, 20, ""), exited(1, 21, ""), exited(0, 0, "already replaced 10 times"), exited(1, 22, "not ready")}, true},
		{"a fault killed both", &plan.Fault{Kill: plan.Kill{All: true}}, died, []modes.Restart{exited(0, 0, "respawn is off"), exited(1, 0, "respawn is off")}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			why := allDied(plan.Deployment{Fault: c.fault}, &ServeAccount{Account: modes.Account{Workers: two, Restarts: c.restarts, Died: c.died}})
			if (why != "") != c.fails {
				t.Fatalf("allDied = %q; want a failure: %v", why, c.fails)
			}
			if c.fails && !strings.Contains(why, died) {
				t.Errorf("allDied = %q; want it to name the first death, %q", why, died)
			}
		})
	}
}
