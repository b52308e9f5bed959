package modes

import (
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
