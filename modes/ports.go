package modes

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
)

// workerPorts gives every worker a listening socket on a port of its own,
// for modes in which something in front (firewall rules, a proxy) picks
// the port. Ports are fixed when the mode opens, so that what is in front
// can point at them before any worker starts.
type workerPorts struct {
	addrs []string // each worker's HOST:PORT, by index

	mu        sync.Mutex
	unclaimed []*os.File // opened with the ports, until their worker takes them
}

// openWorkerPorts opens n listening sockets on host, on free ports.
func openWorkerPorts(host string, n int) (*workerPorts, error) {
	p := &workerPorts{}
	for range n {
		sock, err := listenSocket(net.JoinHostPort(host, "0"), false)
		if err != nil {
			p.close()
			return nil, fmt.Errorf("worker port: %w", err)
		}
		p.unclaimed = append(p.unclaimed, sock)
		p.addrs = append(p.addrs, socketAddr(sock))
	}
	return p, nil
}

// socket hands worker index the socket on its port. A replacement gets a
// new socket on the same port, because what is in front points there;
// until it listens, connections sent to that port are refused.
func (p *workerPorts) socket(index int) (*os.File, error) {
	p.mu.Lock()
	sock := p.unclaimed[index]
	p.unclaimed[index] = nil
	p.mu.Unlock()
	if sock != nil {
		return sock, nil
	}
	return listenSocket(p.addrs[index], false)
}

// port frees the port of worker index, for an app that listens on it
// itself, and returns its HOST:PORT.
func (p *workerPorts) port(index int) string {
	p.mu.Lock()
	sock := p.unclaimed[index]
	p.unclaimed[index] = nil
	p.mu.Unlock()
	if sock != nil {
		sock.Close()
	}
	return p.addrs[index]
}

// close releases the sockets no worker took.
func (p *workerPorts) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for i, sock := range p.unclaimed {
		if sock != nil {
			errs = append(errs, sock.Close())
			p.unclaimed[i] = nil
		}
	}
	return errors.Join(errs...)
}

// ipv4Host returns addr's host, which must be a specific IPv4 address:
// rules and proxies need one to point at.
func ipv4Host(addr string) (string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(host).To4(); ip == nil || ip.IsUnspecified() {
		return "", fmt.Errorf("the public address needs a specific IPv4 host, got %q", addr)
	}
	return host, nil
}
