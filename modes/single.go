package modes

import (
	"fmt"
	"os"
)

// Single is the ideal every multi-process design is measured against: one
// Go worker process on one listening socket, with as many threads
// (GOMAXPROCS) as the other modes have workers. Its runtime's scheduler,
// not the kernel, spreads requests over the threads, and an idle thread
// steals work from a busy one, so no connection waits behind a slow
// request while a thread is free. It has no per-worker shares, and one
// crash takes down the whole server.
type Single struct{}

var _ Mode = Single{}

func init() { register(Single{}) }

func (Single) Info() Info {
	return Info{
		Name:       "single",
		Summary:    "one worker process with as many threads (GOMAXPROCS) as workers, on one listening socket",
		OneProcess: true,
	}
}

func (Single) Open(s Setup) (Frontend, error) {
	sock, err := listenSocket(s.Addr, false)
	if err != nil {
		return nil, fmt.Errorf("single: %w", err)
	}
	return &singleFrontend{sock: sock}, nil
}

// singleFrontend keeps the socket, so that connections queue while its one
// process is replaced, as a supervisor holding the port would.
type singleFrontend struct{ sock *os.File }

func (f *singleFrontend) Addr() string { return socketAddr(f.sock) }

func (f *singleFrontend) WorkerSocket(int) (*os.File, error) {
	dup, err := dupFile(f.sock)
	if err != nil {
		return nil, fmt.Errorf("single: %w", err)
	}
	return dup, nil
}

func (f *singleFrontend) Close() error { return f.sock.Close() }
