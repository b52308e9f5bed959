package worker

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestMain lets the test binary act as a worker process, as the real binary
// does with its hidden subcommand.
func TestMain(m *testing.M) {
	if os.Getenv("CLUSTERBENCH_TEST_WORKER") == "1" {
		if err := Main(os.Args[1:]); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

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

func TestProcessServesAndSendsFinalCounts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sock, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	l := Launcher{Command: []string{os.Args[0]}, Env: []string{"CLUSTERBENCH_TEST_WORKER=1"}, Stderr: os.Stderr}
	p, err := l.Start(Spec{Index: 3, Work: Work{BodyBytes: 10}}, sock)
	sock.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/"
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for range 7 {
		if got := get(t, client, url, false).Header.Get(HeaderWorker); got != "3" {
			t.Errorf("%s = %q; want 3", HeaderWorker, got)
		}
	}
	c, err := p.Stop(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if c.Requests != 7 || c.Connections != 7 || c.Index != 3 || c.PID != p.PID() {
		t.Errorf("final counters %+v; want 7 requests on 7 connections from worker 3, pid %d", c, p.PID())
	}
	if processAlive(p.PID()) {
		t.Errorf("worker %d still alive after Stop", p.PID())
	}
}

func TestProcessWithoutSocketFailsBeforeReady(t *testing.T) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	l := Launcher{Command: []string{os.Args[0]}, Env: []string{"CLUSTERBENCH_TEST_WORKER=1"}, Stderr: io.Discard}
	p, err := l.Start(Spec{Index: 0}, devnull) // fd 3 is not a socket
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitReady(t.Context()); err == nil {
		t.Error("WaitReady succeeded for a worker without a listening socket")
	}
}

func processAlive(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}
