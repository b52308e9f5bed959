package trial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"clusterbench/internal/kernelcount"
	"clusterbench/internal/netns"
	"clusterbench/internal/supervise"
	"clusterbench/loadgen"
	"clusterbench/modes"
	"clusterbench/plan"
	"clusterbench/results"
	"clusterbench/worker"
)

// appLauncher starts the user's app; as root, each worker gets a group id
// of its own, by which the kernel counts its traffic (see kernelcount).
func appLauncher(app *plan.App, stderr io.Writer) supervise.Launcher {
	l := supervise.Launcher{Command: app.Command, App: true, Listen: app.Listen, Dir: app.Dir, Stderr: stderr}
	if os.Geteuid() == 0 {
		l.Group = kernelcount.GID
	}
	return l
}

// appProbeTimeout bounds how long an app may take to answer HTTP.
const appProbeTimeout = 10 * time.Second

// probeApp checks that the deployed app answers HTTP at all: a socket
// queues connections whether or not anything serves it, and a proxy
// answers whether or not its upstreams do. An app that exits meanwhile
// fails it at once, named with its exit status and the end of its stderr.
func probeApp(ctx context.Context, dep *modes.Deployment) error {
	ctx, cancel := context.WithTimeout(ctx, appProbeTimeout)
	defer cancel()
	probed := make(chan error, 1)
	go func() { probed <- worker.ProbeHTTP(ctx, dep.Addr()) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-probed:
			if died := dep.Died(); died != nil {
				return fmt.Errorf("worker app: %w", died)
			}
			if err != nil {
				return fmt.Errorf("worker app: %w", err)
			}
			return nil
		case <-tick.C:
			if died := dep.Died(); died != nil {
				return fmt.Errorf("worker app: %w", died)
			}
		}
	}
}

// allDied is why a trial whose every worker exited unasked, with no fault
// injected, measured nothing of the mode; "" if it did not happen.
func allDied(d plan.Deployment, served *ServeAccount) string {
	if d.Fault != nil || served.Died == "" {
		return ""
	}
	// Every worker dying unasked, even if replaced, means the app broke
	// under this load: what was measured is its crashes, not the mode.
	exited := map[int]bool{}
	for _, r := range served.Restarts {
		exited[r.Worker] = true
	}
	if len(exited) < len(served.Workers) {
		return ""
	}
	return "every worker exited while serving, with no fault injected; the first: " + served.Died
}

// kernelCounter reads the kernel's counts of a user's app at the start and
// the end of the measured phase.
type kernelCounter struct {
	rules      *kernelcount.Rules
	start, end []kernelcount.Count
	err        error
}

// newKernelCounter installs the counting rules when they can work: in the
// trial's own network namespace, with workers in groups of their own.
func newKernelCounter(app *plan.App, workers int) *kernelCounter {
	k := &kernelCounter{}
	switch {
	case app == nil:
		return nil
	case !netns.Private():
		k.err = errors.New("it needs the trial's private network namespace")
	case os.Geteuid() != 0:
		k.err = errors.New("it needs root, to give each worker a group of its own")
	default:
		k.rules, k.err = kernelcount.Install(workers)
	}
	return k
}

func (k *kernelCounter) read(measuring bool) {
	if k == nil || k.rules == nil || k.err != nil {
		return
	}
	counts, err := k.rules.Read()
	switch {
	case err != nil:
		k.err = err
	case measuring:
		k.start = counts
	default:
		k.end = counts
	}
}

// counts is what each worker served while measuring. A connection is
// counted when the worker first sends on it, so only those opened while
// measuring count: kept-alive ones from the warm-up do not. Its first
// request arrived before that, so with a socket of ours, whose handshake
// the app takes no part in, it is added to the requests counted on marked
// connections. An app that listens by itself sends the handshake's
// SYN-ACK, which marks the connection first, so every request is counted.
func (k *kernelCounter) counts(listen string) []kernelcount.Count {
	out := make([]kernelcount.Count, len(k.end))
	for i, e := range k.end {
		s := k.start[i]
		out[i] = kernelcount.Count{Requests: e.Requests - s.Requests, Connections: e.Connections - s.Connections}
		if listen == modes.ListenFD {
			out[i].Requests += out[i].Connections
		}
	}
	return out
}

// countedBy is who counted a user's app's shares.
type countedBy int

const (
	byClientAndKernel countedBy = iota
	byClient
	byKernel
	byNobody
)

// appCounting is how a user's app was counted: by whom, in words for the
// record, and what a reader must be warned of.
type appCounting struct {
	by       countedBy
	text     string
	warnings []string
}

// countApp puts the counts of a user's app, which reports none itself, in
// the place of the workers' own: the kernel's when it counted. If the app
// names no worker in its responses, the kernel's counts are the client's
// too, the only ones there are.
func countApp(app *plan.App, keepAlive bool, k *kernelCounter, lg *loadgen.Result, served *ServeAccount) appCounting {
	named := lg.Successes > 0 && lg.Unattributed == 0
	var kernel []kernelcount.Count
	if k.err == nil && k.end != nil && k.start != nil {
		kernel = k.counts(app.Listen)
	}
	for i := range served.Workers {
		w := &served.Workers[i]
		w.Requests, w.Connections, w.Accepted = 0, 0, 0
		if i < len(kernel) {
			w.Requests, w.Connections = kernel[i].Requests, kernel[i].Connections
			if keepAlive && named && i < len(lg.PerWorker) {
				// Kept-alive connections from the warm-up are the client's
				// to count: the kernel compares requests only.
				w.Connections = lg.PerWorker[i].Connections
			}
		}
		if i < len(lg.WarmupPerWorker) {
			w.WarmupRequests = lg.WarmupPerWorker[i] // the kernel cannot tell warm-up apart: it is left out by time
		}
	}
	switch {
	case named && kernel != nil && keepAlive:
		return appCounting{by: byClientAndKernel, text: "client (the app's X-Worker headers) and kernel (per worker process, requests only: kept-alive connections from the warm-up are the client's to count)"}
	case named && kernel != nil:
		return appCounting{by: byClientAndKernel, text: "client (the app's X-Worker headers) and kernel (per worker process)"}
	case named:
		return appCounting{by: byClient, text: "client only (the app's X-Worker headers); the kernel did not count: " + k.err.Error()}
	case kernel != nil:
		lg.PerWorker = make([]loadgen.Tally, len(kernel))
		lg.WarmupPerWorker = make([]uint64, len(kernel))
		for i, c := range kernel {
			lg.PerWorker[i] = loadgen.Tally{Requests: c.Requests, Connections: c.Connections}
			served.Workers[i].WarmupRequests = 0
		}
		lg.Unattributed = 0
		c := appCounting{by: byKernel, text: "kernel only (per worker process): the app names no worker in its responses"}
		if keepAlive {
			c.text += "; connections are those opened while measuring, not the kept-alive ones from the warm-up"
		}
		return c
	}
	return appCounting{by: byNobody, text: "none: the app names no worker and the kernel did not count: " + k.err.Error(),
		warnings: []string{"worker shares not counted: the app sets no X-Worker header, and kernel counting " + k.err.Error()}}
}

// appAuthority says how a user's app was counted and whose counts stand.
func appAuthority(rec *results.Trial, c appCounting, lg *loadgen.Result) {
	rec.Counting = c.text
	rec.Warnings = append(rec.Warnings, c.warnings...)
	switch c.by {
	case byKernel:
		rec.CountsAuthority = "kernel: the only count per worker"
		var total uint64
		for _, w := range rec.PerWorker {
			total += w.Requests
		}
		if total != lg.Successes {
			rec.Warnings = append(rec.Warnings, fmt.Sprintf("the kernel counted %d requests, the client %d successful responses", total, lg.Successes))
			rec.CountsAgree = false // the kernel is this app's worker side
		}
	case byClient, byNobody:
		rec.CountsAuthority = "client: the app reports no counts of its own"
		rec.Mismatches, rec.CountsAgree = nil, true
	default:
		if rec.CountsAgree {
			rec.CountsAuthority = "both: client and kernel agree"
		}
	}
}
