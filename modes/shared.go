package modes

import (
	"fmt"
	"os"
)

// Shared is Node's SCHED_NONE: the parent creates one listening socket and
// every worker accepts on it. Which worker gets a connection is decided by
// who wins the race to accept, which is the kernel's and the scheduler's call.
type Shared struct{}

var _ Mode = Shared{}

func init() { register(Shared{}) }

func (Shared) Info() Info {
	return Info{
		Name:       "shared",
		Summary:    "one listening socket inherited by every worker; workers race to accept",
		AppListens: []string{ListenFD},
	}
}

func (Shared) Open(s Setup) (Frontend, error) {
	sock, err := listenSocket(s.Addr, false)
	if err != nil {
		return nil, fmt.Errorf("shared: %w", err)
	}
	return &sharedFrontend{sock: sock}, nil
}

type sharedFrontend struct{ sock *os.File }

func (f *sharedFrontend) Addr() string { return socketAddr(f.sock) }

// WorkerSocket hands out a duplicate of the one socket: all workers share it.
func (f *sharedFrontend) WorkerSocket(int) (*os.File, error) {
	dup, err := dupFile(f.sock)
	if err != nil {
		return nil, fmt.Errorf("shared: %w", err)
	}
	return dup, nil
}

func (f *sharedFrontend) Close() error { return f.sock.Close() }
