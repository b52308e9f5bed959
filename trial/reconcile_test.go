package trial

import (
	"reflect"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"clusterbench/loadgen"
	"clusterbench/modes"
	"clusterbench/results"
	"clusterbench/worker"
)

// account is a deployment's account of workers that each ran in one
// process, with these requests and connections.
func account(counts ...[2]uint64) *ServeAccount {
	a := &ServeAccount{}
	for i, c := range counts {
		a.Workers = append(a.Workers, modes.WorkerResult{Counters: worker.Counters{Index: i, PID: 100 + i, Requests: c[0], Connections: c[1]}})
	}
	return a
}

// client is the load generator's account with these per-worker tallies.
func client(counts ...[2]uint64) *loadgen.Result {
	lg := &loadgen.Result{Elapsed: 2 * time.Second, WarmupPerWorker: make([]uint64, len(counts))}
	for _, c := range counts {
		lg.PerWorker = append(lg.PerWorker, loadgen.Tally{Requests: c[0], Connections: c[1]})
		lg.Requests += c[0]
		lg.Successes += c[0]
	}
	return lg
}

func TestFillMeasurementReconcilesCounts(t *testing.T) {
	for _, tt := range []struct {
		name       string
		lg         *loadgen.Result
		served     *ServeAccount
		mismatches []string
		authority  string
	}{
		{"both agree", client([2]uint64{10, 2}, [2]uint64{5, 1}), account([2]uint64{10, 2}, [2]uint64{5, 1}),
			nil, "both: client and workers agree"},
		{"requests differ", client([2]uint64{10, 2}, [2]uint64{5, 1}), account([2]uint64{10, 2}, [2]uint64{4, 1}),
			[]string{"worker 1: client counted 5 requests, worker 4"}, "client: the two sides disagree (see mismatches)"},
		{"connections differ", client([2]uint64{10, 2}), account([2]uint64{10, 3}),
			[]string{"worker 0: client counted 2 connections, worker 3"}, "client: the two sides disagree (see mismatches)"},
		{"a worker the client never reached", client([2]uint64{10, 2}), account([2]uint64{10, 2}, [2]uint64{0, 0}),
			nil, "both: client and workers agree"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := results.Trial{Workers: len(tt.served.Workers)}
			fillMeasurement(&rec, tt.lg, tt.served, serverCPU{workers: map[int]float64{}})
			if !reflect.DeepEqual(rec.Mismatches, tt.mismatches) {
				t.Errorf("mismatches %q; want %q", rec.Mismatches, tt.mismatches)
			}
			if rec.CountsAgree != (len(tt.mismatches) == 0) || rec.CountsAuthority != tt.authority {
				t.Errorf("agree %v, authority %q; want %v, %q", rec.CountsAgree, rec.CountsAuthority, len(tt.mismatches) == 0, tt.authority)
			}
			if len(rec.PerWorker) != len(tt.served.Workers) {
				t.Errorf("%d workers recorded; want %d", len(rec.PerWorker), len(tt.served.Workers))
			}
		})
	}
}

func TestFillMeasurementWarmupAndWarnings(t *testing.T) {
	lg := client([2]uint64{10, 2})
	lg.WarmupPerWorker[0] = 3
	lg.Unattributed = 2
	served := account([2]uint64{10, 2})
	served.Workers[0].WarmupRequests = 1
	served.Errors = []string{"worker 0: stop timed out"}
	rec := results.Trial{Workers: 1}
	fillMeasurement(&rec, lg, served, serverCPU{master: 0.5, workers: map[int]float64{100: 1.5}, seconds: 2})
	if want := []string{"worker 0: client counted 3 warm-up requests, worker 1"}; !reflect.DeepEqual(rec.Mismatches, want) {
		t.Errorf("mismatches %q; want %q", rec.Mismatches, want)
	}
	for _, want := range []string{"2 successful responses named no worker", "deployment: worker 0: stop timed out"} {
		if !strings.Contains(strings.Join(rec.Warnings, "\n"), want) {
			t.Errorf("warnings %q; want %q among them", rec.Warnings, want)
		}
	}
	if rec.CPU.ServerSeconds() != 2 || rec.PerWorker[0].CPUSeconds != 1.5 {
		t.Errorf("CPU %+v, worker 0 %vs; want 0.5s master and 1.5s for pid 100", rec.CPU, rec.PerWorker[0].CPUSeconds)
	}
	if want := 1e6 * 2.0 / 10; rec.ServerCPUPerRequestUs != want {
		t.Errorf("server CPU per request %v µs; want %v", rec.ServerCPUPerRequestUs, want)
	}
}

// The record keeps the client's latency histogram, and a trial without
// one (an older engine's) keeps none.
func TestFillMeasurementKeepsTheLatencyHistogram(t *testing.T) {
	lg := client([2]uint64{3, 1})
	lg.LatencyHistogram = hdrhistogram.New(1, 3_600_000_000, 3)
	for _, us := range []int64{120, 250, 9000} {
		_ = lg.LatencyHistogram.RecordValue(us)
	}
	rec := results.Trial{Workers: 1}
	fillMeasurement(&rec, lg, account([2]uint64{3, 1}), serverCPU{workers: map[int]float64{}})
	h, err := rec.LatencyDistribution()
	if err != nil || h == nil || h.TotalCount() != 3 || h.Max() != lg.LatencyHistogram.Max() {
		t.Errorf("recorded histogram %v (%v); want the client's 3 latencies up to 9 ms", h, err)
	}
	lg.LatencyHistogram = nil
	rec = results.Trial{Workers: 1}
	fillMeasurement(&rec, lg, account([2]uint64{3, 1}), serverCPU{workers: map[int]float64{}})
	if rec.LatencyHistogram != "" {
		t.Errorf("no histogram measured, %q recorded", rec.LatencyHistogram)
	}
}

// TestReconcileProcesses: a worker replaced mid-trial is compared process
// by process; one that died without final counts is left to the client.
func TestReconcileProcesses(t *testing.T) {
	killedAt := time.Unix(1000, 0)
	lg := client([2]uint64{12, 3})
	lg.Processes = []loadgen.ProcessTally{
		{Worker: 0, PID: 100, Tally: loadgen.Tally{Requests: 7, Connections: 2}},
		{Worker: 0, PID: 200, Tally: loadgen.Tally{Requests: 5, Connections: 1}},
	}
	served := account([2]uint64{11, 3})
	served.Faults = []modes.Fault{{At: killedAt}}
	served.Workers[0].Processes = []modes.ProcessResult{
		{Counters: worker.Counters{PID: 100, Requests: 6, Connections: 2}, Killed: true, LastCountsAt: killedAt.Add(-200 * time.Millisecond)},
		{Counters: worker.Counters{PID: 200, Requests: 5, Connections: 1}, Final: true},
	}
	rec := results.Trial{Workers: 1}
	fillMeasurement(&rec, lg, served, serverCPU{workers: map[int]float64{100: 0.25, 200: 0.5}})
	if len(rec.Mismatches) != 0 {
		t.Errorf("mismatches %q; want none: the killed process is not compared", rec.Mismatches)
	}
	want := "worker 0 pid 100 was killed without final counts: the client saw 7 requests on 2 connections, its last report 6 on 2 (200 ms before the kill); the client's count stands"
	if len(rec.Unreported) != 1 || rec.Unreported[0] != want {
		t.Errorf("unreported %q; want %q", rec.Unreported, want)
	}
	if got := rec.CountsAuthority; got != "client for the processes that died without final counts (1); client and workers agree on the rest" {
		t.Errorf("authority %q", got)
	}
	if got := rec.PerWorker[0].CPUSeconds; got != 0.75 {
		t.Errorf("worker 0 CPU %vs; want both processes' 0.75s", got)
	}
	if ps := rec.PerWorker[0].Processes; len(ps) != 2 || ps[1].Requests != 5 || !ps[1].Final {
		t.Errorf("processes %+v; want both, the replacement's counts final", ps)
	}
}

func TestTellsProcessesApart(t *testing.T) {
	for _, tt := range []struct {
		name      string
		processes []loadgen.ProcessTally
		perWorker []loadgen.Tally
		want      bool
	}{
		{"by pid", []loadgen.ProcessTally{{Worker: 0, PID: 7}}, []loadgen.Tally{{Requests: 1}}, true},
		{"responses without a pid", []loadgen.ProcessTally{{Worker: 0, PID: 7}, {Worker: 0}}, []loadgen.Tally{{Requests: 2}}, false},
		{"wrk, which reads no pid", nil, []loadgen.Tally{{Requests: 3}}, false},
		{"a worker that served nothing", nil, []loadgen.Tally{{}}, true},
	} {
		if got := tellsProcessesApart(&loadgen.Result{Processes: tt.processes, PerWorker: tt.perWorker}, 0); got != tt.want {
			t.Errorf("%s: %v; want %v", tt.name, got, tt.want)
		}
	}
}

func TestCountsAuthority(t *testing.T) {
	for _, tt := range []struct {
		mismatches, unreported int
		want                   string
	}{
		{0, 0, "both: client and workers agree"},
		{1, 0, "client: the two sides disagree (see mismatches)"},
		{1, 2, "client: the two sides disagree (see mismatches)"},
		{0, 2, "client for the processes that died without final counts (2); client and workers agree on the rest"},
	} {
		if got := countsAuthority(tt.mismatches, tt.unreported); got != tt.want {
			t.Errorf("countsAuthority(%d, %d) = %q; want %q", tt.mismatches, tt.unreported, got, tt.want)
		}
	}
}
