package modes

import (
	"fmt"
	"os"
	"sync"
)

// ReusePort gives every worker its own SO_REUSEPORT socket on the same port;
// the kernel hashes each new connection's addresses and ports to one of them.
type ReusePort struct{}

var (
	_ Mode    = ReusePort{}
	_ Checker = ReusePort{}
)

func init() { register(ReusePort{}) }

func (ReusePort) Info() Info {
	return Info{
		Name:       "reuseport",
		Summary:    "one SO_REUSEPORT socket per worker on the same port; the kernel hashes connections to sockets",
		AppListens: []string{ListenFD},
	}
}

func (ReusePort) Available() error {
	sock, err := listenSocket("127.0.0.1:0", true)
	if err != nil {
		return fmt.Errorf("SO_REUSEPORT not supported: %w", err)
	}
	return sock.Close()
}

// Open binds the first worker's socket now, which fixes the port and
// creates the group; the other workers' sockets join it as they are asked for.
func (ReusePort) Open(s Setup) (Frontend, error) {
	first, err := newReusePortGroup(s.Addr)
	if err != nil {
		return nil, fmt.Errorf("reuseport: %w", err)
	}
	return &reusePortFrontend{addr: socketAddr(first), first: first}, nil
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
