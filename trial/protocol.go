package trial

import (
	"time"

	"clusterbench/modes"
	"clusterbench/plan"
	"clusterbench/results"
)

// The hidden subcommands of clusterbench that the engine starts: the
// binary re-runs itself, as cluster.fork() does.
const (
	// Command measures one trial in a process of its own: it reads a
	// Request on stdin and prints a Response on stdout.
	Command = "trial"
	// ServeCommand runs a deployment: `clusterbench serve`, given the
	// plan.Deployment as JSON with --deployment, prints a ServeAccount.
	ServeCommand = "serve"
	// WorkerCommand runs the Go worker app.
	WorkerCommand = "worker"
)

// Request is what the runner sends a trial process on its stdin.
type Request struct {
	Index, Total int
	Trial        plan.Trial
	Profile      string // file for a CPU profile of the deployment; "" for none
	Terminal     bool   // progress as a live line rather than periodic ones
}

// Response is what a trial process prints on its stdout.
type Response struct {
	Finished bool // false if it was interrupted: not a measurement
	Trial    results.Trial
}

// ServeAccount is the deployment's own account, which serve prints with
// --json when it stops; a trial reads it too.
type ServeAccount struct {
	Mode   string `json:"mode"`
	Policy string `json:"policy,omitempty"`
	Addr   string `json:"addr"`
	modes.Account
	// ServingSeconds is the time from every worker serving to the stop.
	ServingSeconds float64 `json:"serving_seconds"`
	// MasterCPUSeconds is this process's CPU time while serving: the
	// master's work in modes that have one, next to nothing in the others;
	// with a master program's (Node's cluster primary) added.
	MasterCPUSeconds float64  `json:"master_cpu_seconds"`
	Errors           []string `json:"errors,omitempty"`
}

// Ready is written to serve's --ready-fd once every worker serves.
type Ready struct {
	Addr string `json:"addr"`
	PIDs []int  `json:"pids"`
	// ProxyPID is the process a proxy mode's proxy runs under.
	ProxyPID int `json:"proxy_pid,omitempty"`
	// MasterPID is a master that is a program of its own (Node's primary).
	MasterPID int `json:"master_pid,omitempty"`
}

// StopGrace bounds how long a worker may take to finish after SIGTERM.
const StopGrace = 10 * time.Second

// exitedCPU is the lifetime CPU time of each worker process that ended,
// by PID, as the deployment learnt it when it reaped them; /proc no longer
// has those that ended while measuring.
func (a *ServeAccount) exitedCPU() map[int]float64 {
	exited := map[int]float64{}
	for _, w := range a.Workers {
		for _, p := range w.Processes {
			exited[p.PID] = p.CPUSeconds
		}
	}
	return exited
}
