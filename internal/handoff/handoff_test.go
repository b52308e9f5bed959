package handoff

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"clusterbench/internal/leakcheck"
)

// fakeWorker is the worker's end of a channel driven by hand, so a test
// decides when, and whether, each connection is acknowledged.
type fakeWorker struct {
	t    *testing.T
	fd   int
	f    *os.File
	acks int // the socket of the hello
}

func attach(t *testing.T, d *Dispatcher, index int) *fakeWorker {
	t.Helper()
	f, err := d.Attach(index)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	w := &fakeWorker{t: t, fd: int(f.Fd()), f: f}
	seq, acks, flags, ok := w.receiveFlags(5 * time.Second)
	if !ok || seq != 0 || flags != flagHello {
		t.Fatalf("first message: seq %d flags %d; want the hello", seq, flags)
	}
	w.acks = acks
	return w
}

// receive waits for the next handed-over connection and returns its
// sequence number and descriptor, or ok=false if none comes in time.
func (w *fakeWorker) receive(wait time.Duration) (seq uint32, conn int, ok bool) {
	seq, conn, _, ok = w.receiveFlags(wait)
	return seq, conn, ok
}

func (w *fakeWorker) receiveFlags(wait time.Duration) (seq uint32, conn int, flags byte, ok bool) {
	w.t.Helper()
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
	if n, _ := unix.Poll(fds, int(wait.Milliseconds())); n == 0 {
		return 0, -1, 0, false
	}
	msg := make([]byte, maxConnMsgLen)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(w.fd, msg, oob, 0)
	if err != nil || n < connHeaderLen {
		w.t.Fatalf("recvmsg: %d bytes, %v", n, err)
	}
	conn, err = oneRight(oob[:oobn])
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { unix.Close(conn) })
	return binary.LittleEndian.Uint32(msg), conn, msg[4], true
}

func (w *fakeWorker) ack(seq uint32, accepted bool) {
	w.t.Helper()
	if _, err := unix.Write(w.acks, encodeAck(nil, seq, accepted)); err != nil {
		w.t.Fatal(err)
	}
}

// mustReceive returns the next connection's sequence number and its
// client's port, which tells the test which dial it was.
func (w *fakeWorker) mustReceive() (uint32, int) {
	w.t.Helper()
	seq, conn, ok := w.receive(5 * time.Second)
	if !ok {
		w.t.Fatal("no connection handed over")
	}
	peer, err := unix.Getpeername(conn)
	if err != nil {
		w.t.Fatal(err)
	}
	return seq, peer.(*unix.SockaddrInet4).Port
}

func (w *fakeWorker) receivesNothing() {
	w.t.Helper()
	if _, _, ok := w.receive(100 * time.Millisecond); ok {
		w.t.Error("a connection was handed over; want none")
	}
}

func newDispatcher(t testing.TB, policy Policy) (*Dispatcher, string) {
	t.Helper()
	return newDispatcherOn(t, policy, "127.0.0.1:0")
}

// newDispatcherOn is newDispatcher on a listener at listen.
func newDispatcherOn(t testing.TB, policy Policy, listen string) (*Dispatcher, string) {
	t.Helper()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	d, err := NewDispatcher(f, policy, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, addr
}

// dial opens a client connection and returns its local port.
func dial(t *testing.T, addr string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.LocalAddr().(*net.TCPAddr).Port
}

func TestFreeServesTheLongestIdleWorkerAndQueuesTheRest(t *testing.T) {
	d, addr := newDispatcher(t, Free)
	w := []*fakeWorker{attach(t, d, 0), attach(t, d, 1), attach(t, d, 2)}

	// Idle in attach order: 0, 1, 2.
	var seqs [3]uint32
	for i := range w {
		port := dial(t, addr)
		seq, got := w[i].mustReceive()
		if got != port {
			t.Fatalf("worker %d got the connection from port %d; want %d", i, got, port)
		}
		seqs[i] = seq
	}
	// Nobody has acknowledged: the next connection waits in the master.
	waiting := dial(t, addr)
	for _, wk := range w {
		wk.receivesNothing()
	}
	// The first to acknowledge takes the waiting connection.
	w[2].ack(seqs[2], true)
	seq2, got := w[2].mustReceive()
	if got != waiting {
		t.Errorf("worker 2 got port %d; want the waiting connection from %d", got, waiting)
	}
	// Then 0 and 1 become idle, in that order, and are served in that order.
	w[0].ack(seqs[0], true)
	w[1].ack(seqs[1], true)
	time.Sleep(50 * time.Millisecond) // let the master read both
	for _, i := range []int{0, 1} {
		port := dial(t, addr)
		if _, got := w[i].mustReceive(); got != port {
			t.Errorf("worker %d got port %d; want %d", i, got, port)
		}
	}
	w[2].ack(seq2, true)
	if s := d.Stats(); s.Accepted != 6 || s.Handed != 6 || s.MaxWaiting != 1 {
		t.Errorf("stats %+v; want 6 accepted and handed, at most 1 waiting", s)
	}
}

func TestRotateTakesStrictTurnsWithoutAcknowledgements(t *testing.T) {
	d, addr := newDispatcher(t, Rotate)
	w := []*fakeWorker{attach(t, d, 0), attach(t, d, 1), attach(t, d, 2)}
	for round := range 3 {
		for i := range w {
			port := dial(t, addr)
			_, conn, flags, ok := w[i].receiveFlags(5 * time.Second)
			if !ok {
				t.Fatalf("round %d: worker %d got nothing", round, i)
			}
			if peer, _ := unix.Getpeername(conn); peer.(*unix.SockaddrInet4).Port != port {
				t.Fatalf("round %d: worker %d got another connection than %d", round, i, port)
			}
			if flags&flagAck != 0 {
				t.Errorf("rotate asked for an acknowledgement")
			}
		}
	}
	// Worker 1 goes away: the turn skips it.
	w[1].f.Close()
	time.Sleep(50 * time.Millisecond)
	for _, i := range []int{0, 2, 0} {
		port := dial(t, addr)
		if _, got := w[i].mustReceive(); got != port {
			t.Fatalf("worker %d got port %d; want %d", i, got, port)
		}
	}
	if s := d.Stats(); s.Handed != 12 || s.WorkersGone != 1 {
		t.Errorf("stats %+v; want 12 hand-overs, 1 worker gone", s)
	}
}

func TestRejectedConnectionGoesToAnotherWorker(t *testing.T) {
	d, addr := newDispatcher(t, Free)
	w0, w1 := attach(t, d, 0), attach(t, d, 1)
	port := dial(t, addr)
	seq, _ := w0.mustReceive()
	w0.ack(seq, false)
	if _, got := w1.mustReceive(); got != port {
		t.Errorf("worker 1 got port %d; want the rejected connection from %d", got, port)
	}
	if s := d.Stats(); s.Rejected != 1 || s.Handed != 2 {
		t.Errorf("stats %+v; want 1 rejected, 2 hand-overs", s)
	}
}

func TestConnectionsOfAWorkerThatGoesAwayGoToOthers(t *testing.T) {
	d, addr := newDispatcher(t, Free)
	w0, w1 := attach(t, d, 0), attach(t, d, 1)
	// Worker 0 takes the first connection and acknowledges it, then takes
	// the third and dies without acknowledging it.
	dial(t, addr)
	seq, _ := w0.mustReceive()
	w0.ack(seq, true)
	dial(t, addr)
	seq1, _ := w1.mustReceive()
	third := dial(t, addr)
	if _, got := w0.mustReceive(); got != third {
		t.Fatalf("worker 0 got port %d; want %d", got, third)
	}
	w0.f.Close()
	time.Sleep(50 * time.Millisecond)
	// The orphan waits for worker 1, the only one left.
	w1.ack(seq1, true)
	if _, got := w1.mustReceive(); got != third {
		t.Errorf("worker 1 got port %d; want the orphaned connection from %d", got, third)
	}
	if s := d.Stats(); s.Orphaned != 1 || s.WorkersGone != 1 {
		t.Errorf("stats %+v; want 1 orphaned connection, 1 worker gone", s)
	}
}

func TestReplacementWorkerTakesWaitingConnections(t *testing.T) {
	d, addr := newDispatcher(t, Free)
	w0 := attach(t, d, 0)
	w0.f.Close()
	time.Sleep(50 * time.Millisecond)
	port := dial(t, addr) // no worker: it waits
	again := attach(t, d, 0)
	if _, got := again.mustReceive(); got != port {
		t.Errorf("replacement got port %d; want the waiting connection from %d", got, port)
	}
}

func TestListenerServesHTTP(t *testing.T) {
	d, addr := newDispatcher(t, Free)
	f, err := d.Attach(0)
	if err != nil {
		t.Fatal(err)
	}
	if !IsChannel(int(f.Fd())) {
		t.Fatal("IsChannel is false for a channel")
	}
	ln, err := NewListener(f)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "handed over")
	})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for range 20 {
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "handed over" {
			t.Fatalf("body %q", body)
		}
	}
	if s := d.Stats(); s.Accepted != 20 || s.Rejected != 0 {
		t.Errorf("stats %+v; want 20 accepted, none rejected", s)
	}
	// The master goes first: the worker keeps serving until it is closed.
	d.Close()
	select {
	case err := <-served:
		t.Fatalf("Serve returned when the master closed: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	srv.Close()
	if err := <-served; err != http.ErrServerClosed {
		t.Errorf("Serve: %v; want ErrServerClosed", err)
	}
}

func TestIsChannelOfAListeningSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, _ := ln.(*net.TCPListener).File()
	defer f.Close()
	if IsChannel(int(f.Fd())) {
		t.Error("IsChannel is true for a TCP listening socket")
	}
}

// TestNoDescriptorLeaks closes dispatchers holding connections in every
// state (in flight, waiting for a worker) and checks that the process has
// the descriptors it had before.
func TestNoDescriptorLeaks(t *testing.T) {
	for _, policy := range Policies {
		t.Run(string(policy), func(t *testing.T) {
			checkFDs := leakcheck.FDs(t)
			defer checkFDs()
			d, addr := newDispatcher(t, policy)
			worker, _ := d.Attach(0)
			defer worker.Close()
			for range 5 {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
			}
			deadline := time.Now().Add(5 * time.Second)
			for d.Stats().Accepted < 5 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if err := d.Close(); err != nil {
				t.Error(err)
			}
			if s := d.Stats(); s.Accepted != 5 || (policy == Free && s.Dropped != 4) {
				t.Errorf("stats %+v; want 5 accepted (under free: 1 in flight, 4 dropped at close)", s)
			}
		})
	}
}

// TestListenerRefusesAMessageWithoutDescriptor: a worker out of
// descriptors receives the message but not the connection; it must refuse
// it so that the master hands its own copy to another worker.
func TestListenerRefusesAMessageWithoutDescriptor(t *testing.T) {
	master, workerEnd, err := Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(master)
	acks, err := sendAckSocket(master)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(acks)
	ln, err := NewListener(workerEnd)
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan error, 1)
	go func() {
		_, err := ln.Accept()
		accepted <- err
	}()
	msg := binary.LittleEndian.AppendUint32(nil, 7)
	if _, err := unix.Write(master, append(msg, flagAck, 0, 0)); err != nil { // no addresses
		t.Fatal(err)
	}
	fds := []unix.PollFd{{Fd: int32(acks), Events: unix.POLLIN}}
	if n, _ := unix.Poll(fds, 5000); n != 1 {
		t.Fatal("no acknowledgement")
	}
	buf := make([]byte, 16)
	n, err := unix.Read(acks, buf)
	if err != nil {
		t.Fatal(err)
	}
	seq, ok, err := decodeAck(buf[:n])
	if err != nil || seq != 7 || ok {
		t.Errorf("acknowledgement seq %d accepted %v (%v); want 7 refused", seq, ok, err)
	}
	ln.Close()
	if err := <-accepted; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v; want net.ErrClosed", err)
	}
}

// BenchmarkHandOver measures one connection's trip through a master and a
// worker in this process: dial, accept, hand over, receive, close. Compare
// policies with `go test -bench HandOver ./internal/handoff`.
func BenchmarkHandOver(b *testing.B) {
	for _, policy := range Policies {
		b.Run(string(policy), func(b *testing.B) {
			d, addr := newDispatcher(b, policy)
			end, err := d.Attach(0)
			if err != nil {
				b.Fatal(err)
			}
			worker, err := NewListener(end)
			if err != nil {
				b.Fatal(err)
			}
			defer worker.Close()
			defer d.Close() // first: the master goes before its worker
			go func() {
				for {
					c, err := worker.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
			var buf [1]byte
			for b.Loop() {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					b.Fatal(err)
				}
				c.Read(buf[:]) // returns once the worker has closed it
				c.Close()
			}
		})
	}
}

// TestRotateWaitsForRoomOnAFullChannel fills a worker's channel (it reads
// nothing for a while): the master must queue the rest, wait for room, and
// then deliver every connection in order.
func TestRotateWaitsForRoomOnAFullChannel(t *testing.T) {
	d, addr := newDispatcher(t, Rotate)
	w := attach(t, d, 0)
	const conns = 1000 // more than a unix socket's queue of 512 messages
	for range conns {
		dial(t, addr)
	}
	deadline := time.Now().Add(10 * time.Second)
	for d.Stats().Accepted < conns && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s := d.Stats(); s.Accepted != conns || s.Handed >= conns {
		t.Fatalf("stats %+v; want all %d accepted and some still queued in the master", s, conns)
	}
	for i := range conns {
		seq, _, ok := w.receive(5 * time.Second)
		if !ok {
			t.Fatalf("connection %d never arrived (stats %+v)", i, d.Stats())
		}
		if seq != uint32(i) {
			t.Fatalf("connection %d came with sequence %d", i, seq)
		}
	}
	if s := d.Stats(); s.Handed != conns {
		t.Errorf("stats %+v; want all %d handed over", s, conns)
	}
}
