package accept

import (
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// exclusiveListener waits for connections as an nginx worker does: in an
// epoll set of its own that holds the shared socket with EPOLLEXCLUSIVE,
// then accepts without blocking. The set cannot sit in the runtime's poller:
// a nested epoll set has no waiter of its own, so the kernel would not
// count its wakeup as the exclusive one and would wake every worker. So
// Accept blocks in epoll_wait, on its thread.
type exclusiveListener struct {
	socket
	epfd   int
	wakeFD int // an eventfd in the set, written by Close to end a wait

	closed atomic.Bool
	mu     sync.Mutex // held by Accept while it waits; Close takes it to release the descriptors
	events [2]unix.EpollEvent
}

var _ net.Listener = (*exclusiveListener)(nil)

func newExclusive(f *os.File) (_ *exclusiveListener, err error) {
	s, err := takeSocket(f)
	if err != nil {
		return nil, err
	}
	l := &exclusiveListener{socket: s, epfd: -1, wakeFD: -1}
	defer func() {
		if err != nil {
			l.release()
		}
	}()
	if err := unix.SetNonblock(s.fd, true); err != nil {
		return nil, fmt.Errorf("accept: %w", err)
	}
	if l.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, fmt.Errorf("accept: epoll_create1: %w", err)
	}
	if l.wakeFD, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return nil, fmt.Errorf("accept: eventfd: %w", err)
	}
	listen := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLEXCLUSIVE, Fd: int32(s.fd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, s.fd, &listen); err != nil {
		return nil, fmt.Errorf("accept: epoll_ctl EPOLLEXCLUSIVE: %w", err)
	}
	wake := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(l.wakeFD)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, l.wakeFD, &wake); err != nil {
		return nil, fmt.Errorf("accept: epoll_ctl: %w", err)
	}
	return l, nil
}

// Accept waits until the kernel picks this worker, then takes a
// connection; if another worker took it first, it waits again.
func (l *exclusiveListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if l.closed.Load() {
			return nil, net.ErrClosed
		}
		n, err := unix.EpollWait(l.epfd, l.events[:], -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("accept: epoll_wait: %w", err)
		}
		for _, ev := range l.events[:n] {
			if ev.Fd == int32(l.wakeFD) {
				return nil, net.ErrClosed
			}
		}
		c, err := l.accept()
		if err == errRetry {
			continue
		}
		return c, err
	}
}

// Close ends a wait in Accept and releases this worker's descriptors; the
// shared socket stays open in the other workers.
func (l *exclusiveListener) Close() error {
	if l.closed.Swap(true) {
		return net.ErrClosed
	}
	var one [8]byte
	one[0] = 1 // an eventfd counter of 1, in native (little-endian) order
	_, _ = unix.Write(l.wakeFD, one[:])
	l.mu.Lock()
	defer l.mu.Unlock()
	l.release()
	return nil
}

func (l *exclusiveListener) release() {
	for _, fd := range []int{l.epfd, l.wakeFD, l.fd} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	l.epfd, l.wakeFD, l.fd = -1, -1, -1
}

func (l *exclusiveListener) Addr() net.Addr { return l.addr }

// exclusiveSupported probes the kernel once. Kernels before 4.5 ignore the
// unknown flag, so ADD alone proves nothing; those that know it refuse it
// with EPOLL_CTL_MOD.
var exclusiveSupported = sync.OnceValue(func() error {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll_create1: %w", err)
	}
	defer unix.Close(epfd)
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("eventfd: %w", err)
	}
	defer unix.Close(efd)
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLEXCLUSIVE, Fd: int32(efd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, efd, &ev); err != nil {
		return fmt.Errorf("EPOLLEXCLUSIVE not supported by this kernel: epoll_ctl: %w", err)
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_MOD, efd, &ev); err != unix.EINVAL {
		return fmt.Errorf("EPOLLEXCLUSIVE not supported by this kernel (needs Linux 4.5): epoll_ctl ignores the flag")
	}
	return nil
})
