package accept

import (
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// closeWithin bounds how long a blocked accept4 sleeps before it looks
// whether the listener was closed: nothing else ends it without also
// ending the socket for the other workers (shutdown would). It sets
// SO_RCVTIMEO on the shared socket; a waiter that times out joins the
// queue again at its end, which reorders only workers that are all idle.
const closeWithin = 100 * time.Millisecond

// blockingListener blocks in accept4 on its thread (the runtime lets the
// thread block and runs other goroutines elsewhere). The kernel queues
// blocked acceptors in order and wakes the first, so the worker that has
// waited longest takes the next connection.
type blockingListener struct {
	socket
	closed atomic.Bool
	mu     sync.Mutex // held by Accept; Close takes it to release the descriptor
}

var _ net.Listener = (*blockingListener)(nil)

func newBlocking(f *os.File) (*blockingListener, error) {
	s, err := takeSocket(f)
	if err != nil {
		return nil, err
	}
	tv := unix.NsecToTimeval(closeWithin.Nanoseconds())
	if err := unix.SetNonblock(s.fd, false); err != nil {
		unix.Close(s.fd)
		return nil, fmt.Errorf("accept: %w", err)
	}
	if err := unix.SetsockoptTimeval(s.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(s.fd)
		return nil, fmt.Errorf("accept: SO_RCVTIMEO: %w", err)
	}
	return &blockingListener{socket: s}, nil
}

// Accept blocks until the kernel gives this worker a connection, or the
// listener is closed.
func (l *blockingListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if l.closed.Load() {
			return nil, net.ErrClosed
		}
		c, err := l.accept()
		if err == errRetry {
			continue
		}
		// A connection taken as Close began is served: it left the
		// shared queue, and no other worker can have it now.
		return c, err
	}
}

// Close ends Accept within closeWithin and releases this worker's
// descriptor; the shared socket stays open in the other workers.
func (l *blockingListener) Close() error {
	if l.closed.Swap(true) {
		return net.ErrClosed
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	unix.Close(l.fd)
	l.fd = -1
	return nil
}

func (l *blockingListener) Addr() net.Addr { return l.addr }
