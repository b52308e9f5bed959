// Package modes holds the ways of spreading connections over worker
// processes, one file per mode behind one small interface.
//
// A mode owns the public address and decides what each worker receives as its
// listening socket (fd 3). The worker app never knows which mode it runs
// under: that is what makes the comparison fair.
package modes

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"clusterbench/worker"
)

// Mode is one way of handing connections to workers.
type Mode interface {
	// Name is the mode's name in scenarios and flags.
	Name() string
	// Summary says in one line how connections reach workers.
	Summary() string
	// Open claims the public address for a number of workers.
	Open(s Setup) (Frontend, error)
}

// Setup is what a mode is opened with.
type Setup struct {
	Addr    string // HOST:PORT; port 0 picks a free one
	Workers int
	Policy  string // one of the mode's Policies, or "" for modes without
	// ProxyProcesses is the proxy's own processes or threads in proxy
	// modes; 0 means one per CPU.
	ProxyProcesses int
	// UpstreamKeepAlive keeps a proxy's connections to the workers open.
	UpstreamKeepAlive bool
	// Work and Stderr are for modes whose own program starts the
	// workers (see Starter).
	Work   worker.Work
	Stderr io.Writer
	// Logf reports what happens while the frontend runs.
	Logf func(format string, args ...any)
}

// Frontend is a mode opened on an address.
type Frontend interface {
	// Addr is the address clients connect to.
	Addr() string
	// WorkerSocket returns the listening socket worker index inherits as fd 3.
	// The caller owns the file and closes it once the worker has started.
	WorkerSocket(index int) (*os.File, error)
	// Close releases what the frontend holds.
	Close() error
}

// Policied is implemented by modes that can pick a worker in more than one way.
type Policied interface {
	// Policies lists the choices, the default first.
	Policies() []string
}

// Reporter is implemented by frontends that count what they did, such as
// a master's hand-overs; the counts go into the deployment's report.
type Reporter interface {
	Report() map[string]uint64
}

// ProxyProcess is implemented by frontends that run a proxy program,
// whose CPU time is reported apart from the master's and the workers'.
type ProxyProcess interface {
	// ProxyPID is the process all of the proxy's processes descend from.
	ProxyPID() int
	// ProxyCPUSeconds is the CPU time of all of them, known once the
	// frontend is closed.
	ProxyCPUSeconds() float64
}

// Starter is implemented by frontends whose own program starts the
// workers, as Node's cluster primary forks them: the deployment asks it
// rather than starting workers on WorkerSocket. The program outlives its
// workers: Close only lets go of the public port, and Finish ends the
// program once the workers have stopped.
type Starter interface {
	StartWorker(worker.Spec) (*worker.Process, error)
	Finish() error
}

// MasterProcess is implemented by frontends whose master is a program of
// its own, such as Node's cluster primary: its CPU time is the master's.
type MasterProcess interface {
	MasterPID() int
	// MasterCPUSeconds is known once the frontend has finished.
	MasterCPUSeconds() float64
}

// How a user's own worker app can be given its socket (see worker.Launcher).
const (
	ListenFD   = worker.ListenFD
	ListenPort = worker.ListenPort
)

// AppHost is implemented by modes that can run the user's own worker app
// in place of the Go worker.
type AppHost interface {
	// AppListens lists how the mode can give the app its socket: ListenFD,
	// ListenPort or both.
	AppListens() []string
}

// AppListens lists how m can give a user's app its socket; nil if m cannot
// run one (its workers get a channel, or it runs an app of its own).
func AppListens(m Mode) []string {
	if h, ok := m.(AppHost); ok {
		return h.AppListens()
	}
	return nil
}

// PortFrontend is implemented by frontends that give each worker a port
// of its own: an app that listens by itself is told the port instead of
// inheriting a socket on it.
type PortFrontend interface {
	// WorkerPort returns worker index's HOST:PORT, free for it to listen on.
	WorkerPort(index int) (string, error)
}

// OwnApp is implemented by modes that run a worker app of their own
// rather than the Go worker, such as Node's cluster modes.
type OwnApp interface {
	// WorkerApp names the app and how it accepts connections.
	WorkerApp() string
}

// Checker is implemented by modes that need something the host may lack.
type Checker interface {
	// Available returns nil if the mode can run here, or why it cannot.
	Available() error
}

// Confined is implemented by modes that change the network namespace they
// run in, such as firewall rules: they run only in a private namespace that
// clusterbench made, never on the host.
type Confined interface {
	NeedsPrivateNetwork()
}

// NeedsPrivateNetwork reports whether m runs only in a private network namespace.
func NeedsPrivateNetwork(m Mode) bool {
	_, ok := m.(Confined)
	return ok
}

var registry = map[string]Mode{}

func register(m Mode) { registry[m.Name()] = m }

// Lookup returns the mode with the given name.
func Lookup(name string) (Mode, error) {
	if m, ok := registry[name]; ok {
		return m, nil
	}
	return nil, fmt.Errorf("unknown mode %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Names lists the registered modes in alphabetical order.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Available reports whether m can run on this host, and if not, why.
func Available(m Mode) error {
	if c, ok := m.(Checker); ok {
		return c.Available()
	}
	return nil
}

// Policies lists m's policies, the default first; nil if it has none.
func Policies(m Mode) []string {
	if p, ok := m.(Policied); ok {
		return p.Policies()
	}
	return nil
}
