package modes

import (
	"fmt"
	"strings"
	"syscall"
)

// HAProxy puts a real HAProxy in front of the workers' own ports, so that
// two well-known proxies can be compared. It runs in the foreground with
// one process and a thread per CPU (nbthread), from a private directory.
type HAProxy struct{}

var (
	_ Mode         = HAProxy{}
	_ Checker      = HAProxy{}
	_ proxyProgram = HAProxy{}
	_ ProgramUser  = HAProxy{}
)

func init() { register(HAProxy{}) }

func (HAProxy) Info() Info {
	return Info{
		Name:    "haproxy",
		Summary: "HAProxy listens on the public port and proxies to one port per worker (balance roundrobin or leastconn)",
		// HAProxy's own balance algorithms.
		Policies:   []string{"roundrobin", "leastconn"},
		AppListens: []string{ListenFD, ListenPort},
		Proxy:      true,
	}
}

func (h HAProxy) Available() error { return proxyAvailable(h) }

func (h HAProxy) Open(s Setup) (Frontend, error) { return openProxy("haproxy", h, s) }

func (HAProxy) binary() string { return "haproxy" }

func (p HAProxy) Programs() []string { return []string{p.binary()} }

// USR1 is HAProxy's soft stop: stop listening, finish what is in flight.
func (HAProxy) stopSignal() syscall.Signal { return syscall.SIGUSR1 }

func (HAProxy) config(c proxyConfig) (file, content string, args []string) {
	var b strings.Builder
	fmt.Fprintf(&b, "global\n  nbthread %d\n  maxconn 8000\n\n", c.Processes)
	b.WriteString("defaults\n  mode http\n  timeout connect 5s\n  timeout client 300s\n  timeout server 60s\n  timeout http-keep-alive 300s\n")
	if c.KeepAlive {
		b.WriteString("  http-reuse always\n")
	} else {
		// A new connection to a worker for every request, as nginx does
		// without upstream keep-alive.
		b.WriteString("  option http-server-close\n  http-reuse never\n")
	}
	fmt.Fprintf(&b, "\nfrontend public\n  bind %s\n", c.Listen)
	fmt.Fprintf(&b, "  http-request return status 204 hdr %s %s if { path %s }\n", readyHeader, c.Token, readyPath)
	b.WriteString("  default_backend workers\n\n")
	policy := c.Policy
	if policy == "" {
		policy = "roundrobin"
	}
	fmt.Fprintf(&b, "backend workers\n  balance %s\n", policy)
	for i, u := range c.Upstreams {
		fmt.Fprintf(&b, "  server worker%d %s\n", i, u)
	}
	return "haproxy.cfg", b.String(), []string{"-db", "-f", "/tmp/haproxy.cfg"}
}
