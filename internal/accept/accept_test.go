package accept

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"clusterbench/internal/leakcheck"
)

// sharedSocket is a listening socket as the shared mode's frontend holds
// it: plain TCP, where Go would make it Multipath TCP.
func sharedSocket(t *testing.T) (*os.File, string) {
	t.Helper()
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	return f, ln.Addr().String()
}

// listeners opens n workers' listeners on copies of one shared socket.
func listeners(t *testing.T, p Policy, sock *os.File, n int) []net.Listener {
	t.Helper()
	lns := make([]net.Listener, n)
	for i := range lns {
		fd, err := unix.Dup(int(sock.Fd()))
		if err != nil {
			t.Fatal(err)
		}
		if lns[i], err = Listen(os.NewFile(uintptr(fd), "shared"), p); err != nil {
			t.Fatal(err)
		}
	}
	return lns
}

func runnable(t *testing.T, p Policy) {
	t.Helper()
	if err := Available(p); err != nil {
		t.Skipf("%s cannot run here: %v", p, err)
	}
}

// TestSharedSocketServesEveryConnection: several workers' listeners on one
// socket together accept every connection once, and each connection
// carries data both ways with the addresses the client sees.
func TestSharedSocketServesEveryConnection(t *testing.T) {
	for _, p := range Policies {
		t.Run(string(p), func(t *testing.T) {
			runnable(t, p)
			noLeak := leakcheck.FDs(t)
			sock, addr := sharedSocket(t)
			lns := listeners(t, p, sock, 3)
			sock.Close()

			const conns = 30
			var wg sync.WaitGroup
			served := make([]int, len(lns))
			for i, ln := range lns {
				wg.Go(func() {
					for {
						c, err := ln.Accept()
						if errors.Is(err, net.ErrClosed) {
							return
						}
						if err != nil {
							t.Errorf("listener %d: %v", i, err)
							return
						}
						served[i]++
						if c.LocalAddr().String() != addr {
							t.Errorf("LocalAddr %s; want %s", c.LocalAddr(), addr)
						}
						fmt.Fprintf(c, "%s %d\n", c.RemoteAddr(), i)
						c.Close()
					}
				})
			}
			for range conns {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(c)
				c.Close()
				var remote string
				var index int
				if _, scanErr := fmt.Sscanf(string(got), "%s %d", &remote, &index); err != nil || scanErr != nil || remote != c.LocalAddr().String() {
					t.Fatalf("read %q, %v; want the client's address %s and a worker", got, err, c.LocalAddr())
				}
			}
			for _, ln := range lns {
				ln.Close()
			}
			wg.Wait()
			total := 0
			for _, n := range served {
				total += n
			}
			if total != conns {
				t.Errorf("workers served %v, %d in all; want %d", served, total, conns)
			}
			t.Logf("%s: connections per worker %v", p, served)
			noLeak()
		})
	}
}

// TestCloseEndsABlockedAccept: net/http's Shutdown waits for Serve to
// return, so Close must end an Accept that waits for a connection.
func TestCloseEndsABlockedAccept(t *testing.T) {
	for _, p := range Policies {
		t.Run(string(p), func(t *testing.T) {
			runnable(t, p)
			noLeak := leakcheck.FDs(t)
			sock, _ := sharedSocket(t)
			lns := listeners(t, p, sock, 2)
			sock.Close()
			done := make(chan error, 1)
			go func() {
				_, err := lns[0].Accept()
				done <- err
			}()
			time.Sleep(50 * time.Millisecond) // let it block
			if err := lns[0].Close(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("Accept after Close: %v; want net.ErrClosed", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Accept still blocked 5 s after Close")
			}
			if err := lns[0].Close(); !errors.Is(err, net.ErrClosed) {
				t.Errorf("second Close: %v; want net.ErrClosed", err)
			}
			if _, err := lns[0].Accept(); !errors.Is(err, net.ErrClosed) {
				t.Errorf("Accept on a closed listener: %v; want net.ErrClosed", err)
			}
			lns[1].Close()
			noLeak()
		})
	}
}

// TestAcceptedConnectionIsLikeGos: the connection has the socket options
// Go's own accept gives one, so net/http sees no difference between
// policies.
func TestAcceptedConnectionIsLikeGos(t *testing.T) {
	for _, p := range Policies {
		t.Run(string(p), func(t *testing.T) {
			runnable(t, p)
			sock, addr := sharedSocket(t)
			lns := listeners(t, p, sock, 1)
			sock.Close()
			defer lns[0].Close()
			client, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			c, err := lns[0].Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got := options(t, c)
			want := options(t, client) // Go's dial sets the same as its accept
			if got != want {
				t.Errorf("socket options %+v; want Go's, %+v", got, want)
			}
			c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			var ne net.Error
			if _, err := c.Read(make([]byte, 1)); !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("read past the deadline: %v; want a timeout", err)
			}
		})
	}
}

type sockOptions struct{ NoDelay, KeepAlive, Nonblock, CloseOnExec bool }

func options(t *testing.T, c net.Conn) sockOptions {
	t.Helper()
	sc, ok := c.(interface {
		SyscallConn() (syscall.RawConn, error)
	})
	if !ok {
		t.Fatalf("%T has no descriptor", c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var o sockOptions
	rc.Control(func(u uintptr) {
		fd := int(u)
		nd, _ := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY)
		ka, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE)
		fl, _ := unix.FcntlInt(u, unix.F_GETFL, 0)
		fdfl, _ := unix.FcntlInt(u, unix.F_GETFD, 0)
		o = sockOptions{nd != 0, ka != 0, fl&unix.O_NONBLOCK != 0, fdfl&unix.FD_CLOEXEC != 0}
	})
	return o
}

// TestAvailable: the policies that need nothing run anywhere; an unknown
// one is named.
func TestAvailable(t *testing.T) {
	for _, p := range []Policy{Race, Blocking} {
		if err := Available(p); err != nil {
			t.Errorf("Available(%s) = %v; want nil", p, err)
		}
	}
	if err := Available("greedy"); err == nil {
		t.Error(`Available("greedy") = nil; want an error`)
	}
	if _, err := Listen(os.NewFile(^uintptr(0), "none"), "greedy"); err == nil {
		t.Error(`Listen with policy "greedy" succeeded`)
	}
	t.Logf("exclusive here: %v", Available(Exclusive))
}
