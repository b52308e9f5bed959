package modes

import (
	"fmt"
	"os"

	"clusterbench/internal/handoff"
)

// RoundRobin is Node's SCHED_RR: a master accepts every connection and
// hands its descriptor to a worker over a unix socket. The master is the
// deployment's own process, and it can be the bottleneck: its CPU time is
// reported beside the workers'.
type RoundRobin struct{}

var _ Mode = RoundRobin{}

func init() { register(RoundRobin{}) }

func (RoundRobin) Info() Info {
	return Info{
		Name:     "roundrobin",
		Summary:  "a master accepts and hands each connection to a worker over a unix socket (SCM_RIGHTS)",
		Policies: handoffPolicies(),
		// No AppListens: its workers get a channel to the master, not a
		// socket, so a user's own app cannot be one.
	}
}

// handoffPolicies are the master's: free is what Node's master does, so it
// is the default.
func handoffPolicies() []string {
	names := make([]string, len(handoff.Policies))
	for i, p := range handoff.Policies {
		names[i] = string(p)
	}
	return names
}

func (RoundRobin) Open(s Setup) (Frontend, error) {
	sock, err := listenSocket(s.Addr, false)
	if err != nil {
		return nil, fmt.Errorf("roundrobin: %w", err)
	}
	addr := socketAddr(sock)
	policy := handoff.Policy(s.Policy)
	if policy == "" {
		policy = handoff.Policies[0]
	}
	d, err := handoff.NewDispatcher(sock, policy, s.Logf)
	if err != nil {
		sock.Close()
		return nil, fmt.Errorf("roundrobin: %w", err)
	}
	return &roundRobinFrontend{addr: addr, master: d}, nil
}

type roundRobinFrontend struct {
	addr   string
	master *handoff.Dispatcher
	counts map[string]uint64 // the master's, taken as it closed
}

var _ Accounter = (*roundRobinFrontend)(nil)

func (f *roundRobinFrontend) Addr() string { return f.addr }

// WorkerSocket is the worker's end of its channel to the master; a
// replacement worker gets a new channel in the same place.
func (f *roundRobinFrontend) WorkerSocket(index int) (*os.File, error) {
	return f.master.Attach(index)
}

// Close stops the master, keeping what it counted.
func (f *roundRobinFrontend) Close() error {
	f.counts = f.masterCounts()
	return f.master.Close()
}

func (f *roundRobinFrontend) Account() FrontendAccount { return FrontendAccount{Counts: f.counts} }

func (f *roundRobinFrontend) masterCounts() map[string]uint64 {
	s := f.master.Stats()
	return map[string]uint64{
		"accepted":     s.Accepted,
		"handed":       s.Handed,
		"rejected":     s.Rejected,
		"orphaned":     s.Orphaned,
		"dropped":      s.Dropped,
		"max_waiting":  uint64(s.MaxWaiting),
		"workers_gone": uint64(s.WorkersGone),
	}
}
