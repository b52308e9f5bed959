package trial

import (
	"fmt"

	"clusterbench/analysis"
	"clusterbench/loadgen"
	"clusterbench/modes"
	"clusterbench/results"
)

// fillMeasurement puts the client's and the workers' accounts side by side
// and records every disagreement.
func fillMeasurement(rec *results.Trial, lg *loadgen.Result, served *ServeAccount, used serverCPU) {
	fillClient(rec, lg)
	rec.Load.Threads = lg.Threads
	rec.LoadgenPeakRSSBytes = lg.PeakRSSBytes

	n := max(rec.Processes(), len(lg.PerWorker), len(served.Workers))
	rec.PerWorker = make([]results.WorkerCounts, n)
	var mismatches []string
	for i := range n {
		w := &rec.PerWorker[i]
		w.Index = i
		var warmClient, warmWorker uint64
		if i < len(lg.PerWorker) {
			w.Requests, w.Connections = lg.PerWorker[i].Requests, lg.PerWorker[i].Connections
			warmClient = lg.WarmupPerWorker[i]
		}
		var processes []modes.ProcessResult
		if i < len(served.Workers) {
			s := served.Workers[i]
			w.PID, w.WorkerRequests, w.WorkerConnections, w.WorkerAccepted = s.PID, s.Requests, s.Connections, s.Accepted
			w.CPUSeconds, w.LifetimeCPUSeconds, w.Restarts = used.workers[s.PID], s.CPUSeconds, s.Restarts
			warmWorker = s.WarmupRequests
			processes = s.Processes
			if len(processes) > 0 {
				w.CPUSeconds = 0
				for _, p := range processes {
					w.CPUSeconds += used.workers[p.PID]
				}
			}
		}
		if len(processes) > 0 && tellsProcessesApart(lg, i) {
			// Compared process by process: one that died without final
			// counts is left to the client, and says what it missed.
			var unreported []string
			w.Processes, unreported, mismatches = reconcile(i, processes, lg, served, mismatches)
			rec.Unreported = append(rec.Unreported, unreported...)
		} else {
			if w.Requests != w.WorkerRequests {
				mismatches = append(mismatches, fmt.Sprintf("worker %d: client counted %d requests, worker %d", i, w.Requests, w.WorkerRequests))
			}
			if w.Connections != w.WorkerConnections {
				mismatches = append(mismatches, fmt.Sprintf("worker %d: client counted %d connections, worker %d", i, w.Connections, w.WorkerConnections))
			}
		}
		if warmClient != warmWorker {
			mismatches = append(mismatches, fmt.Sprintf("worker %d: client counted %d warm-up requests, worker %d", i, warmClient, warmWorker))
		}
	}
	rec.Mismatches = mismatches
	rec.CountsAgree = len(mismatches) == 0
	rec.CountsAuthority = countsAuthority(len(mismatches), len(rec.Unreported))
	if analysis.SharesApply(rec) {
		rec.Fairness = results.FairnessPair{
			Requests:    analysis.FairnessOf(rec.RequestCounts()),
			Connections: analysis.FairnessOf(rec.ConnectionCounts()),
		}
	}
	noteCPU(rec, used)
	rec.CPU.LoadgenSeconds = lg.CPUSeconds
	noteDeployment(rec, served)
	clientWarnings(rec, lg)
}

// fillClient records the client's account of the measured load: its
// counts, rates, latency and their histogram, second by second.
func fillClient(rec *results.Trial, lg *loadgen.Result) {
	rec.Requests, rec.Successes, rec.Errors = lg.Requests, lg.Successes, lg.Errors
	rec.ErrorKinds = lg.ErrorKinds
	rec.DurationSeconds = lg.Elapsed.Seconds()
	rec.RateRPS, rec.ThroughputRPS = lg.RateRPS, lg.ThroughputRPS
	l := lg.Latency
	rec.Latency = results.Latency{Mean: l.Mean, P50: l.P50, P90: l.P90, P99: l.P99, P999: l.P999, Max: l.Max, Stddev: &l.Stddev}
	rec.ClientDials = lg.Dials
	rec.Unattributed = lg.Unattributed
	rec.Series = series(lg)
	rec.LatencyHistogram = ""
	if lg.LatencyHistogram != nil {
		var err error
		if rec.LatencyHistogram, err = results.EncodeLatency(lg.LatencyHistogram); err != nil {
			rec.Warnings = append(rec.Warnings, "latency histogram not kept: "+err.Error())
		}
	}
}

// clientWarnings are what the client's account says a reader must not miss.
func clientWarnings(rec *results.Trial, lg *loadgen.Result) {
	if lg.Unattributed > 0 {
		rec.Warnings = append(rec.Warnings, fmt.Sprintf("%d successful responses named no worker", lg.Unattributed))
	}
	if rec.Successes == 0 {
		rec.Warnings = append(rec.Warnings, "no request succeeded")
	}
}

// noteCPU records the server's CPU time per role, and per successful
// request.
func noteCPU(rec *results.Trial, used serverCPU) {
	rec.CPU = results.CPU{
		MasterSeconds:  used.master,
		ProxySeconds:   used.proxy,
		ServingSeconds: used.seconds,
	}
	for _, s := range used.workers { // replaced processes included
		rec.CPU.WorkersSeconds += s
	}
	if rec.Successes > 0 {
		rec.ServerCPUPerRequestUs = 1e6 * rec.CPU.ServerSeconds() / float64(rec.Successes)
	}
}

// noteDeployment records what the deployment said of itself: the
// frontend's counts, workers that exited, and its errors.
func noteDeployment(rec *results.Trial, served *ServeAccount) {
	rec.Frontend = served.Frontend
	for _, r := range served.Restarts {
		// The record's own copy: results imports no other package.
		rec.Restarts = append(rec.Restarts, results.Restart(r))
		if !r.Killed { // the fault's own victims are in its damage report
			rec.Warnings = append(rec.Warnings, DescribeRestart(r))
		}
	}
	for _, e := range served.Errors {
		rec.Warnings = append(rec.Warnings, "deployment: "+e)
	}
}

// tellsProcessesApart reports whether the client told worker i's
// processes apart (X-Worker-Pid on its responses).
func tellsProcessesApart(lg *loadgen.Result, i int) bool {
	seen := false
	for _, p := range lg.Processes {
		if p.Worker == i {
			if p.PID == 0 {
				return false
			}
			seen = true
		}
	}
	return seen || (i < len(lg.PerWorker) && lg.PerWorker[i].Requests == 0)
}

// reconcile compares worker i's processes one by one. A process that gave
// its final counts must agree with the client exactly; one that died
// without them is reported as unreported, with the client's count standing.
func reconcile(i int, processes []modes.ProcessResult, lg *loadgen.Result, served *ServeAccount, mismatches []string) ([]results.ProcessCounts, []string, []string) {
	var counts []results.ProcessCounts
	var unreported []string
	for _, p := range processes {
		pc := results.ProcessCounts{PID: p.PID, WorkerRequests: p.Requests, WorkerConnections: p.Connections, Final: p.Final, Killed: p.Killed}
		for _, c := range lg.Processes {
			if c.Worker == i && c.PID == p.PID {
				pc.Requests, pc.Connections = c.Requests, c.Connections
			}
		}
		counts = append(counts, pc)
		switch {
		case !p.Final:
			unreported = append(unreported, fmt.Sprintf("worker %d pid %d %s without final counts: the client saw %d requests on %d connections, its last report %d on %d%s; the client's count stands",
				i, p.PID, howItEnded(p), pc.Requests, pc.Connections, pc.WorkerRequests, pc.WorkerConnections, reportAge(p, served)))
		case pc.Requests != pc.WorkerRequests:
			mismatches = append(mismatches, fmt.Sprintf("worker %d pid %d: client counted %d requests, worker %d", i, p.PID, pc.Requests, pc.WorkerRequests))
		case pc.Connections != pc.WorkerConnections:
			mismatches = append(mismatches, fmt.Sprintf("worker %d pid %d: client counted %d connections, worker %d", i, p.PID, pc.Connections, pc.WorkerConnections))
		}
	}
	return counts, unreported, mismatches
}

func howItEnded(p modes.ProcessResult) string {
	if p.Killed {
		return "was killed"
	}
	return "died"
}

// reportAge says how long before the kill a killed process last reported.
func reportAge(p modes.ProcessResult, served *ServeAccount) string {
	if !p.Killed || p.LastCountsAt.IsZero() || len(served.Faults) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%.0f ms before the kill)", 1000*served.Faults[0].At.Sub(p.LastCountsAt).Seconds())
}

// countsAuthority says whose counts the figures stand on.
func countsAuthority(mismatches, unreported int) string {
	switch {
	case mismatches > 0:
		return "client: the two sides disagree (see mismatches)"
	case unreported > 0:
		return fmt.Sprintf("client for the processes that died without final counts (%d); client and workers agree on the rest", unreported)
	}
	return "both: client and workers agree"
}
