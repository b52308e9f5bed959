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
	"sync"

	"clusterbench/internal/accept"
	"clusterbench/internal/supervise"
	"clusterbench/worker"
)

// Mode is one way of handing connections to workers.
type Mode interface {
	// Info says what the mode is.
	Info() Info
	// Open claims the public address for a number of workers.
	Open(s Setup) (Frontend, error)
}

// Info is what a mode is, in one value: a mode's file states it in one
// literal, and the registry, scenarios and the record read it from there.
type Info struct {
	// Name is the mode's name in scenarios and flags.
	Name string
	// Summary says in one line how connections reach workers.
	Summary string
	// Policies lists the ways the mode can pick a worker, the default
	// first; nil if it has only one. The default may be "", in a mode
	// that had records before it had policies: they name it alike.
	Policies []string
	// AppListens lists how the mode can give a user's own worker app its
	// socket: ListenFD, ListenPort or both; nil if it cannot run one (its
	// workers get a channel, or it runs an app of its own).
	AppListens []string
	// AppPolicies lists the policies under which a user's own app can
	// run; nil means all of them. A policy that steers how the Go worker
	// accepts cannot steer a user's app.
	AppPolicies []string
	// WorkerApp names the app the mode runs in place of the Go worker, and
	// how it accepts connections; "" for modes that run the Go worker.
	WorkerApp string
	// Proxy marks modes that run an external proxy (nginx, HAProxy) in
	// front of the workers' own ports.
	Proxy bool
	// PrivateNetwork marks modes that change the network namespace they
	// run in, such as firewall rules: they run only in a private namespace
	// that clusterbench made, never on the host.
	PrivateNetwork bool
	// PrivateNetworkPolicies lists the policies that do so, in a mode
	// whose others run anywhere.
	PrivateNetworkPolicies []string
	// OneProcess marks modes that serve from one worker process whose
	// threads (GOMAXPROCS) are the trial's workers: it has no per-worker
	// shares, and killing a worker would kill the whole server.
	OneProcess bool
}

// Processes is how many worker processes serve a trial of workers.
func (i Info) Processes(workers int) int {
	if i.OneProcess {
		return 1
	}
	return workers
}

// Checker is implemented by modes that need something the host may lack.
type Checker interface {
	// Available returns nil if the mode can run here, or why it cannot.
	Available() error
}

// PolicyChecker is implemented by modes with a policy that needs
// something the host may lack.
type PolicyChecker interface {
	// PolicyAvailable returns nil if the policy can run here, or why it cannot.
	PolicyAvailable(policy string) error
}

// ProgramUser is implemented by modes that run a program of their own (a
// proxy, Node.js) in place of or in front of the Go worker: a run records
// the version of each program its trials used.
type ProgramUser interface {
	// Programs names the programs as they are found in PATH.
	Programs() []string
}

// Available reports whether m can run on this host, and if not, why.
func Available(m Mode) error {
	if c, ok := m.(Checker); ok {
		return c.Available()
	}
	return nil
}

// PolicyAvailable reports whether m's policy can run on this host, if m
// can, and if not, why.
func PolicyAvailable(m Mode, policy string) error {
	if c, ok := m.(PolicyChecker); ok && policy != "" {
		if err := c.PolicyAvailable(policy); err != nil {
			return fmt.Errorf("policy %s: %w", policy, err)
		}
	}
	return nil
}

// SpecAvailable reports whether s, a mode with its policy, can run on this
// host, and if not, why.
func SpecAvailable(s Spec) error {
	if err := Available(s.Mode); err != nil {
		return err
	}
	return PolicyAvailable(s.Mode, s.Policy)
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

// Starter is implemented by frontends whose own program starts the
// workers, as Node's cluster primary forks them: the deployment asks it
// rather than starting workers on WorkerSocket. The program outlives its
// workers: Close only lets go of the public port, and Finish ends the
// program once the workers have stopped.
type Starter interface {
	StartWorker(worker.Spec) (*supervise.Process, error)
	Finish() error
}

// AcceptFrontend is implemented by frontends whose workers share a socket
// and must all take connections from it one way: the Go worker is told
// which (worker.Spec.Accept).
type AcceptFrontend interface {
	WorkerAccept() accept.Policy
}

// PortFrontend is implemented by frontends that give each worker a port
// of its own: an app that listens by itself is told the port instead of
// inheriting a socket on it.
type PortFrontend interface {
	// WorkerPort returns worker index's HOST:PORT, free for it to listen on.
	WorkerPort(index int) (string, error)
}

// Accounter is implemented by frontends that have something of their own
// to account for, apart from the workers: what a master or firewall rules
// counted, or a program they run (a proxy, Node's cluster primary).
type Accounter interface {
	// Account holds the programs' PIDs once the frontend is open, and the
	// counts and CPU times once it has closed and, if it is a Starter,
	// finished.
	Account() FrontendAccount
}

// FrontendAccount is what a frontend did and used, apart from the workers.
type FrontendAccount struct {
	// Counts is what a master or firewall rules counted, by name.
	Counts map[string]uint64
	// Proxy is a proxy mode's proxy program.
	Proxy Program
	// Master is a master that is a program of its own, such as Node's
	// cluster primary; its CPU time is the master's.
	Master Program
}

// Program is a process a frontend runs besides the workers; zero if it
// runs none.
type Program struct {
	// PID is the process all of the program's processes descend from.
	PID int
	// CPUSeconds is the CPU time of all of them, known once it has exited.
	CPUSeconds float64
}

// How a user's own worker app can be given its socket (see supervise.Launcher).
const (
	ListenFD   = worker.ListenFD
	ListenPort = worker.ListenPort
)

// registered is every mode, in the order their files' init functions ran.
var registered []Mode

// register adds a mode. It does not describe it: a mode's Info may ask the
// host (Node's asks node for its version), which only the processes that
// look modes up should pay for, not every worker process.
func register(m Mode) { registered = append(registered, m) }

// registry is the modes by name, built on first use.
var registry = sync.OnceValue(func() map[string]Mode {
	byName := make(map[string]Mode, len(registered))
	for _, m := range registered {
		byName[m.Info().Name] = m
	}
	return byName
})

// Lookup returns the mode with the given name.
func Lookup(name string) (Mode, error) {
	if m, ok := registry()[name]; ok {
		return m, nil
	}
	return nil, fmt.Errorf("unknown mode %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Names lists the registered modes in alphabetical order.
func Names() []string {
	names := make([]string, 0, len(registry()))
	for n := range registry() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Specs lists every mode with each of its policies, the modes in
// alphabetical order: what the tests that cover every mode run.
func Specs() []Spec {
	var specs []Spec
	for _, name := range Names() {
		m := registry()[name]
		policies := m.Info().Policies
		if len(policies) == 0 {
			specs = append(specs, Spec{Mode: m})
		}
		for _, p := range policies {
			specs = append(specs, Spec{Mode: m, Policy: p})
		}
	}
	return specs
}
