package loadgen

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"clusterbench/internal/nstest"
	"clusterbench/plan"
	"clusterbench/worker"
)

// serveWorker serves the worker app's handler in-process, as worker 0.
func serveWorker(t *testing.T, h worker.Work) (*worker.Server, string) {
	t.Helper()
	s := worker.NewServer(0, h, 0)
	srv := httptest.NewUnstartedServer(s)
	srv.Config = s.HTTPServer()
	srv.Start()
	t.Cleanup(srv.Close)
	return s, srv.URL
}

// TestRunCountsAgreeWithWorker drives a real worker with each engine and
// checks that the client's tallies equal the worker's own counts.
func TestRunCountsAgreeWithWorker(t *testing.T) {
	for _, engine := range plan.Engines {
		for _, keepAlive := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/keepalive=%v", engine, keepAlive), func(t *testing.T) {
				requireEngine(t, engine)
				s, url := serveWorker(t, worker.Work{BodyBytes: 8})
				var phases []bool
				res, err := Drive(t.Context(), Config{
					Engine: engine, URL: url, Workers: 1, Rate: 0, Concurrency: 4, KeepAlive: keepAlive,
					Duration: time.Second, Warmup: time.Second, Timeout: 5 * time.Second,
					Phase: func(measuring bool) { phases = append(phases, measuring) },
				})
				if err != nil {
					t.Fatal(err)
				}
				checkAgainstWorker(t, res, s.Counters(0), keepAlive)
				checkLatencyHistogram(t, res, engine)
				if len(phases) != 2 || !phases[0] || phases[1] {
					t.Errorf("phase calls %v; want [true false]", phases)
				}
				if res.CPUSeconds <= 0 || res.PeakRSSBytes == 0 {
					t.Errorf("load generator used %v s CPU and %d bytes at peak; want both measured", res.CPUSeconds, res.PeakRSSBytes)
				}
			})
		}
	}
}

func checkAgainstWorker(t *testing.T, res *Result, c worker.Counters, keepAlive bool) {
	t.Helper()
	if res.Requests == 0 || res.Errors != 0 || res.Successes != res.Requests {
		t.Fatalf("%d requests, %d successes, %d errors (%v); want some, all successful", res.Requests, res.Successes, res.Errors, res.ErrorKinds)
	}
	if got := res.PerWorker[0]; got.Requests != c.Requests || got.Connections != c.Connections {
		t.Errorf("client tally %+v; worker counted %d requests, %d connections", got, c.Requests, c.Connections)
	}
	if res.WarmupPerWorker[0] != c.WarmupRequests || c.WarmupRequests == 0 {
		t.Errorf("client saw %d warm-up requests, worker %d; want equal and nonzero", res.WarmupPerWorker[0], c.WarmupRequests)
	}
	if keepAlive && c.Connections > 4 {
		t.Errorf("keep-alive with 4 in flight used %d connections; want at most 4", c.Connections)
	}
	if !keepAlive && c.Connections != c.Requests {
		t.Errorf("without keep-alive: %d connections for %d requests; want one each", c.Connections, c.Requests)
	}
	if l := res.Latency; l.P50 <= 0 || l.P99 < l.P50 || l.P999 < l.P99 || l.Max < l.P999 || l.Stddev <= 0 || l.Stddev > l.Max {
		t.Errorf("latency percentiles out of order, or no standard deviation: %+v", l)
	}
	if want := float64(res.Successes) / res.Elapsed.Seconds(); math.Abs(res.ThroughputRPS-want) > 1e-6*want {
		t.Errorf("throughput %v; want successes/elapsed = %v", res.ThroughputRPS, want)
	}
}

// checkLatencyHistogram: the histogram holds the measured successes, and
// its percentiles are those the engine reported, to the histogram's
// precision (3 significant digits) or one rank's difference, because wrk
// rounds a percentile's rank a little differently.
func checkLatencyHistogram(t *testing.T, res *Result, engine plan.Engine) {
	t.Helper()
	h := res.LatencyHistogram
	if h == nil {
		t.Fatal("no latency histogram")
	}
	count := uint64(h.TotalCount())
	switch {
	case engine == plan.Vegeta && count != res.Successes:
		t.Errorf("histogram counts %d requests; want the %d successes", count, res.Successes)
	// wrk's own distribution holds the requests its coordinated-omission
	// correction adds: a fifth more on this busy machine.
	case engine == plan.Wrk && count < res.Successes:
		t.Errorf("histogram counts %d requests; want the %d successes and wrk's corrections", count, res.Successes)
	}
	for _, pc := range []struct {
		q    float64
		want float64
	}{{50, res.Latency.P50}, {99, res.Latency.P99}} {
		got := float64(h.ValueAtQuantile(pc.q)) / 1000
		below, above := float64(h.ValueAtQuantile(pc.q-100/float64(count)))/1000, float64(h.ValueAtQuantile(pc.q+100/float64(count)))/1000
		if tolerance := 0.001*pc.want + 0.001; math.Abs(got-pc.want) > tolerance && (pc.want < below-tolerance || pc.want > above+tolerance) {
			t.Errorf("p%v from the histogram %v ms (a rank either side: %v, %v); %s said %v ms", pc.q, got, below, above, engine, pc.want)
		}
	}
}

// requireEngine stops a test whose engine is not installed: a failure in
// CI, which installs everything, and a skip with the reason elsewhere.
func requireEngine(t *testing.T, engine plan.Engine) {
	t.Helper()
	if engine == plan.Wrk {
		nstest.Require(t, "the wrk engine", WrkAvailable())
	}
}

// TestWrkSaysWhyItCannotStart: wrk checks that it can connect before it
// starts, and its own message is the error.
func TestWrkSaysWhyItCannotStart(t *testing.T) {
	requireEngine(t, "wrk")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	_, err = Drive(t.Context(), Config{Engine: "wrk", URL: "http://" + addr + "/", Workers: 2, Concurrency: 2, Duration: time.Second, Timeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "unable to connect to "+addr) {
		t.Errorf("wrk against a closed port: %v; want wrk's own message", err)
	}
}

func TestWrkThreadsDivideConnections(t *testing.T) {
	for _, tt := range []struct{ conns, cpus, want int }{
		{32, 2, 2}, {1, 8, 1}, {6, 4, 3}, {7, 4, 1}, {64, 0, 1},
	} {
		if got := wrkThreads(tt.conns, tt.cpus); got != tt.want {
			t.Errorf("wrkThreads(%d, %d) = %d; want %d", tt.conns, tt.cpus, got, tt.want)
		}
	}
}

func TestDriveRefusesAnUnknownEngine(t *testing.T) {
	if _, err := Drive(t.Context(), Config{Engine: "siege", URL: "http://127.0.0.1:1/", Duration: time.Second}); err == nil || !strings.Contains(err.Error(), `unknown load generator "siege"`) {
		t.Errorf("unknown engine: %v", err)
	}
}

func TestRunConstantRateSendsOnSchedule(t *testing.T) {
	_, url := serveWorker(t, worker.Work{})
	res, err := Drive(t.Context(), Config{URL: url, Workers: 1, Rate: 200, Concurrency: 2, KeepAlive: true, Duration: time.Second, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Open loop: the pacer decides the count, not the server's speed.
	if res.Requests < 190 || res.Requests > 201 {
		t.Errorf("200 req/s for 1s sent %d requests; want about 200", res.Requests)
	}
}

func TestRunRefusedIsCountedAsErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	res, err := Drive(t.Context(), Config{URL: "http://" + addr + "/", Workers: 2, Rate: 100, Concurrency: 1, Duration: 200 * time.Millisecond, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Errors != res.Requests || res.ErrorKinds["refused"] != res.Errors {
		t.Errorf("%d requests, %d errors, kinds %v; want every request refused", res.Requests, res.Errors, res.ErrorKinds)
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	_, url := serveWorker(t, worker.Work{})
	ctx, cancel := contextWithCancelAfter(t, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := Drive(ctx, Config{URL: url, Workers: 1, Rate: 100, Concurrency: 1, Duration: time.Minute, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted {
		t.Error("a cancelled run is not marked interrupted")
	}
	if time.Since(start) > 30*time.Second {
		t.Error("a cancelled run went on for its whole duration")
	}
}

func TestErrorKind(t *testing.T) {
	tests := []struct {
		code uint16
		msg  string
		want string
	}{
		{503, "503 Service Unavailable", "http_503"},
		{0, `Get "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused`, "refused"},
		{0, "read tcp 127.0.0.1:5->127.0.0.1:6: read: connection reset by peer", "reset"},
		{0, `Get "http://x/": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, "timeout"},
		{0, `Get "http://x/": EOF`, "eof"},
		{0, "dial tcp: cannot assign requested address", "no_local_port"},
		{0, "something odd", "other"},
	}
	for _, tt := range tests {
		if got := ErrorKind(tt.code, tt.msg); got != tt.want {
			t.Errorf("ErrorKind(%d, %q) = %q; want %q", tt.code, tt.msg, got, tt.want)
		}
	}
}

func TestIDSet(t *testing.T) {
	var s idSet
	for _, id := range []uint64{1, 64, 1000, 1} {
		s.add(id)
	}
	if s.add(64) || !s.add(65) || s.add(maxConnID) {
		t.Error("idSet: want 64 already seen, 65 new, out-of-range ids ignored")
	}
}

func contextWithCancelAfter(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(d, cancel)
	return ctx, cancel
}

// TestWrkReadsHeadersInAnyCase: header names are case-insensitive, and
// some proxies (HAProxy) send them in lower case.
func TestWrkReadsHeadersInAnyCase(t *testing.T) {
	requireEngine(t, "wrk")
	var served atomic.Uint64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(worker.HeaderWarmup) == "" {
			served.Add(1)
		}
		w.Header()["x-worker"] = []string{"1"} // as written, not canonicalised
		w.Header()["X-WORKER-CONN"] = []string{"7"}
	}))
	t.Cleanup(srv.Close)
	res, err := Drive(t.Context(), Config{Engine: "wrk", URL: srv.URL, Workers: 2, Concurrency: 1, KeepAlive: true, Duration: time.Second, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Unattributed != 0 || res.PerWorker[1].Requests != served.Load() || res.PerWorker[1].Connections != 1 {
		t.Errorf("tallies %+v, %d unattributed; want all %d responses on worker 1, over one connection id", res.PerWorker, res.Unattributed, served.Load())
	}
}

// TestAggregateLatencyFigures feeds the vegeta aggregate responses of
// known latencies: half take 1 ms and half 41 ms, so the mean is 21 ms and
// the standard deviation 20 ms; a failed request counts in neither.
func TestAggregateLatencyFigures(t *testing.T) {
	a := newAggregate(1, time.Second)
	a.start = time.Now()
	h := http.Header{}
	h.Set(worker.HeaderWorker, "0")
	for i := range 100 {
		latency := time.Millisecond
		if i%2 == 1 {
			latency = 41 * time.Millisecond
		}
		a.add(&vegeta.Result{Code: 200, Timestamp: a.start, Latency: latency, Headers: h})
	}
	a.add(&vegeta.Result{Code: 0, Error: "connection refused", Timestamp: a.start, Latency: time.Second})
	l := a.result(time.Since(a.start)).Latency
	near := func(got, want float64) bool { return math.Abs(got-want) <= 0.001*want } // the histogram's precision
	if !near(l.Mean, 21) || !near(l.Stddev, 20) || !near(l.P50, 1) || !near(l.P999, 41) || !near(l.Max, 41) {
		t.Errorf("latency %+v; want mean 21, stddev 20, p50 1, p99.9 and max 41 (ms)", l)
	}
}

// TestWrkReportLatency reads the script's report line: wrk gives
// microseconds, the result milliseconds.
func TestWrkReportLatency(t *testing.T) {
	r := &wrkRun{cmd: exec.Command("true")} // a process that ended, for its resource usage
	if err := r.cmd.Run(); err != nil {
		t.Fatal(err)
	}
	r.stdout.WriteString("Running 1s test\n" + wrkReportPrefix + `{"elapsed_s":1,"responses":2,"served":{"0":2},"connections":{"0":1},"statuses":{},"unnamed":0,` +
		`"errors":{"connect":0,"read":0,"write":0,"timeout":0},"latency_us":{"mean":1500.5,"p50":1000,"p90":2000,"p99":2900,"p999":2990,"max":3000,"stdev":707.5}}` + "\n")
	if err := r.parse(); err != nil {
		t.Fatal(err)
	}
	got := r.result(1).Latency
	want := Latency{Mean: 1.5005, P50: 1, P90: 2, P99: 2.9, P999: 2.99, Max: 3, Stddev: 0.7075}
	if got != want {
		t.Errorf("latency %+v; want %+v", got, want)
	}
	if h := r.result(1).LatencyHistogram; h != nil {
		t.Errorf("a report without latency buckets gave a histogram of %d", h.TotalCount())
	}
}

// TestWrkReportLatencyBuckets: each bucket's latency is given less the
// previous one's (exact below 2048 µs, the histogram's precision); a
// script that could not read them says null.
func TestWrkReportLatencyBuckets(t *testing.T) {
	for _, tt := range []struct {
		buckets  string
		want     map[int64]int64
		noBucket bool
	}{
		{buckets: "[1000,1,500,3,5,2]", want: map[int64]int64{1000: 1, 1500: 3, 1505: 2}},
		{buckets: "[]", want: map[int64]int64{}},
		{buckets: "null", noBucket: true},
	} {
		r := &wrkRun{cmd: exec.Command("true")}
		if err := r.cmd.Run(); err != nil {
			t.Fatal(err)
		}
		r.stdout.WriteString(wrkReportPrefix + `{"elapsed_s":1,"served":{},"connections":{},"statuses":{},"errors":{},"latency_us":{},"latency_buckets":` + tt.buckets + "}\n")
		if err := r.parse(); err != nil {
			t.Fatal(err)
		}
		h := r.result(1).LatencyHistogram
		if tt.noBucket {
			if h != nil {
				t.Errorf("%s: a histogram of %d; want none", tt.buckets, h.TotalCount())
			}
			continue
		}
		got := map[int64]int64{}
		for _, b := range h.Distribution() {
			if b.Count > 0 {
				got[b.From] += b.Count
			}
		}
		if !maps.Equal(got, tt.want) {
			t.Errorf("%s: histogram %v; want %v", tt.buckets, got, tt.want)
		}
	}
}
