package handoff

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The master's loop makes its system calls raw, without telling the
// runtime: every descriptor it touches is non-blocking, so none of them can
// block, and the loop sleeps in the runtime's poller (see setup). A call
// the runtime is told of costs the bookkeeping of one that might block.

func rawRead(fd int, b []byte) (int, unix.Errno) {
	n, _, errno := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	return int(n), errno
}

func rawClose(fd int) { unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0) }

// rawAccept accepts a connection, non-blocking and close-on-exec, with its
// client's address in sa; n is the address's length.
func rawAccept(fd int, sa *unix.RawSockaddrAny) (conn int, n uint32, errno unix.Errno) {
	n = unix.SizeofSockaddrAny
	r, _, errno := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(fd), uintptr(unsafe.Pointer(sa)),
		uintptr(unsafe.Pointer(&n)), unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0, 0)
	return int(r), n, errno
}

// rawSockname is getsockname into sa; it returns the address's length.
func rawSockname(fd int, sa *unix.RawSockaddrAny) (uint32, unix.Errno) {
	n := uint32(unix.SizeofSockaddrAny)
	_, _, errno := unix.RawSyscall(unix.SYS_GETSOCKNAME, uintptr(fd), uintptr(unsafe.Pointer(sa)), uintptr(unsafe.Pointer(&n)))
	return n, errno
}

// waitEvents returns the ready events of the epoll set, waiting for some
// in the runtime's poller if none is ready.
func waitEvents(epoll syscall.RawConn, events []unix.EpollEvent) (n int, err error) {
	var errno unix.Errno
	perr := epoll.Read(func(epfd uintptr) bool {
		r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, epfd, uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
		n, errno = int(r), e
		return n > 0 || errno != 0
	})
	if perr != nil {
		return 0, perr
	}
	return n, errnoErr(errno)
}

func errnoErr(errno unix.Errno) error {
	if errno == 0 {
		return nil
	}
	return errno
}
