package handoff

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"clusterbench/internal/fdconn"
)

// Listener is the worker's end of a channel, seen as a net.Listener: Accept
// returns the connections the master hands over.
type Listener struct {
	conn *net.UnixConn

	closeOnce sync.Once
	closed    chan struct{}

	mu   sync.Mutex // guards acks, which Close closes
	acks int        // the socket for acknowledgements, from the hello; -1 before

	// Used by Accept only, which http.Server calls from one goroutine.
	msg [maxConnMsgLen + 1]byte // one spare byte exposes an oversized message
	oob []byte
	ack [ackMsgLen]byte
}

var _ net.Listener = (*Listener)(nil)

// NewListener takes over f, the worker's end of a channel.
func NewListener(f *os.File) (*Listener, error) {
	c, err := net.FileConn(f)
	f.Close() // FileConn made its own copy
	if err != nil {
		return nil, fmt.Errorf("handoff: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("handoff: %T is not a unix socket", c)
	}
	return &Listener{conn: uc, closed: make(chan struct{}), acks: -1, oob: make([]byte, unix.CmsgSpace(4))}, nil
}

// Accept waits for the master's next connection and, if asked, acknowledges
// it on receipt as Node's workers do, so that the master may hand over the
// next.
// If the master goes away, no connection will come again: Accept then waits
// for Close, so the worker keeps serving what it has until it is stopped.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		n, oobn, _, _, err := l.conn.ReadMsgUnix(l.msg[:], l.oob)
		select {
		case <-l.closed:
			closeRights(l.oob[:oobn])
			return nil, net.ErrClosed
		default:
		}
		if errors.Is(err, io.EOF) {
			<-l.closed
			return nil, net.ErrClosed
		}
		if err != nil {
			return nil, fmt.Errorf("handoff: %w", err)
		}
		fd, err := oneRight(l.oob[:oobn])
		if n == connHeaderLen && l.msg[4]&flagHello != 0 {
			if err == nil {
				l.keepAckSocket(fd)
			}
			continue
		}
		seq, flags, peer, local, msgErr := decodeConnMsg(l.msg[:n])
		if msgErr != nil {
			if err == nil {
				unix.Close(fd)
			}
			continue // not a message of this protocol: nothing to serve
		}
		wantAck := flags&flagAck != 0
		if err != nil {
			// The descriptor did not arrive, e.g. this process is out of
			// them: refuse it, so the master hands its copy to another.
			if wantAck {
				l.acknowledge(seq, false)
			}
			continue
		}
		// The connection is ours from here even if the ack cannot be sent:
		// a master that has gone cannot take it back.
		if wantAck {
			l.acknowledge(seq, true)
		}
		c, err := fdconn.New(fd, local, peer)
		if err != nil {
			continue // the client left before we could look at it
		}
		return c, nil
	}
}

// keepAckSocket keeps the socket of the hello, on which Accept acknowledges.
func (l *Listener) keepAckSocket(fd int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.acks >= 0 || isClosed(l.closed) {
		unix.Close(fd) // one hello per channel: a second is not the master's
		return
	}
	l.acks = fd
}

// acknowledge tells the master whether the worker took connection seq. It
// never waits: the socket is non-blocking, and a master that reads nothing
// has gone.
func (l *Listener) acknowledge(seq uint32, taken bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.acks >= 0 {
		_ = unix.Sendmsg(l.acks, encodeAck(l.ack[:], seq, taken), nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
	}
}

// Close stops accepting. Connections still queued on the channel are closed
// unacknowledged with it, so the master hands them to another worker.
func (l *Listener) Close() error {
	err := net.ErrClosed
	l.closeOnce.Do(func() {
		l.mu.Lock()
		close(l.closed)
		if l.acks >= 0 {
			unix.Close(l.acks)
			l.acks = -1
		}
		l.mu.Unlock()
		err = l.conn.Close()
	})
	return err
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Addr is the channel's address; the connections carry their own.
func (l *Listener) Addr() net.Addr { return l.conn.LocalAddr() }

// oneRight returns the single descriptor a connection message carries;
// anything else is closed, so that no descriptor leaks.
func oneRight(oob []byte) (int, error) {
	fds := rights(oob)
	if len(fds) == 1 {
		return fds[0], nil
	}
	for _, fd := range fds {
		unix.Close(fd)
	}
	return -1, fmt.Errorf("handoff: message carries %d descriptors, want 1", len(fds))
}

func closeRights(oob []byte) {
	for _, fd := range rights(oob) {
		unix.Close(fd)
	}
}

func rights(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for i := range msgs {
		got, err := unix.ParseUnixRights(&msgs[i])
		if err == nil {
			fds = append(fds, got...)
		}
	}
	return fds
}
