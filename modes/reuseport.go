package modes

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"clusterbench/internal/netns"
)

// ReusePort gives every worker its own SO_REUSEPORT socket on the same port;
// the kernel hashes each new connection's addresses and ports to one of them.
//
// When a worker's socket closes, the connections queued on it are reset,
// unless net.ipv4.tcp_migrate_req (Linux 5.14) is on: then the kernel moves
// them to another socket of the group. The policy migrate turns it on; the
// sysctl belongs to the network namespace, so only in a private one.
type ReusePort struct{}

var (
	_ Mode          = ReusePort{}
	_ Checker       = ReusePort{}
	_ PolicyChecker = ReusePort{}
)

func init() { register(ReusePort{}) }

// Migrate is the policy that moves a closed socket's queued connections to
// another socket of the group.
const Migrate = "migrate"

// MigrateSysctl is the switch, in the namespace of the process that reads it.
const MigrateSysctl = "/proc/sys/net/ipv4/tcp_migrate_req"

func (ReusePort) Info() Info {
	return Info{
		Name:    "reuseport",
		Summary: "one SO_REUSEPORT socket per worker on the same port; the kernel hashes connections to sockets (migrate: tcp_migrate_req on, in a private network namespace)",
		// The default has no name: records of reuseport from before
		// migrate existed name the same thing as today's.
		Policies:               []string{"", Migrate},
		PrivateNetworkPolicies: []string{Migrate},
		AppListens:             []string{ListenFD},
	}
}

func (ReusePort) Available() error {
	sock, err := listenSocket("127.0.0.1:0", true)
	if err != nil {
		return fmt.Errorf("SO_REUSEPORT not supported: %w", err)
	}
	return sock.Close()
}

// PolicyAvailable checks that the kernel has the sysctl, and that this
// process may make a namespace to turn it on in.
func (ReusePort) PolicyAvailable(policy string) error {
	if policy != Migrate {
		return nil
	}
	if _, err := os.Stat(MigrateSysctl); err != nil {
		return fmt.Errorf("the kernel has no net.ipv4.tcp_migrate_req (Linux 5.14 or later): %w", err)
	}
	if netns.Private() {
		return nil
	}
	if err := netns.Available(); err != nil {
		return fmt.Errorf("needs a private network namespace: %w", err)
	}
	return nil
}

// Open binds the first worker's socket now, which fixes the port and
// creates the group; the other workers' sockets join it as they are asked for.
func (ReusePort) Open(s Setup) (Frontend, error) {
	if s.Policy == Migrate {
		if err := migrateRequests(); err != nil {
			return nil, fmt.Errorf("reuseport: %w", err)
		}
	}
	first, err := newReusePortGroup(s.Addr)
	if err != nil {
		return nil, fmt.Errorf("reuseport: %w", err)
	}
	return &reusePortFrontend{addr: socketAddr(first), first: first}, nil
}

// migrateRequests turns tcp_migrate_req on in this process's network
// namespace, which must be a private one: on the host it would change how
// every other server there loses its connections.
func migrateRequests() error {
	if !netns.Private() {
		return errors.New("refusing to set net.ipv4.tcp_migrate_req outside a private network namespace " +
			"(run it with `clusterbench run`, or `clusterbench serve --mode reuseport:migrate -- CMD`)")
	}
	if err := os.WriteFile(MigrateSysctl, []byte("1\n"), 0); err != nil {
		return fmt.Errorf("turn on net.ipv4.tcp_migrate_req: %w", err)
	}
	got, err := os.ReadFile(MigrateSysctl)
	if err != nil || strings.TrimSpace(string(got)) != "1" {
		return fmt.Errorf("net.ipv4.tcp_migrate_req reads %q after it was turned on (%v)", got, err)
	}
	return nil
}

type reusePortFrontend struct {
	addr string

	mu    sync.Mutex
	first *os.File // handed to the first worker that asks
}

func (f *reusePortFrontend) Addr() string { return f.addr }

// WorkerSocket returns a new socket in the port's reuseport group. The
// frontend keeps no copy: when the worker goes, so does its socket, as it
// would if the worker had opened it itself.
func (f *reusePortFrontend) WorkerSocket(int) (*os.File, error) {
	f.mu.Lock()
	sock := f.first
	f.first = nil
	f.mu.Unlock()
	if sock != nil {
		return sock, nil
	}
	sock, err := listenSocket(f.addr, true)
	if err != nil {
		return nil, fmt.Errorf("reuseport: %w", err)
	}
	return sock, nil
}

func (f *reusePortFrontend) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.first != nil {
		err := f.first.Close()
		f.first = nil
		return err
	}
	return nil
}
