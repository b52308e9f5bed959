package handoff

import (
	"errors"
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// conn is a handed-over TCP connection, served on the descriptor as it
// arrived. net.FileConn would copy the descriptor and ask the kernel for
// its type, addresses and options, and set them again: a dozen system calls
// per connection, all of them answered by the master already (the
// addresses travel in the message; the options and O_NONBLOCK come with
// the connection from the listener and accept4).
type conn struct {
	f             *os.File
	local, remote net.Addr
}

var _ net.Conn = (*conn)(nil)

// newConn takes over fd. A descriptor that is not non-blocking would tie up
// a thread per read; net.FileConn makes it so.
func newConn(fd int, local, remote net.Addr) (net.Conn, error) {
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
