// Package modes holds the ways of spreading connections over worker
// processes, one file per mode behind one small interface.
//
// A mode owns the public address and decides what each worker receives as its
// listening socket (fd 3). The worker app never knows which mode it runs
// under: that is what makes the comparison fair.
package modes

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// Mode is one way of handing connections to workers.
type Mode interface {
	// Name is the mode's name in scenarios and flags.
	Name() string
	// Summary says in one line how connections reach workers.
	Summary() string
	// Open claims the public address (HOST:PORT, port 0 picks a free one)
	// for the given number of workers.
	Open(addr string, workers int) (Frontend, error)
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

// Checker is implemented by modes that need something the host may lack.
type Checker interface {
	// Available returns nil if the mode can run here, or why it cannot.
	Available() error
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
