package worker

import (
	_ "embed"
	"strconv"
	"time"
)

// NodeClusterScript is the Node worker app, run with `node -e`: one
// script is the cluster primary and every worker it forks. The primary
// reads fork requests on stdin and writes events on stdout, JSON lines
// both (see cluster.js); its workers serve this package's HTTP contract.
//
//go:embed cluster.js
var NodeClusterScript string

// NodeClusterEnv tells the Node worker app the primary's scheduling
// policy ("rr" or "none", as NODE_CLUSTER_SCHED_POLICY) and the work per
// request, as Spec.Args tells the Go worker.
func NodeClusterEnv(policy string, w Work) []string {
	return []string{
		"NODE_CLUSTER_SCHED_POLICY=" + policy,
		"CLUSTERBENCH_BODY_BYTES=" + strconv.Itoa(w.BodyBytes),
		"CLUSTERBENCH_HANDLER_CPU_US=" + strconv.FormatFloat(float64(w.CPU)/float64(time.Microsecond), 'f', -1, 64),
		"CLUSTERBENCH_HANDLER_SLEEP_MS=" + strconv.FormatFloat(float64(w.Sleep)/float64(time.Millisecond), 'f', -1, 64),
		"CLUSTERBENCH_HANDLER_TAIL_FRACTION=" + strconv.FormatFloat(w.Tail.Fraction, 'g', -1, 64),
		"CLUSTERBENCH_HANDLER_TAIL_CPU_US=" + strconv.FormatFloat(float64(w.Tail.CPU)/float64(time.Microsecond), 'f', -1, 64),
	}
}
