package worker

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"clusterbench/internal/accept"
)

// get sends one request, marked as warm-up if asked, and reads the answer.
func get(t *testing.T, c *http.Client, url string, warmup bool) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if warmup {
		req.Header.Set(HeaderWarmup, "1")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestServerContract(t *testing.T) {
	s := NewServer(5, Work{BodyBytes: 100}, 0)
	ts := httptest.NewUnstartedServer(s)
	ts.Config = s.HTTPServer()
	ts.Start()
	defer ts.Close()

	keepAlive := &http.Client{Transport: &http.Transport{}}
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	first := get(t, keepAlive, ts.URL, true) // warm-up opens the kept-alive connection
	if got := first.Header.Get(HeaderWorker); got != "5" {
		t.Errorf("%s = %q; want 5", HeaderWorker, got)
	}
	if got := first.Header.Get(HeaderPID); got != strconv.Itoa(os.Getpid()) {
		t.Errorf("%s = %q; want this process's id %d", HeaderPID, got, os.Getpid())
	}
	if first.ContentLength != 100 {
		t.Errorf("body length %d; want 100", first.ContentLength)
	}
	conn := first.Header.Get(HeaderConn)
	for range 3 {
		if got := get(t, keepAlive, ts.URL, false).Header.Get(HeaderConn); got != conn {
			t.Errorf("kept-alive request on connection %q; want %q", got, conn)
		}
	}
	seen := map[string]bool{conn: true}
	for range 2 {
		id := get(t, fresh, ts.URL, false).Header.Get(HeaderConn)
		if seen[id] {
			t.Errorf("new connection reused id %q", id)
		}
		seen[id] = true
	}

	got := s.Counters(42)
	want := Counters{Index: 5, PID: 42, Requests: 5, Connections: 3, WarmupRequests: 1, Accepted: 3}
	if got != want {
		t.Errorf("counters = %+v; want %+v (the warm-up request and its connection's first use are not counted)", got, want)
	}
}

func TestSpinWorkScalesWithCalibration(t *testing.T) {
	rate := Calibrate()
	if rate <= 0 {
		t.Fatalf("Calibrate() = %v; want a positive rate", rate)
	}
	// Ask for 20ms of CPU and check the thread clock saw about that much;
	// CPU time, not wall time, so a busy machine does not change it much.
	work := spinWork(20000 * rate)
	// A thread's clock: the goroutine must not move to another thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := threadCPU()
	work.run()
	used := threadCPU() - start
	if used < 5*time.Millisecond || used > 200*time.Millisecond {
		t.Errorf("20ms of calibrated work used %v of CPU", used)
	}
}

// TestSpecArgsRoundTrip checks that Main reads back exactly the spec its
// parent wrote as flags: the two sides of one contract.
func TestSpecArgsRoundTrip(t *testing.T) {
	for _, want := range []Spec{
		{},
		{Index: 7, Work: Work{BodyBytes: 4096, CPU: 250 * time.Microsecond, Sleep: 5 * time.Millisecond}, SpinRate: 1234.5678},
		{Index: 1, Work: Work{CPU: time.Nanosecond}, SpinRate: 1e-9},
		{Index: 2, Work: Work{CPU: 100 * time.Microsecond, Tail: Tail{Fraction: 0.07, CPU: 10 * time.Millisecond}}, SpinRate: 3},
		{Work: Work{Tail: Tail{Fraction: 1e-7, CPU: time.Nanosecond}}},
		{Index: 0, Threads: 8},
		{Index: 2, Accept: accept.Blocking},
	} {
		got, err := parseArgs(want.Args())
		if err != nil {
			t.Fatalf("parseArgs(%q): %v", want.Args(), err)
		}
		if got != want {
			t.Errorf("parseArgs(%q) = %+v; want %+v", want.Args(), got, want)
		}
	}
}
