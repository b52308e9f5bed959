package supervise

import (
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"clusterbench/worker"
)

// TestMain lets the test binary act as a worker process, as the real binary
// does with its hidden subcommand.
func TestMain(m *testing.M) {
	if os.Getenv("CLUSTERBENCH_TEST_WORKER") == "1" {
		if err := worker.Main(os.Args[1:]); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// get sends one request, marked as warm-up if asked, and reads the answer.
func get(t *testing.T, c *http.Client, url string, warmup bool) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if warmup {
		req.Header.Set(worker.HeaderWarmup, "1")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
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
	p, err := l.Start(worker.Spec{Index: 3, Work: worker.Work{BodyBytes: 10}}, sock)
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
		if got := get(t, client, url, false).Header.Get(worker.HeaderWorker); got != "3" {
			t.Errorf("%s = %q; want 3", worker.HeaderWorker, got)
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
	p, err := l.Start(worker.Spec{Index: 0}, devnull) // fd 3 is not a socket
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
