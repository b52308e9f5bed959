package accept

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"

	"clusterbench/internal/fdconn"
)

// socket is the shared listening socket as one worker holds it.
type socket struct {
	fd   int
	addr net.Addr // the listener's address, every connection's local one unless it is unspecified
}

// takeSocket owns a descriptor of its own for f's socket and closes f. It
// does not use f.Fd, which would make the socket blocking for every worker.
func takeSocket(f *os.File) (socket, error) {
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return socket{}, fmt.Errorf("accept: %w", err)
	}
	fd := -1
	var dupErr error
	if err := rc.Control(func(u uintptr) { fd, dupErr = unix.FcntlInt(u, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return socket{}, fmt.Errorf("accept: %w", err)
	}
	if dupErr != nil {
		return socket{}, fmt.Errorf("accept: dup: %w", dupErr)
	}
	s := socket{fd: fd}
	if err := s.check(); err != nil {
		unix.Close(fd)
		return socket{}, err
	}
	return s, nil
}

// check makes sure the socket is a listening TCP socket, learns its
// address, and gives it the options Go's accept gives a connection.
func (s *socket) check() error {
	if v, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || v == 0 {
		return fmt.Errorf("accept: fd %d is not a listening socket", s.fd)
	}
	// Multipath TCP's accept ignores SO_RCVTIMEO, so a blocking listener
	// could not be closed; the modes open plain TCP sockets.
	if v, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_PROTOCOL); err != nil || v != unix.IPPROTO_TCP {
		return fmt.Errorf("accept: fd %d is not a plain TCP socket (protocol %d)", s.fd, v)
	}
	sa, err := unix.Getsockname(s.fd)
	if err != nil {
		return fmt.Errorf("accept: getsockname: %w", err)
	}
	s.addr = tcpAddr(sa)
	return fdconn.SetListenerOptions(s.fd)
}

// errRetry is an accept4 that took no connection and may be tried again.
var errRetry = errors.New("accept: no connection")

// accept takes one connection, non-blocking and close-on-exec whatever the
// listening socket is, as Go's accept does.
func (s *socket) accept() (net.Conn, error) {
	fd, peer, err := unix.Accept4(s.fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	switch {
	case err == unix.EAGAIN || err == unix.EINTR || err == unix.ECONNABORTED:
		return nil, errRetry
	case err != nil:
		// Temporary errors (EMFILE) make net/http wait and try again.
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: s.addr, Err: os.NewSyscallError("accept4", err)}
	}
	local := s.addr
	if a, ok := local.(*net.TCPAddr); !ok || a.IP.IsUnspecified() {
		if sa, err := unix.Getsockname(fd); err == nil {
			local = tcpAddr(sa)
		}
	}
	c, err := fdconn.New(fd, local, tcpAddr(peer))
	if err != nil {
		return nil, errRetry // the client left before we could look at it
	}
	return c, nil
}

func tcpAddr(sa unix.Sockaddr) *net.TCPAddr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(append([]byte(nil), sa.Addr[:]...)), Port: sa.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(append([]byte(nil), sa.Addr[:]...)), Port: sa.Port}
	}
	return &net.TCPAddr{}
}
