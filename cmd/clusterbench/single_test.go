package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"clusterbench/report"
	"clusterbench/results"
)

// TestRunSingleWithATail runs one process of four threads beside four
// reuseport workers, under a handler where a fifth of the requests cost
// 5ms of CPU: the record says how single mapped its workers, keeps its
// fairness out, and records the tail, whose cost shows in the CPU per
// request.
func TestRunSingleWithATail(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := runCLI(t, "run", "-o", dir, "--mode", "single,reuseport", "--workers", "4", "--keepalive=false",
		"--rate", "100", "--duration", "2s", "--warmup", "200ms", "--handler-cpu", "100us", "--handler-tail", "20%:5ms")
	if code != exitOK {
		t.Fatalf("exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	r, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Trials) != 2 {
		t.Fatalf("%d trials (skipped %+v); want single and reuseport", len(r.Trials), r.Skipped)
	}
	for _, tr := range r.Trials {
		if tr.Failed() || !tr.CountsAgree || tr.Errors != 0 {
			t.Errorf("%s: error %q, counts agree %v %v, %d errors", tr.Mode, tr.Error, tr.CountsAgree, tr.Mismatches, tr.Errors)
			continue
		}
		h := tr.Handler
		if h.Name != "cpu-100µs-tail-0.2-5ms" || h.CPUMicros != 100 || h.Tail != (results.HandlerTail{Fraction: 0.2, CPUMicros: 5000}) {
			t.Errorf("%s: handler %+v; want 100µs with a fifth of requests at 5000µs", tr.Mode, h)
		}
		// 100µs + a fifth of 4.9ms is about 1ms per request; without the
		// tail, 100µs and the server's own overhead.
		if tr.ServerCPUPerRequestUs < 350 {
			t.Errorf("%s: %.0fµs of server CPU per request; want the tail's cost in it", tr.Mode, tr.ServerCPUPerRequestUs)
		}
		t.Logf("%s: %d workers, %d threads, %d processes, %.0fµs CPU per request, p99 %.1fms, Jain %.3f",
			tr.Mode, tr.Workers, tr.Threads, len(tr.PerWorker), tr.ServerCPUPerRequestUs, tr.Latency.P99, tr.Fairness.Connections.Jain)
		switch tr.Mode {
		case "single":
			if tr.Workers != 4 || tr.Threads != 4 || len(tr.PerWorker) != 1 || tr.PerWorker[0].WorkerRequests != tr.Successes {
				t.Errorf("single: %d workers, %d threads, per worker %+v; want one process of 4 threads that served all %d", tr.Workers, tr.Threads, tr.PerWorker, tr.Successes)
			}
			if tr.Fairness != (results.FairnessPair{}) {
				t.Errorf("single: fairness %+v; want none for one process", tr.Fairness)
			}
		case "reuseport":
			if tr.Threads != 0 || len(tr.PerWorker) != 4 || tr.Fairness.Connections.Jain <= 0 {
				t.Errorf("reuseport: %d threads, %d per worker, fairness %+v; want four processes and their fairness", tr.Threads, len(tr.PerWorker), tr.Fairness)
			}
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, report.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| single ", "n/a: one process", "20% of requests cost 5000µs CPU instead"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestHandlerTailFlagIsChecked refuses a tail that is no tail, before
// anything is written.
func TestHandlerTailFlagIsChecked(t *testing.T) {
	for _, tt := range []struct{ tail, want string }{
		{"0%:1ms", "handler-tail: fraction must be between 0 and 1, exclusive, got 0"},
		{"100%:1ms", "handler-tail: fraction must be between 0 and 1, exclusive, got 1"},
		{"1%:1m", "handler-tail: cpu: must be at most 10s"},
		{"0.01:1ms", `"0.01:1ms" is not PERCENT%:CPU`},
	} {
		dir := filepath.Join(t.TempDir(), "run")
		code, _, stderr := runCLI(t, "run", "-o", dir, "--mode", "single", "--handler-tail", tt.tail)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("--handler-tail %s: exit code %d, stderr %q; want %d and %q", tt.tail, code, stderr, exitUsage, tt.want)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("--handler-tail %s: output directory written (%v)", tt.tail, err)
		}
	}
}
