package modes

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// listenSocket opens a TCP listening socket with raw system calls, so that
// it is never registered with this process's netpoller: the parent only
// holds sockets for its workers and must not wake up for their connections.
// reusePort sets SO_REUSEPORT before bind, to join the port's group.
func listenSocket(addr string, reusePort bool) (*os.File, error) {
	// As net.Listen does: a restarted server may bind over TIME_WAIT.
	opts := []int{unix.SO_REUSEADDR}
	if reusePort {
		opts = append(opts, unix.SO_REUSEPORT)
	}
	return openSocket(addr, true, opts, nil)
}

// ErrAddrInUse is a public address another socket already listens on.
var ErrAddrInUse = errors.New("address already in use")

// newReusePortGroup opens the first socket of a new SO_REUSEPORT group on
// addr. It sets SO_REUSEPORT only after bind, so the bind fails if another
// socket already listens there: a group someone else created would share
// the deployment's connections with a stranger.
func newReusePortGroup(addr string) (*os.File, error) {
	sock, err := openSocket(addr, true, []int{unix.SO_REUSEADDR}, []int{unix.SO_REUSEPORT})
	if errors.Is(err, unix.EADDRINUSE) {
		return nil, fmt.Errorf("%s: %w by another listening socket; "+
			"serve never joins a listening group it did not create", addr, ErrAddrInUse)
	}
	return sock, err
}

// reservePort binds a socket that never listens: it keeps a port for
// connections that firewall rules redirect elsewhere.
func reservePort(addr string) (*os.File, error) { return openSocket(addr, false, nil, nil) }

// openSocket binds a TCP socket to addr with the SOL_SOCKET options
// beforeBind set, sets those of afterBind, and listens on it if asked.
func openSocket(addr string, listen bool, beforeBind, afterBind []int) (*os.File, error) {
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, err
	}
	family, sa := unix.AF_INET, unix.Sockaddr(&unix.SockaddrInet4{Port: tcp.Port})
	if ip4 := tcp.IP.To4(); ip4 != nil || tcp.IP == nil {
		if ip4 != nil {
			copy(sa.(*unix.SockaddrInet4).Addr[:], ip4)
		}
	} else {
		family = unix.AF_INET6
		sa6 := &unix.SockaddrInet6{Port: tcp.Port}
		copy(sa6.Addr[:], tcp.IP.To16())
		sa = sa6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	fail := func(op string, err error) (*os.File, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("%s %s: %w", op, addr, err)
	}
	set := func(options []int) error {
		for _, opt := range options {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, 1); err != nil {
				return fmt.Errorf("setsockopt %d: %w", opt, err)
			}
		}
		return nil
	}
	if err := set(beforeBind); err != nil {
		return fail("socket", err)
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	if err := set(afterBind); err != nil {
		return fail("socket", err)
	}
	if listen {
		if err := unix.Listen(fd, listenBacklog()); err != nil {
			return fail("listen", err)
		}
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	return os.NewFile(uintptr(fd), "tcp:"+sockaddrString(bound)), nil
}

// dupFile returns an independent copy of f's descriptor.
func dupFile(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// socketAddr is the HOST:PORT a socket file from listenSocket is bound to.
func socketAddr(f *os.File) string { return strings.TrimPrefix(f.Name(), "tcp:") }

func sockaddrString(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	case *unix.SockaddrInet6:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	}
	return "?"
}

// listenBacklog is the kernel's cap on accept queues, as net.Listen uses.
func listenBacklog() int {
	data, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return unix.SOMAXCONN
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || n <= 0 {
		return unix.SOMAXCONN
	}
	return n
}
