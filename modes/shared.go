package modes

import (
	"fmt"
	"os"

	"clusterbench/internal/accept"
)

// Shared is Node's SCHED_NONE: the parent creates one listening socket and
// every worker accepts on it. Which worker gets a connection is decided by
// how the workers wait for one (the policy) and who wins the race to
// accept, which is the kernel's and the scheduler's call.
type Shared struct{}

var (
	_ Mode          = Shared{}
	_ PolicyChecker = Shared{}
)

func init() { register(Shared{}) }

func (Shared) Info() Info {
	return Info{
		Name:       "shared",
		Summary:    "one listening socket inherited by every worker; each accepts on it as its policy says",
		Policies:   acceptPolicies(),
		AppListens: []string{ListenFD},
		// A user's app accepts its own way: only the default names no
		// way of the Go worker's.
		AppPolicies: []string{string(accept.Race)},
	}
}

// acceptPolicies are the Go worker's ways of accepting: race, Go's own
// listener, is what a Go server does unless told otherwise, so it is the
// default.
func acceptPolicies() []string {
	names := make([]string, len(accept.Policies))
	for i, p := range accept.Policies {
		names[i] = string(p)
	}
	return names
}

func (Shared) PolicyAvailable(policy string) error { return accept.Available(accept.Policy(policy)) }

func (Shared) Open(s Setup) (Frontend, error) {
	sock, err := listenSocket(s.Addr, false)
	if err != nil {
		return nil, fmt.Errorf("shared: %w", err)
	}
	policy := accept.Policy(s.Policy)
	if policy == "" {
		policy = accept.Policies[0]
	}
	return &sharedFrontend{sock: sock, policy: policy}, nil
}

type sharedFrontend struct {
	sock   *os.File
	policy accept.Policy
}

var _ AcceptFrontend = (*sharedFrontend)(nil)

func (f *sharedFrontend) Addr() string { return socketAddr(f.sock) }

// WorkerSocket hands out a duplicate of the one socket: all workers share it.
func (f *sharedFrontend) WorkerSocket(int) (*os.File, error) {
	dup, err := dupFile(f.sock)
	if err != nil {
		return nil, fmt.Errorf("shared: %w", err)
	}
	return dup, nil
}

// WorkerAccept is the policy every worker accepts by: they share the
// socket's O_NONBLOCK and options, so they must all use the same.
func (f *sharedFrontend) WorkerAccept() accept.Policy { return f.policy }

func (f *sharedFrontend) Close() error { return f.sock.Close() }
