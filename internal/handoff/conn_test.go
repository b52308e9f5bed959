package handoff

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// handOver dials addr through a dispatcher with one worker and returns the
// client's end and the connection as the worker's Listener returns it.
func handOver(t *testing.T, listen string) (client net.Conn, served net.Conn) {
	t.Helper()
	d, addr := newDispatcherOn(t, Rotate, listen)
	end, err := d.Attach(0)
	if err != nil {
		t.Fatal(err)
	}
	worker, err := NewListener(end)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { worker.Close() })
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	// 127.0.0.2 is loopback too: a listener on every address must report
	// the one the client dialed.
	client, err = net.Dial("tcp", net.JoinHostPort("127.0.0.2", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	served, err = worker.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { served.Close() })
	return client, served
}

// TestHandedOverConnectionIsLikeAnAcceptedOne: the worker's connection has
// the addresses and the socket options that Go's own accept gives one.
func TestHandedOverConnectionIsLikeAnAcceptedOne(t *testing.T) {
	for _, listen := range []string{"127.0.0.2:0", "0.0.0.0:0"} {
		t.Run(listen, func(t *testing.T) {
			client, served := handOver(t, listen)
			if got, want := served.RemoteAddr().String(), client.LocalAddr().String(); got != want {
				t.Errorf("RemoteAddr %s; want the client's %s", got, want)
			}
			if got, want := served.LocalAddr().String(), client.RemoteAddr().String(); got != want {
				t.Errorf("LocalAddr %s; want the address the client dialed, %s", got, want)
			}
			want := acceptedByGo(t)
			if got := options(t, served); got != want {
				t.Errorf("socket options %+v; want those of Go's accept, %+v", got, want)
			}
		})
	}
}

type sockOptions struct {
	NoDelay, KeepAlive, Nonblock, CloseOnExec bool
	Idle, Intvl, Cnt                          int
}

// options reads what matters of a connection's socket, through its descriptor.
func options(t *testing.T, c net.Conn) sockOptions {
	t.Helper()
	fd := fdOf(t, c)
	get := func(level, name int) int {
		v, err := unix.GetsockoptInt(fd, level, name)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	fdfl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	return sockOptions{
		NoDelay:     get(unix.IPPROTO_TCP, unix.TCP_NODELAY) != 0,
		KeepAlive:   get(unix.SOL_SOCKET, unix.SO_KEEPALIVE) != 0,
		Idle:        get(unix.IPPROTO_TCP, unix.TCP_KEEPIDLE),
		Intvl:       get(unix.IPPROTO_TCP, unix.TCP_KEEPINTVL),
		Cnt:         get(unix.IPPROTO_TCP, unix.TCP_KEEPCNT),
		Nonblock:    fl&unix.O_NONBLOCK != 0,
		CloseOnExec: fdfl&unix.FD_CLOEXEC != 0,
	}
}

// fdOf is a connection's descriptor, for reading its options.
func fdOf(t *testing.T, c net.Conn) int {
	t.Helper()
	sc, ok := c.(interface {
		SyscallConn() (syscall.RawConn, error)
	})
	if !ok {
		t.Fatalf("%T is not a TCP connection", c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int
	rc.Control(func(u uintptr) { fd = int(u) })
	return fd
}

// acceptedByGo is the options of a connection that net.TCPListener accepted.
func acceptedByGo(t *testing.T) sockOptions {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return options(t, c)
}

// TestHandedOverConnectionErrorsLikeATCPConn: deadlines time out, and a
// closed connection says net.ErrClosed, as net/http expects of a net.Conn.
func TestHandedOverConnectionErrorsLikeATCPConn(t *testing.T) {
	client, served := handOver(t, "127.0.0.2:0")
	if _, err := client.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, err := served.Read(buf); err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("read %q, %v; want ping", buf[:n], err)
	}
	served.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := served.Read(buf)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read past the deadline: %v; want a timeout", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "read" || oe.Net != "tcp" {
		t.Errorf("read past the deadline: %#v; want a *net.OpError of a tcp read", err)
	}
	served.Close()
	if _, err := served.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read after Close: %v; want net.ErrClosed", err)
	}
	if err := served.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v; want net.ErrClosed", err)
	}
}

// TestHandedOverConnectionCloseWrite: the client reads the end of the
// stream while the worker can still read, as with net.TCPConn.CloseWrite.
func TestHandedOverConnectionCloseWrite(t *testing.T) {
	client, served := handOver(t, "127.0.0.2:0")
	cw, ok := served.(interface{ CloseWrite() error })
	if !ok {
		t.Fatalf("%T has no CloseWrite", served)
	}
	if err := cw.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := client.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("client read %d bytes, %v; want the end of the stream", n, err)
	}
	if _, err := client.Write([]byte("late")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if n, err := served.Read(buf); err != nil || string(buf[:n]) != "late" {
		t.Errorf("worker read %q, %v after CloseWrite; want late", buf[:n], err)
	}
}

func TestDecodeConnMsg(t *testing.T) {
	v4 := accepted{}
	v4.appendAddr(sockaddr4([4]byte{10, 0, 0, 1}, 40000))
	v4.appendAddr(sockaddr6([16]byte{15: 1}, 8080))
	ok := append([]byte{7, 0, 0, 0, flagAck}, v4.addrs[:v4.addrsLen]...)
	seq, flags, peer, local, err := decodeConnMsg(ok)
	if err != nil || seq != 7 || flags != flagAck || peer.String() != "10.0.0.1:40000" || local.String() != "[::1]:8080" {
		t.Errorf("decode: seq %d flags %d peer %v local %v, %v; want 7, ack, 10.0.0.1:40000, [::1]:8080", seq, flags, peer, local, err)
	}
	for name, msg := range map[string][]byte{
		"empty":           {},
		"header only":     ok[:connHeaderLen],
		"cut address":     ok[:connHeaderLen+4],
		"one address":     ok[:connHeaderLen+1+unix.SizeofSockaddrInet4],
		"a byte too many": append(append([]byte{}, ok...), 0),
	} {
		if _, _, _, _, err := decodeConnMsg(msg); err == nil {
			t.Errorf("%s: decoded; want an error", name)
		}
	}
	// An address that is not TCP over IP is carried empty.
	var unixAddr accepted
	unixAddr.appendAddr(make([]byte, unix.SizeofSockaddrUnix))
	unixAddr.appendAddr(nil)
	_, _, peer, _, err = decodeConnMsg(append([]byte{0, 0, 0, 0, 0}, unixAddr.addrs[:unixAddr.addrsLen]...))
	if err != nil || peer.String() != ":0" {
		t.Errorf("a unix sockaddr: peer %v, %v; want an empty TCP address", peer, err)
	}
}

func sockaddr4(ip [4]byte, port int) []byte {
	b := make([]byte, unix.SizeofSockaddrInet4)
	binary.NativeEndian.PutUint16(b, unix.AF_INET)
	binary.BigEndian.PutUint16(b[2:], uint16(port))
	copy(b[4:], ip[:])
	return b
}

func sockaddr6(ip [16]byte, port int) []byte {
	b := make([]byte, unix.SizeofSockaddrInet6)
	binary.NativeEndian.PutUint16(b, unix.AF_INET6)
	binary.BigEndian.PutUint16(b[2:], uint16(port))
	copy(b[8:], ip[:])
	return b
}
