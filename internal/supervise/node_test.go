package supervise

import (
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"clusterbench/internal/nstest"
	"clusterbench/worker"
)

// TestNodeClusterKeepsTheContract runs the Node worker app under both of
// Node's scheduling policies: its responses carry the Go worker's headers
// and body, it does the handler's CPU work, and each worker's final counts
// agree with what the client saw of it, warm-up apart.
func TestNodeClusterKeepsTheContract(t *testing.T) {
	_, err := exec.LookPath("node")
	nstest.Require(t, "node (Node.js)", err)
	for _, policy := range []string{"rr", "none"} {
		t.Run(policy, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			sock, err := ln.(*net.TCPListener).File()
			ln.Close()
			if err != nil {
				t.Fatal(err)
			}
			h := worker.Work{BodyBytes: 100, CPU: 2 * time.Millisecond, Sleep: time.Millisecond}
			c, err := StartNodeCluster(policy, h, sock, t.Output())
			sock.Close()
			if err != nil {
				t.Fatal(err)
			}
			var procs []*Process
			for i := range 2 {
				p, err := c.Start(worker.Spec{Index: i})
				if err != nil {
					t.Fatal(err)
				}
				if err := p.WaitReady(t.Context()); err != nil {
					t.Fatal(err)
				}
				procs = append(procs, p)
			}
			url := "http://" + ln.Addr().String() + "/"
			keepAlive := &http.Client{Transport: &http.Transport{}}
			fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			type seen struct{ requests, connections int }
			client := map[string]*seen{}
			conns := map[string]bool{}
			for i := range 40 {
				hc, warmup := fresh, i < 4
				if i%2 == 0 {
					hc = keepAlive
				}
				resp := get(t, hc, url, warmup)
				w, pid, conn := resp.Header.Get(worker.HeaderWorker), resp.Header.Get(worker.HeaderPID), resp.Header.Get(worker.HeaderConn)
				index, err := strconv.Atoi(w)
				if err != nil || index < 0 || index > 1 || pid != strconv.Itoa(procs[index].PID()) || conn == "" || resp.ContentLength != 100 {
					t.Fatalf("response %d: worker %q, pid %q, connection %q, %d bytes; want a worker of %v, its pid, a connection id, 100 bytes",
						i, w, pid, conn, resp.ContentLength, []int{procs[0].PID(), procs[1].PID()})
				}
				if warmup {
					continue
				}
				if client[w] == nil {
					client[w] = &seen{}
				}
				client[w].requests++
				if key := pid + "/" + conn; !conns[key] {
					conns[key] = true
					client[w].connections++
				}
			}
			keepAlive.CloseIdleConnections()
			total := 0
			for i, p := range procs {
				got, err := p.Stop(5 * time.Second)
				if err != nil {
					t.Fatal(err)
				}
				want := client[strconv.Itoa(i)]
				if want == nil {
					want = &seen{}
				}
				total += int(got.Requests)
				if got.Index != i || got.PID != p.PID() || int(got.Requests) != want.requests || int(got.Connections) != want.connections {
					t.Errorf("worker %d counted %+v; the client saw %d requests on %d connections", i, got, want.requests, want.connections)
				}
				if cpu := p.CPU(); cpu < time.Duration(got.Requests+got.WarmupRequests)*h.CPU/2 {
					t.Errorf("worker %d used %v of CPU for %d requests; want at least half of %v each", i, cpu, got.Requests+got.WarmupRequests, h.CPU)
				}
			}
			if total != 36 {
				t.Errorf("workers counted %d requests; want the 36 after the warm-up", total)
			}
			if err := c.Stop(5 * time.Second); err != nil {
				t.Error(err)
			}
			if c.CPUSeconds() <= 0 {
				t.Errorf("primary CPU %v s; want it measured", c.CPUSeconds())
			}
		})
	}
}
