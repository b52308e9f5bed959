// Package accept holds the ways a worker can take connections from a
// listening socket it shares with other workers, one net.Listener per
// policy. Which worker the kernel gives a connection to depends on how the
// workers wait for it:
//
//   - Race: Go's own listener. The runtime's poller registers the socket
//     edge-triggered and without EPOLLEXCLUSIVE, so every waiting worker
//     wakes and they race to accept4.
//   - Exclusive: each worker waits in an epoll set of its own that holds the
//     socket with EPOLLEXCLUSIVE, then accepts non-blocking; the kernel wakes
//     one waiter, the first registered that waits (nginx's default since
//     1.11.3, with accept_mutex off), so a worker that is back waiting soon
//     tends to get the next connection.
//   - Blocking: each worker blocks in accept4 on a thread of its own; the
//     kernel queues blocked acceptors first in, first out, so the worker idle
//     longest takes the next connection.
//
// O_NONBLOCK and socket options belong to the socket, which the workers of
// a deployment share: every worker of one deployment must use the same
// policy, and the exclusive and blocking listeners set them for all.
package accept

import (
	"fmt"
	"net"
	"os"
	"slices"
)

// Policy is how a worker waits for connections on a shared socket.
type Policy string

const (
	Race      Policy = "race"
	Exclusive Policy = "exclusive"
	Blocking  Policy = "blocking"
)

// Policies lists the policies, the default first: Go's own listener, which
// is what a Go worker does when nobody tells it otherwise.
var Policies = []Policy{Race, Exclusive, Blocking}

// Listen takes over f, a listening TCP socket, and accepts on it by policy.
func Listen(f *os.File, p Policy) (net.Listener, error) {
	switch p {
	case Race, "":
		ln, err := net.FileListener(f)
		f.Close() // FileListener made its own copy
		if err != nil {
			return nil, fmt.Errorf("accept: %w", err)
		}
		return ln, nil
	case Exclusive:
		return newExclusive(f)
	case Blocking:
		return newBlocking(f)
	}
	f.Close()
	return nil, fmt.Errorf("accept: unknown policy %q (known: %v)", p, Policies)
}

// Available returns nil if policy p can run on this host, or why it cannot.
func Available(p Policy) error {
	switch {
	case !slices.Contains(Policies, p):
		return fmt.Errorf("unknown accept policy %q", p)
	case p == Exclusive:
		return exclusiveSupported()
	}
	return nil
}
