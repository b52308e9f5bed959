// Package fdconn serves a TCP connection's descriptor as a net.Conn,
// cheaply: for workers that get their connections other than from Go's
// own accept (handed over by a master, or accepted by a policy of their
// own).
package fdconn

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// conn is a TCP connection served on its descriptor as it arrived.
// net.FileConn would copy the descriptor and ask the kernel for its type,
// addresses and options, and set them again: a dozen system calls per
// connection, all of them known already to whoever accepted it (the
// addresses from accept4; the options and O_NONBLOCK come with the
// connection from the listener, see SetListenerOptions, and accept4).
type conn struct {
	f             *os.File
	local, remote net.Addr
}

var _ net.Conn = (*conn)(nil)

// New takes over fd, a connected TCP socket. A descriptor that is not
// non-blocking would tie up a thread per read; net.FileConn makes it so.
func New(fd int, local, remote net.Addr) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "tcp")
	if f.SetDeadline(time.Time{}) == nil { // fails unless the runtime's poller has it
		return &conn{f: f, local: local, remote: remote}, nil
	}
	defer f.Close()
	return net.FileConn(f)
}

func (c *conn) Read(b []byte) (int, error) {
	n, err := c.f.Read(b)
	return n, c.opError("read", err)
}

func (c *conn) Write(b []byte) (int, error) {
	n, err := c.f.Write(b)
	return n, c.opError("write", err)
}

func (c *conn) Close() error { return c.opError("close", c.f.Close()) }

// CloseWrite shuts down the sending side, as net.TCPConn's does: net/http
// calls it to end a response before it closes.
func (c *conn) CloseWrite() error {
	rc, err := c.f.SyscallConn()
	if err != nil {
		return c.opError("close", err)
	}
	var shutErr error
	if err := rc.Control(func(fd uintptr) { shutErr = unix.Shutdown(int(fd), unix.SHUT_WR) }); err != nil {
		return c.opError("close", err)
	}
	return c.opError("close", os.NewSyscallError("shutdown", shutErr))
}

// SyscallConn gives access to the descriptor, as net.TCPConn's does.
func (c *conn) SyscallConn() (syscall.RawConn, error) { return c.f.SyscallConn() }

func (c *conn) LocalAddr() net.Addr                { return c.local }
func (c *conn) RemoteAddr() net.Addr               { return c.remote }
func (c *conn) SetDeadline(t time.Time) error      { return c.opError("set", c.f.SetDeadline(t)) }
func (c *conn) SetReadDeadline(t time.Time) error  { return c.opError("set", c.f.SetReadDeadline(t)) }
func (c *conn) SetWriteDeadline(t time.Time) error { return c.opError("set", c.f.SetWriteDeadline(t)) }

// opError gives an error the shape a net.TCPConn's has, so that callers
// that look for net.ErrClosed or a *net.OpError find them.
func (c *conn) opError(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, os.ErrClosed) {
		err = net.ErrClosed
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.local, Addr: c.remote, Err: err}
}

// SetListenerOptions sets on a listening socket what Go's TCPListener sets
// on each connection it accepts: no Nagle delay, and keep-alive probes
// after 15 s idle, every 15 s, 9 of them. Linux copies a listener's options
// to the connections it accepts, so they have them without a system call
// per connection.
func SetListenerOptions(fd int) error {
	for _, o := range []struct{ level, name, value int }{
		{unix.IPPROTO_TCP, unix.TCP_NODELAY, 1},
		{unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
		{unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 15},
		{unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, 15},
		{unix.IPPROTO_TCP, unix.TCP_KEEPCNT, 9},
	} {
		if err := unix.SetsockoptInt(fd, o.level, o.name, o.value); err != nil {
			return fmt.Errorf("fdconn: setsockopt: %w", err)
		}
	}
	return nil
}
