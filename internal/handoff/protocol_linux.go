// Package handoff passes accepted TCP connections from a master process to
// worker processes over unix sockets with SCM_RIGHTS, the way Node's cluster
// module does in its default round-robin mode.
//
// Each worker has one SOCK_SEQPACKET channel to the master. The master sends
// a connection's descriptor with a sequence number. Under the Free policy,
// Node's, it keeps its own copy until the worker acknowledges it: an
// accepted connection is then closed in the master, and a rejected one, or
// one a worker died holding, goes to another worker, so no connection is
// lost to a worker that stops. Under Rotate the master lets go at once.
//
// The worker side is a net.Listener, so the worker app serves handed-over
// connections with the same http.Server it uses on a listening socket.
package handoff

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Messages on a channel, master to worker. The first, the hello, is a
// sequence number of 0 and the flag flagHello, with the worker's end of a
// second socket attached, on which the worker acknowledges connections.
// Each later message is a connection: a 4-byte sequence number, a flags
// byte, and the connection's addresses, the client's then the local one,
// each a length byte and a raw sockaddr; its descriptor is attached. The
// addresses come from the master's accept, so the worker asks the kernel
// nothing about the connection.
//
// An acknowledgement, if the flags ask for one, is the sequence number and
// one byte, 1 if the worker took the connection. It travels on its own
// socket because the master's read of a message wakes whoever watches the
// socket that sent it: on the channel, that is the worker's poller, for
// nothing, once per connection.
const (
	connHeaderLen = 5
	maxAddrLen    = unix.SizeofSockaddrInet6
	maxConnMsgLen = connHeaderLen + 2*(1+maxAddrLen)
	ackMsgLen     = 5

	flagAck   = 1 // acknowledge this connection
	flagHello = 2 // the acknowledgements' socket
)

// Channel returns a connected pair of SEQPACKET sockets: the master's end as
// a raw non-blocking descriptor, and the worker's end as a file to pass to
// the worker process. Both are close-on-exec; exec.Cmd.ExtraFiles clears that for the
// worker's copy.
func Channel() (master int, worker *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, nil, fmt.Errorf("handoff: socketpair: %w", err)
	}
	// The master never waits on one worker: its end does not block.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return -1, nil, fmt.Errorf("handoff: %w", err)
	}
	return fds[0], os.NewFile(uintptr(fds[1]), "handoff"), nil
}

// sendAckSocket makes the socket on which a worker acknowledges
// connections, sends the worker's end as the hello on channel, and returns
// the master's end. Both ends are non-blocking: neither side waits for the
// other.
func sendAckSocket(channel int) (int, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return -1, fmt.Errorf("handoff: socketpair: %w", err)
	}
	hello := []byte{0, 0, 0, 0, flagHello}
	err = unix.Sendmsg(channel, hello, unix.UnixRights(fds[1]), nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
	unix.Close(fds[1]) // the message holds it now
	if err != nil {
		unix.Close(fds[0])
		return -1, fmt.Errorf("handoff: hello: %w", err)
	}
	return fds[0], nil
}

// IsChannel reports whether fd is the worker's end of a channel rather than
// a listening socket, so a worker can serve whatever its parent handed it.
func IsChannel(fd int) bool {
	domain, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil || domain != unix.AF_UNIX {
		return false
	}
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	return err == nil && typ == unix.SOCK_SEQPACKET
}

// sender sends connections on channels without allocating per message.
type sender struct {
	msg []byte
	oob []byte
	iov unix.Iovec
	hdr unix.Msghdr
}

func newSender() *sender {
	return &sender{msg: make([]byte, 0, maxConnMsgLen), oob: unix.UnixRights(0)}
}

// send passes conn with sequence number seq, without blocking, asking for
// an acknowledgement if ack is set.
func (s *sender) send(channel int, seq uint32, conn accepted, ack bool) error {
	var flags byte
	if ack {
		flags = flagAck
	}
	s.msg = append(binary.LittleEndian.AppendUint32(s.msg[:0], seq), flags)
	s.msg = append(s.msg, conn.addrs[:conn.addrsLen]...)
	// The descriptor is the data of the one SCM_RIGHTS message, right after its header.
	binary.NativeEndian.PutUint32(s.oob[unix.CmsgLen(0):], uint32(conn.fd))
	s.iov.Base = &s.msg[0]
	s.iov.SetLen(len(s.msg))
	s.hdr.Iov, s.hdr.Iovlen = &s.iov, 1
	s.hdr.Control = &s.oob[0]
	s.hdr.SetControllen(len(s.oob))
	_, _, errno := unix.RawSyscall(unix.SYS_SENDMSG, uintptr(channel), uintptr(unsafe.Pointer(&s.hdr)), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
	return errnoErr(errno)
}

// accepted is a connection in the master: its descriptor, and its two
// addresses encoded for the connection message.
type accepted struct {
	fd       int
	addrsLen uint8
	addrs    [2 * (1 + maxAddrLen)]byte
}

// appendAddr appends a raw sockaddr to a connection message's addresses.
func (c *accepted) appendAddr(sa []byte) {
	if len(sa) > maxAddrLen {
		sa = nil // not TCP over IP: the worker sees an empty address
	}
	c.addrs[c.addrsLen] = byte(len(sa))
	n := copy(c.addrs[c.addrsLen+1:], sa)
	c.addrsLen += uint8(1 + n)
}

// decodeConnMsg reads a connection message's header and addresses.
func decodeConnMsg(b []byte) (seq uint32, flags byte, peer, local *net.TCPAddr, err error) {
	if len(b) < connHeaderLen {
		return 0, 0, nil, nil, fmt.Errorf("handoff: message of %d bytes, want at least %d", len(b), connHeaderLen)
	}
	seq, flags, rest := binary.LittleEndian.Uint32(b), b[4], b[connHeaderLen:]
	var addrs [2]*net.TCPAddr
	for i := range addrs {
		if len(rest) == 0 || len(rest) < 1+int(rest[0]) {
			return 0, 0, nil, nil, fmt.Errorf("handoff: message of %d bytes is cut short", len(b))
		}
		addrs[i] = tcpAddr(rest[1 : 1+rest[0]])
		rest = rest[1+rest[0]:]
	}
	if len(rest) != 0 {
		return 0, 0, nil, nil, fmt.Errorf("handoff: message of %d bytes has %d bytes too many", len(b), len(rest))
	}
	return seq, flags, addrs[0], addrs[1], nil
}

// tcpAddr reads a raw sockaddr_in or sockaddr_in6 as Go's accept would; a
// link-local address loses its zone, which would take a system call to name.
func tcpAddr(sa []byte) *net.TCPAddr {
	if len(sa) < 4 {
		return &net.TCPAddr{}
	}
	port := int(binary.BigEndian.Uint16(sa[2:4]))
	switch family := binary.NativeEndian.Uint16(sa); {
	case family == unix.AF_INET && len(sa) >= unix.SizeofSockaddrInet4:
		return &net.TCPAddr{IP: net.IP(slices.Clone(sa[4:8])), Port: port}
	case family == unix.AF_INET6 && len(sa) >= unix.SizeofSockaddrInet6:
		return &net.TCPAddr{IP: net.IP(slices.Clone(sa[8:24])), Port: port}
	}
	return &net.TCPAddr{}
}

func encodeAck(b []byte, seq uint32, accepted bool) []byte {
	b = binary.LittleEndian.AppendUint32(b[:0], seq)
	if accepted {
		return append(b, 1)
	}
	return append(b, 0)
}

func decodeAck(b []byte) (seq uint32, accepted bool, err error) {
	if len(b) != ackMsgLen {
		return 0, false, fmt.Errorf("handoff: acknowledgement of %d bytes, want %d", len(b), ackMsgLen)
	}
	return binary.LittleEndian.Uint32(b), b[4] == 1, nil
}
