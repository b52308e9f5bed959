package modes

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"clusterbench/internal/supervise"
	"clusterbench/worker"
)

// Node is Node.js's own cluster module running the Node worker app, which
// serves the same HTTP contract as the Go worker. The mode's primary
// forks the workers, and NODE_CLUSTER_SCHED_POLICY picks how connections
// reach them:
//   - rr: the primary accepts and hands each connection to a worker that
//     has acknowledged its last one, as the roundrobin mode's Go master;
//   - none: every worker accepts on the shared socket, as in the shared
//     mode, but libuv accepts greedily in a loop where Go's netpoller
//     wakes every worker to race for each connection.
type Node struct{ policy string }

var (
	_ Mode        = Node{}
	_ Checker     = Node{}
	_ ProgramUser = Node{}
)

func init() {
	register(Node{"rr"})
	register(Node{"none"})
}

func (n Node) Info() Info {
	return Info{
		Name:      n.name(),
		Summary:   nodeSummaries[n.policy],
		WorkerApp: "Node.js " + nodeVersion() + " cluster app (worker/cluster.js, node:http; libuv accepts greedily in a loop)",
		// No AppListens: its workers are Node's, so a user's own app
		// cannot be one.
	}
}

func (n Node) name() string { return "node-" + n.policy }

var nodeSummaries = map[string]string{
	"rr":   "Node.js cluster, SCHED_RR: the primary accepts and hands each connection to a free worker",
	"none": "Node.js cluster, SCHED_NONE: the primary shares its socket and every worker accepts on it (libuv, greedily)",
}

// nodeVersion asks node once per process, when a Node mode is first described.
var nodeVersion = sync.OnceValue(func() string {
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		return "(version unknown)"
	}
	return strings.TrimSpace(string(out))
})

func (Node) Programs() []string { return []string{"node"} }

func (Node) Available() error {
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("node (Node.js) not found: %w", err)
	}
	return nil
}

// Open listens on the public address and starts the primary on it; the
// primary forks the workers as the deployment asks for them.
func (n Node) Open(s Setup) (Frontend, error) {
	sock, err := listenSocket(s.Addr, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.name(), err)
	}
	defer sock.Close() // the primary has its own copy: the port is its own
	c, err := supervise.StartNodeCluster(n.policy, s.Work, sock, s.Stderr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.name(), err)
	}
	return &nodeFrontend{addr: socketAddr(sock), cluster: c}, nil
}

type nodeFrontend struct {
	addr    string
	cluster *supervise.NodeCluster
}

var (
	_ Starter   = (*nodeFrontend)(nil)
	_ Accounter = (*nodeFrontend)(nil)
)

func (f *nodeFrontend) Addr() string { return f.addr }

func (f *nodeFrontend) WorkerSocket(int) (*os.File, error) {
	return nil, errors.New("node: the cluster primary forks its workers")
}

func (f *nodeFrontend) StartWorker(spec worker.Spec) (*supervise.Process, error) {
	return f.cluster.Start(spec)
}

// Close does nothing: the port is the primary's, which closes it when
// its last worker is gone, as Node's cluster does.
func (f *nodeFrontend) Close() error { return nil }

// nodeStopGrace bounds how long the primary may take to exit once its
// workers have stopped.
const nodeStopGrace = 5 * time.Second

func (f *nodeFrontend) Finish() error { return f.cluster.Stop(nodeStopGrace) }

// Account names the primary as the master: a program of its own.
func (f *nodeFrontend) Account() FrontendAccount {
	return FrontendAccount{Master: Program{PID: f.cluster.PID(), CPUSeconds: f.cluster.CPUSeconds()}}
}
