package trial

import (
	"strings"
	"testing"
	"time"

	"clusterbench/loadgen"
	"clusterbench/results"
	"clusterbench/segment"
)

var mergeStart = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

// servedRecord is serve's record of two workers that counted, in the
// seconds from mergeStart on, the requests and connections given per
// second as {worker 0, worker 1}.
func servedRecord(requests, connections [][2]uint64) results.Trial {
	t := results.Trial{Origin: results.OriginServe, Experiment: ServeExperiment, Mode: "reuseport", Workers: 2,
		PerWorker: []results.WorkerCounts{{Index: 0}, {Index: 1}}, Served: &results.Served{Start: mergeStart}}
	for i, r := range requests {
		t.Served.Seconds = append(t.Served.Seconds, results.ServedSecond{T: float64(i), Seconds: 1,
			Requests: []uint64{r[0], r[1]}, Connections: []uint64{connections[i][0], connections[i][1]}})
		for w := range 2 {
			t.PerWorker[w].WorkerRequests += r[w]
			t.PerWorker[w].WorkerConnections += connections[i][w]
		}
	}
	return t
}

// host is a load host that sent from mergeStart+from for seconds.
func host(name string, from, seconds float64, requests uint64) loadgen.HostResult {
	first := mergeStart.Add(time.Duration(from * float64(time.Second)))
	last := first.Add(time.Duration(seconds * float64(time.Second)))
	return loadgen.HostResult{Name: name, Path: "/results/" + name + ".bin", Requests: requests, Successes: requests, First: first, LastSent: last, Last: last.Add(time.Millisecond)}
}

// hostsClient is the merged client's count of each worker's requests and connections.
func hostsClient(r0, c0, r1, c1 uint64) *loadgen.Result {
	return &loadgen.Result{Requests: r0 + r1, Successes: r0 + r1, PerWorker: []loadgen.Tally{{Requests: r0, Connections: c0}, {Requests: r1, Connections: c1}}, ErrorKinds: map[string]uint64{}}
}

// merge is Merge of a client account that spans the hosts' results, as
// loadgen.Merge's does: from the first request to the last result.
func merge(served results.Trial, lg *loadgen.Result, hosts []loadgen.HostResult, o MergeOptions) results.Trial {
	var end time.Time
	for _, h := range hosts {
		if lg.Start.IsZero() || h.First.Before(lg.Start) {
			lg.Start = h.First
		}
		if h.Last.After(end) {
			end = h.Last
		}
	}
	lg.Elapsed = end.Sub(lg.Start)
	return Merge(served, lg, hosts, o)
}

func testPlan(t *testing.T, rate int, names ...string) *segment.Plan {
	t.Helper()
	p, err := segment.New(segment.Load{URL: "http://10.0.0.1:8080/", Rate: rate, Duration: 3 * time.Second, Concurrency: 6, Timeout: time.Second, KeepAlive: true},
		names, segment.Even(len(names)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMergeAgreesWithTheWorkers(t *testing.T) {
	served := servedRecord([][2]uint64{{100, 50}, {100, 50}, {100, 50}}, [][2]uint64{{2, 1}, {0, 1}, {0, 0}})
	hosts := []loadgen.HostResult{host("a", 0.1, 2.9, 225), host("b", 0.1, 2.9, 225)}
	got := merge(served, hostsClient(300, 2, 150, 2), hosts, MergeOptions{Plan: testPlan(t, 150, "a", "b"), ClockTolerance: time.Second})
	if !got.CountsAgree || len(got.Mismatches) > 0 || got.Origin != results.OriginMerge {
		t.Errorf("counts agree %v, mismatches %v, origin %q; want agreement of a merge", got.CountsAgree, got.Mismatches, got.Origin)
	}
	if w := got.PerWorker[0]; w.Requests != 300 || w.WorkerRequests != 300 || w.Connections != 2 {
		t.Errorf("worker 0: %+v; want the client's 300 on 2 connections beside the worker's 300", w)
	}
	for _, h := range got.LoadHosts {
		if h.Missing != "" || h.PlannedRate != 75 || h.Segment == "" {
			t.Errorf("load host %s: missing %q, planned %d req/s, segment %q; want whole, 75 req/s of its segment", h.Name, h.Missing, h.PlannedRate, h.Segment)
		}
	}
	if got.Load.Rate != 150 || got.Load.Name != "150rps-2hosts" || !got.KeepAlive {
		t.Errorf("load %+v keep-alive %v; want the plan's", got.Load, got.KeepAlive)
	}
	// Each sent 225 in 2.9 s, above its planned 75 req/s.
	if got.LoadgenBound {
		t.Errorf("load generator bound: %s; want not", got.LoadgenBoundReason)
	}
}

func TestMergeNamesTheHostWhosePartIsMissing(t *testing.T) {
	served := servedRecord([][2]uint64{{100, 50}, {100, 50}, {100, 50}}, [][2]uint64{{2, 1}, {0, 1}, {0, 0}})
	// c died 1.2 s in: its results hold 40 requests, the workers served 10
	// more of its own before and as it died; b's file is not given at all.
	hosts := []loadgen.HostResult{host("a", 0.1, 2.9, 200), host("c", 0.1, 1.2, 40)}
	hosts[1].Cut = &cutError{}
	got := merge(served, hostsClient(200, 2, 40, 2), hosts, MergeOptions{Plan: testPlan(t, 300, "a", "b", "c"), ClockTolerance: time.Second})
	byName := map[string]results.LoadHost{}
	for _, h := range got.LoadHosts {
		byName[h.Name] = h
	}
	if m := byName["b"].Missing; !strings.Contains(m, "no results file was given") {
		t.Errorf("host b: %q; want its whole part missing", m)
	}
	if m := byName["c"].Missing; !strings.Contains(m, "it sent for 1.2 s of the planned 3s") || !strings.Contains(m, "the file ends inside a result") {
		t.Errorf("host c: %q; want its file cut and its part after 1.2 s missing", m)
	}
	if byName["a"].Missing != "" {
		t.Errorf("host a: %q; want whole", byName["a"].Missing)
	}
	text := strings.Join(got.Mismatches, "\n")
	if got.CountsAgree || !strings.Contains(text, "worker 0: the load hosts' results hold 200 responses from it, the worker counted 300") ||
		!strings.Contains(text, "the workers served 210 requests in the load hosts' window that no host's results hold: requests of b, c, whose part is missing") {
		t.Errorf("mismatches:\n%s\nwant worker 0's and the 210 the hosts b and c do not hold", text)
	}
	if !strings.Contains(strings.Join(got.Warnings, "\n"), "load host c: ") {
		t.Errorf("warnings %v; want host c named", got.Warnings)
	}
	// a sent 200 in 2.9 s, below its planned 100 req/s: it was the limit.
	if !got.LoadgenBound || !strings.Contains(got.LoadgenBoundReason, "a sent 69 req/s of its 100") {
		t.Errorf("load generator bound %v: %q; want host a named", got.LoadgenBound, got.LoadgenBoundReason)
	}
}

type cutError struct{}

func (cutError) Error() string { return "the file ends inside a result, after 40 whole ones" }

func TestMergeLeavesOutWhatCameOutsideTheHostsWindow(t *testing.T) {
	// The workers served 7 requests of a health check before the attack,
	// at 0 s, and the attack from 20 s on.
	requests := make([][2]uint64, 23)
	connections := make([][2]uint64, 23)
	requests[0], connections[0] = [2]uint64{7, 0}, [2]uint64{7, 0}
	for i := 20; i < 23; i++ {
		requests[i], connections[i] = [2]uint64{10, 10}, [2]uint64{10, 10}
	}
	served := servedRecord(requests, connections)
	hosts := []loadgen.HostResult{host("a", 20.1, 2.8, 60)}
	got := merge(served, hostsClient(30, 30, 30, 30), hosts, MergeOptions{ClockTolerance: time.Second})
	if !got.CountsAgree {
		t.Errorf("mismatches %v; want agreement inside the window", got.Mismatches)
	}
	if w := strings.Join(got.Warnings, "\n"); !strings.Contains(w, "the workers counted 7 requests outside the load hosts' window") {
		t.Errorf("warnings %v; want the 7 outside named", got.Warnings)
	}
	// Without a plan, the load is the hosts' own.
	if got.Load.Name != "vegeta-1hosts" || got.LoadHosts[0].Segment != "" {
		t.Errorf("load %q, segment %q; want the hosts' own attack", got.Load.Name, got.LoadHosts[0].Segment)
	}
}

func TestMergeSaysWhenTheHostsHoldMore(t *testing.T) {
	served := servedRecord([][2]uint64{{10, 10}}, [][2]uint64{{1, 1}})
	hosts := []loadgen.HostResult{host("a", 0.1, 0.8, 25), host("b", 0.3, 0.1, 5)}
	got := merge(served, hostsClient(15, 1, 15, 1), hosts, MergeOptions{ClockTolerance: time.Second})
	if !strings.Contains(strings.Join(got.Mismatches, "\n"), "the load hosts' results hold 10 responses more than the workers counted in their window: results of a warm-up") {
		t.Errorf("mismatches %v; want the 10 extra named with their likely causes", got.Mismatches)
	}
	// b stopped sending 0.5 s before a, in a load of less than a second:
	// within the slack, so not named.
	for _, h := range got.LoadHosts {
		if h.Missing != "" {
			t.Errorf("load host %s: %q; want whole", h.Name, h.Missing)
		}
	}
}

func TestMergeWithoutAPlanNamesAHostThatStoppedEarly(t *testing.T) {
	served := servedRecord(make([][2]uint64, 30), make([][2]uint64, 30))
	hosts := []loadgen.HostResult{host("a", 0, 30, 300), host("b", 0, 30, 300), host("c", 0, 12, 120), host("d", 5, 25, 250)}
	got := merge(served, hostsClient(0, 0, 0, 0), hosts, MergeOptions{ClockTolerance: time.Second})
	for _, h := range got.LoadHosts {
		named := strings.Contains(h.Missing, "it stopped sending 18.0 s before the last host")
		if named != (h.Name == "c") {
			t.Errorf("load host %s: %q", h.Name, h.Missing)
		}
	}
	if w := strings.Join(got.Warnings, "\n"); !strings.Contains(w, "the load hosts started 5s apart") {
		t.Errorf("warnings %v; want the start 5 s apart named", got.Warnings)
	}
}

// TestMergeSaysWhenAHostsClockIsOff: a host whose results lie outside the
// time the workers served, beyond the tolerance, is named.
func TestMergeSaysWhenAHostsClockIsOff(t *testing.T) {
	served := servedRecord([][2]uint64{{10, 10}, {10, 10}}, [][2]uint64{{1, 1}, {1, 1}})
	served.Served.WindowStart, served.Served.WindowEnd = mergeStart, mergeStart.Add(2*time.Second)
	hosts := []loadgen.HostResult{host("a", 0.1, 1.8, 20), host("b", 3600, 1.8, 20)} // b's clock is an hour ahead
	got := merge(served, hostsClient(20, 2, 20, 2), hosts, MergeOptions{ClockTolerance: time.Second})
	w := strings.Join(got.Warnings, "\n")
	if !strings.Contains(w, "load host b: its results lie 59m57s outside the time the workers served") || strings.Contains(w, "load host a: its results") {
		t.Errorf("warnings:\n%s\nwant b's clock named, not a's", w)
	}
}

// TestMergeLeavesAProcessThatDiedUnreportedToTheClient: a worker process
// that died without final counts (killed, and replaced) may have served
// more than its last report said; the client's count stands for its
// worker, named as unreported rather than as a mismatch.
func TestMergeLeavesAProcessThatDiedUnreportedToTheClient(t *testing.T) {
	served := servedRecord([][2]uint64{{40, 50}}, [][2]uint64{{4, 1}})
	served.PerWorker[0].Processes = []results.ProcessCounts{
		{PID: 101, WorkerRequests: 20, WorkerConnections: 2, Final: false, Killed: true},
		{PID: 102, WorkerRequests: 20, WorkerConnections: 2, Final: true},
	}
	lg := hostsClient(43, 4, 50, 1)
	lg.Processes = []loadgen.ProcessTally{{Worker: 0, PID: 101, Tally: loadgen.Tally{Requests: 23, Connections: 2}}, {Worker: 0, PID: 102, Tally: loadgen.Tally{Requests: 20, Connections: 2}}}
	got := merge(served, lg, []loadgen.HostResult{host("a", 0.1, 0.8, 93)}, MergeOptions{ClockTolerance: time.Second})
	if !got.CountsAgree || len(got.Mismatches) > 0 {
		t.Errorf("mismatches %v; want none: worker 0's count is the client's", got.Mismatches)
	}
	if len(got.Unreported) != 1 || !strings.Contains(got.Unreported[0], "worker 0: process 101 died without final counts") {
		t.Errorf("unreported %v; want worker 0's process 101 named", got.Unreported)
	}
	if p := got.PerWorker[0].Processes[0]; p.Requests != 23 || p.WorkerRequests != 20 {
		t.Errorf("process 101: client %d, worker %d; want both sides, 23 and 20", p.Requests, p.WorkerRequests)
	}
	if !strings.HasPrefix(got.CountsAuthority, "client for the processes that died without final counts") {
		t.Errorf("authority %q", got.CountsAuthority)
	}
}

// TestMergeNamesHostsOffTheServer: a host whose clock the Date headers
// put off the server's beyond the tolerance, one of another target, and
// one whose results skip sequence numbers, which then account for what
// the workers served unrecorded.
func TestMergeNamesHostsOffTheServer(t *testing.T) {
	served := servedRecord([][2]uint64{{100, 50}, {100, 50}, {100, 50}}, [][2]uint64{{2, 1}, {0, 1}, {0, 0}})
	hosts := []loadgen.HostResult{host("a", 0.1, 2.9, 200), host("b", 0.1, 2.9, 200), host("c", 0.1, 1.2, 47)}
	hosts[0].Clock = &loadgen.ClockOffset{Low: 2500 * time.Millisecond, High: 2504 * time.Millisecond}
	hosts[1].URLs = []string{"GET http://10.0.0.2:8080/"}
	hosts[2].Sent = 50 // three of its requests have no result
	got := merge(served, hostsClient(250, 2, 197, 2), hosts, MergeOptions{Plan: testPlan(t, 300, "a", "b", "c"), ClockTolerance: time.Second})
	w := strings.Join(got.Warnings, "\n")
	for _, want := range []string{
		"load host a: by the responses' Date headers, the server's clock is +2502 ms (±2) off the host's",
		"load host b: its results are of GET http://10.0.0.2:8080/, not the plan's GET http://10.0.0.1:8080/",
	} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings:\n%s\nwant %q", w, want)
		}
	}
	if h := got.LoadHosts[2]; h.Unrecorded != 3 {
		t.Errorf("host c: %d unrecorded; want the 3 its sequence numbers skip", h.Unrecorded)
	}
	if m := strings.Join(got.Mismatches, "\n"); !strings.Contains(m, "the workers served 3 requests in the load hosts' window that no host's results hold: requests of c, whose part is missing (see its load host): those it had in flight as it stopped (at least 3 by the sequence numbers their results skip)") {
		t.Errorf("mismatches:\n%s\nwant the 3 put to c's skipped sequence numbers", m)
	}
}
