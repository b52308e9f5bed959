// Package kernelcount counts each worker process's requests and
// connections in the kernel, for a worker app that does not name itself
// in its responses.
//
// Every worker runs with a group id of its own (GID). In the trial's
// private network namespace, netfilter marks a connection with the
// worker's index the first time a packet leaves one of that worker's
// sockets (the owner match reads the group of the process that accepted
// it), and counts the request segments (TCP PSH from the client) that
// arrive on marked connections. HTTP requests without a body fit one
// segment, and clients such as vegeta, wrk and the proxies do not
// pipeline, so each such segment is one request.
package kernelcount

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// baseGID is far above the group ids of real accounts.
const baseGID = 0x6c630000

// GID is the group id worker index runs with.
func GID(index int) uint32 { return baseGID + uint32(index) }

// Count is what the kernel saw of one worker index.
type Count struct {
	// Connections were marked: a packet left the worker on them.
	Connections uint64
	// Requests are request segments that arrived on marked connections.
	Requests uint64
}

// Rules are the counting rules of one deployment.
type Rules struct{ workers int }

const (
	outChain = "clusterbench-count-out"
	inChain  = "clusterbench-count-in"
)

// Install adds the counting rules for workers to the filter table of the
// current network namespace, which must be a private one: the rules go
// with it.
func Install(workers int) (*Rules, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*filter\n:%s - [0:0]\n:%s - [0:0]\n", outChain, inChain)
	fmt.Fprintf(&b, "-A OUTPUT -p tcp -j %s\n", outChain)
	fmt.Fprintf(&b, "-A INPUT -p tcp -m conntrack --ctdir ORIGINAL -m tcp --tcp-flags PSH PSH -j %s\n", inChain)
	for i := range workers {
		fmt.Fprintf(&b, "-A %s -m owner --gid-owner %d -m connmark --mark 0 -m comment --comment cb-conn-%d -j CONNMARK --set-mark %d\n", outChain, GID(i), i, i+1)
		fmt.Fprintf(&b, "-A %s -m connmark --mark %d -m comment --comment cb-req-%d\n", inChain, i+1, i)
	}
	b.WriteString("COMMIT\n")
	cmd := exec.Command("iptables-restore", "-w", "--noflush")
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("kernel counting: iptables-restore: %v: %s", err, bytes.TrimSpace(out))
	}
	return &Rules{workers: workers}, nil
}

var counter = regexp.MustCompile(`^\[(\d+):\d+\] -A clusterbench-count-\w+ .*--comment "?cb-(conn|req)-(\d+)"?`)

// Read returns the counts so far by worker index.
func (r *Rules) Read() ([]Count, error) {
	out, err := exec.Command("iptables-save", "-c", "-t", "filter").Output()
	if err != nil {
		return nil, fmt.Errorf("kernel counting: iptables-save: %w", err)
	}
	counts := make([]Count, r.workers)
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := counter.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		n, _ := strconv.ParseUint(m[1], 10, 64)
		i, _ := strconv.Atoi(m[3])
		if i >= r.workers {
			continue
		}
		found++
		if m[2] == "conn" {
			counts[i].Connections = n
		} else {
			counts[i].Requests = n
		}
	}
	if found != 2*r.workers {
		return nil, fmt.Errorf("kernel counting: found %d of the %d counters", found, 2*r.workers)
	}
	return counts, nil
}
