package loadgen

import (
	"context"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"clusterbench/worker"
)

// serveWorker serves the worker app's handler in-process, as worker 0.
func serveWorker(t *testing.T, h worker.Handler) (*worker.Server, string) {
	t.Helper()
	s := worker.NewServer(0, h, 0)
	srv := httptest.NewUnstartedServer(s)
	srv.Config = s.HTTPServer()
	srv.Start()
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func TestRunCountsAgreeWithWorker(t *testing.T) {
	for _, keepAlive := range []bool{true, false} {
		s, url := serveWorker(t, worker.Handler{BodyBytes: 8})
		res, err := Run(t.Context(), Config{
			URL: url, Workers: 1, Rate: 0, Concurrency: 4, KeepAlive: keepAlive,
			Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond, Timeout: 5 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		c := s.Counters(0)
		if res.Requests == 0 || res.Errors != 0 || res.Successes != res.Requests {
			t.Fatalf("keep-alive %v: %d requests, %d successes, %d errors; want some, all successful", keepAlive, res.Requests, res.Successes, res.Errors)
		}
		if got := res.PerWorker[0]; got.Requests != c.Requests || got.Connections != c.Connections {
			t.Errorf("keep-alive %v: client tally %+v; worker counted %d requests, %d connections", keepAlive, got, c.Requests, c.Connections)
		}
		if res.WarmupPerWorker[0] != c.WarmupRequests || c.WarmupRequests == 0 {
			t.Errorf("keep-alive %v: client saw %d warm-up requests, worker %d; want equal and nonzero", keepAlive, res.WarmupPerWorker[0], c.WarmupRequests)
		}
		if keepAlive && c.Connections > 4 {
			t.Errorf("keep-alive with 4 attackers used %d connections; want at most 4", c.Connections)
		}
		if !keepAlive && c.Connections != c.Requests {
			t.Errorf("without keep-alive: %d connections for %d requests; want one each", c.Connections, c.Requests)
		}
		if res.Latency.P50 <= 0 || res.Latency.P99 < res.Latency.P50 || res.Latency.Max < res.Latency.P99 {
			t.Errorf("latency percentiles out of order: %+v", res.Latency)
		}
	}
}

func TestRunConstantRateSendsOnSchedule(t *testing.T) {
	_, url := serveWorker(t, worker.Handler{})
	res, err := Run(t.Context(), Config{URL: url, Workers: 1, Rate: 200, Concurrency: 2, KeepAlive: true, Duration: time.Second, Timeout: 5 * time.Second})
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
	res, err := Run(t.Context(), Config{URL: "http://" + addr + "/", Workers: 2, Rate: 100, Concurrency: 1, Duration: 200 * time.Millisecond, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Errors != res.Requests || res.ErrorKinds["refused"] != res.Errors {
		t.Errorf("%d requests, %d errors, kinds %v; want every request refused", res.Requests, res.Errors, res.ErrorKinds)
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	_, url := serveWorker(t, worker.Handler{})
	ctx, cancel := contextWithCancelAfter(t, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, Config{URL: url, Workers: 1, Rate: 100, Concurrency: 1, Duration: time.Minute, Timeout: time.Second})
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
