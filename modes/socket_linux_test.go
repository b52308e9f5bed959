package modes

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
)

func TestListenSocket(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		sock, err := listenSocket(addr, false)
		if err != nil {
			if strings.HasPrefix(addr, "[") {
				t.Logf("no IPv6 loopback here: %v", err)
				continue
			}
			t.Fatal(err)
		}
		got := socketAddr(sock)
		host, port, _ := net.SplitHostPort(got)
		if port == "0" || !strings.Contains(addr, host) {
			t.Errorf("listenSocket(%q) bound %q; want the same host and a real port", addr, got)
		}
		conn, err := net.Dial("tcp", got)
		if err != nil {
			t.Errorf("dial %s: %v", got, err)
		} else {
			conn.Close()
		}
		// A plain second bind to the same port must fail.
		if again, err := listenSocket(got, false); err == nil {
			again.Close()
			t.Errorf("second bind on %s succeeded", got)
		}
		sock.Close()
	}
}

func TestReusePortSocketsShareAPort(t *testing.T) {
	first, err := listenSocket("127.0.0.1:0", true)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := listenSocket(socketAddr(first), true)
	if err != nil {
		t.Fatalf("second SO_REUSEPORT socket on %s: %v", socketAddr(first), err)
	}
	second.Close()
}

// TestNewReusePortGroupRefusesAStrangersGroup: a group that another
// socket created is never joined, whatever address overlaps; a group of
// our own still takes the workers' sockets.
func TestNewReusePortGroupRefusesAStrangersGroup(t *testing.T) {
	for _, tt := range []struct{ foreign, ours string }{
		{"127.0.0.1:0", "127.0.0.1:%s"},
		{"0.0.0.0:0", "127.0.0.1:%s"},
		{"127.0.0.1:0", "0.0.0.0:%s"},
	} {
		foreign, err := listenSocket(tt.foreign, true)
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(socketAddr(foreign))
		addr := fmt.Sprintf(tt.ours, port)
		if sock, err := newReusePortGroup(addr); err == nil {
			sock.Close()
			t.Errorf("newReusePortGroup(%s) joined the group of a socket on %s", addr, socketAddr(foreign))
		} else if !errors.Is(err, ErrAddrInUse) || !strings.Contains(err.Error(), addr) {
			t.Errorf("newReusePortGroup(%s): %v; want ErrAddrInUse naming the address", addr, err)
		}
		foreign.Close()
	}
	first, err := newReusePortGroup("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := listenSocket(socketAddr(first), true)
	if err != nil {
		t.Fatalf("a worker's socket cannot join our own group: %v", err)
	}
	second.Close()
}
