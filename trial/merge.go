package trial

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"clusterbench/analysis"
	"clusterbench/loadgen"
	"clusterbench/plan"
	"clusterbench/results"
	"clusterbench/scenarios"
	"clusterbench/segment"
)

// MergeOptions are how the load hosts' results are set beside the
// server's record.
type MergeOptions struct {
	// Plan is the load as split divided it, to check each host's part
	// against; nil when the hosts ran an attack of their own.
	Plan *segment.Plan
	// ClockTolerance is how far a load host's clock may be off the
	// server's: the workers' counts are compared over the hosts' window
	// widened by it on each side.
	ClockTolerance time.Duration
}

// DefaultClockTolerance is a second: chrony or NTP keep machines on one
// network within a millisecond or so, and a second of the server's bins
// either side holds only what came in flight.
const DefaultClockTolerance = time.Second

// Merge sets the load hosts' results (lg, aggregated by loadgen.Merge,
// and each host's) beside the server's record served of the same trial,
// written by serve -o: the client's figures are then theirs, and their
// counts per worker are checked against the workers' own, as run checks
// its own load's. Every difference is reported, with the hosts whose part
// is missing.
func Merge(served results.Trial, lg *loadgen.Result, hosts []loadgen.HostResult, o MergeOptions) results.Trial {
	rec := served
	rec.Origin = results.OriginMerge
	rec.Counting = fmt.Sprintf("the client (the vegeta results of %s, merged on one time axis) and the workers (serve -o), compared over the hosts' window", plural(len(hosts), "load host"))
	rec.Warnings = slices.Clone(served.Warnings)
	rec.LoadHosts = loadHosts(hosts, o.Plan)
	rec.Load = results.Load{Name: fmt.Sprintf("vegeta-%dhosts", len(hosts)), Engine: plan.Vegeta.String()}
	if p := o.Plan; p != nil {
		rec.KeepAlive = p.KeepAlive
		l := p.Load()
		name := scenarios.LoadName(plan.Load{Engine: plan.Vegeta, Rate: l.Rate, Concurrency: l.Concurrency})
		rec.Load = results.Load{
			Name: fmt.Sprintf("%s-%dhosts", name, len(p.Hosts)), Engine: plan.Vegeta.String(), Rate: l.Rate,
			DurationSeconds: l.Duration.Seconds(), WarmupSeconds: l.Warmup.Seconds(),
			Concurrency: l.Concurrency, MaxConnections: l.MaxConnections, TimeoutSeconds: l.Timeout.Seconds(),
		}
	}
	start, end := lg.Start, lg.Start.Add(lg.Elapsed) // the hosts' span, as loadgen.Merge found it
	rec.Started = start
	fillClient(&rec, lg)

	// The workers' own counts are over the hosts' window, as the client's
	// are: what they served outside it is left out, and said.
	inWindow, outside := servedIn(served.Served, start.Add(-o.ClockTolerance), end.Add(o.ClockTolerance), len(served.PerWorker))
	rec.PerWorker = slices.Clone(served.PerWorker)
	for len(rec.PerWorker) < len(lg.PerWorker) {
		rec.PerWorker = append(rec.PerWorker, results.WorkerCounts{Index: len(rec.PerWorker)})
	}
	var mismatches, unreported []string
	var clientTotal, workerTotal uint64
	for i := range rec.PerWorker {
		w := &rec.PerWorker[i]
		w.Requests, w.Connections = 0, 0
		if i < len(lg.PerWorker) {
			w.Requests, w.Connections = lg.PerWorker[i].Requests, lg.PerWorker[i].Connections
		}
		w.WorkerRequests, w.WorkerConnections = 0, 0
		if i < len(inWindow) {
			w.WorkerRequests, w.WorkerConnections = inWindow[i].requests, inWindow[i].connections
		}
		w.Processes = clientProcesses(w.Processes, i, lg)
		if dead := withoutFinalCounts(w.Processes); len(dead) > 0 {
			// Its last reports may miss what it served last: the client's count stands.
			unreported = append(unreported, fmt.Sprintf("worker %d: process %s died without final counts: the load hosts' results hold %d responses from the worker, its processes' reports %d in the window; the client's count stands",
				i, strings.Join(dead, ", "), w.Requests, w.WorkerRequests))
			continue
		}
		clientTotal += w.Requests
		workerTotal += w.WorkerRequests
		if w.Requests != w.WorkerRequests {
			mismatches = append(mismatches, fmt.Sprintf("worker %d: the load hosts' results hold %d responses from it, the worker counted %d", i, w.Requests, w.WorkerRequests))
		}
		if w.Connections != w.WorkerConnections {
			mismatches = append(mismatches, fmt.Sprintf("worker %d: the load hosts' results hold %d connections to it, the worker counted %d", i, w.Connections, w.WorkerConnections))
		}
	}
	switch {
	case workerTotal > clientTotal:
		mismatches = append(mismatches, fmt.Sprintf("the workers served %s in the load hosts' window that no host's results hold: %s",
			plural(int(workerTotal-clientTotal), "request"), unrecorded(rec.LoadHosts)))
	case clientTotal > workerTotal:
		mismatches = append(mismatches, fmt.Sprintf("the load hosts' results hold %s more than the workers counted in their window: "+
			"results of a warm-up (whose requests the workers leave out), of another server, or of a host whose clock is off by more than %v", plural(int(clientTotal-workerTotal), "response"), o.ClockTolerance))
	}
	rec.Mismatches, rec.Unreported = mismatches, unreported
	rec.CountsAgree = len(mismatches) == 0
	rec.CountsAuthority = countsAuthority(len(mismatches), len(unreported))
	if outside > 0 {
		rec.Warnings = append(rec.Warnings, fmt.Sprintf("the workers counted %s outside the load hosts' window (widened by %v for their clocks), left out of the comparison: another client's, or those of a host whose results were not given", plural(int(outside), "request"), o.ClockTolerance))
	}
	rec.Warnings = append(rec.Warnings, hostWarnings(rec.LoadHosts, served.Served, o)...)
	clientWarnings(&rec, lg)
	if analysis.SharesApply(&rec) {
		rec.Fairness = results.FairnessPair{
			Requests:    analysis.FairnessOf(rec.RequestCounts()),
			Connections: analysis.FairnessOf(rec.ConnectionCounts()),
		}
	}
	rec.LoadgenBound, rec.LoadgenBoundReason = false, ""
	if why := hostsLimit(&rec, o.Plan); why != "" {
		rec.LoadgenBound, rec.LoadgenBoundReason = true, why
	}
	return rec
}

// clientProcesses puts the client's count of each of worker i's
// processes beside its own, for a worker that had more than one.
func clientProcesses(processes []results.ProcessCounts, i int, lg *loadgen.Result) []results.ProcessCounts {
	out := slices.Clone(processes)
	for j := range out {
		out[j].Requests, out[j].Connections = 0, 0
		for _, c := range lg.Processes {
			if c.Worker == i && c.PID == out[j].PID {
				out[j].Requests, out[j].Connections = c.Requests, c.Connections
			}
		}
	}
	return out
}

// withoutFinalCounts names the processes that died without their final
// counts, whose last reports may miss what they served last.
func withoutFinalCounts(processes []results.ProcessCounts) []string {
	var pids []string
	for _, p := range processes {
		if !p.Final {
			pids = append(pids, fmt.Sprint(p.PID))
		}
	}
	return pids
}

// hostWarnings are what the hosts' parts say a reader must not miss: a
// part missing, results outside the time the workers served, a clock
// off the server's, targets not the plan's, and starts far apart.
func hostWarnings(hosts []results.LoadHost, s *results.Served, o MergeOptions) []string {
	var out []string
	for _, h := range hosts {
		if h.Missing != "" {
			out = append(out, fmt.Sprintf("load host %s: %s", h.Name, h.Missing))
		}
		if off := offServer(h, s, o.ClockTolerance); off != "" {
			out = append(out, fmt.Sprintf("load host %s: %s", h.Name, off))
		}
		if c := h.ClockOffsetMs; c != nil && math.Abs(*c)-h.ClockErrorMs > float64(o.ClockTolerance.Milliseconds()) {
			out = append(out, fmt.Sprintf("load host %s: by the responses' Date headers, the server's clock is %+.0f ms (±%.0f) off the host's, beyond the tolerance of %v: align the clocks (chrony, NTP)",
				h.Name, *c, h.ClockErrorMs, o.ClockTolerance))
		}
		if o.Plan != nil && len(h.Targets) > 0 && !slices.Equal(h.Targets, []string{"GET " + o.Plan.URL}) {
			out = append(out, fmt.Sprintf("load host %s: its results are of %s, not the plan's GET %s", h.Name, strings.Join(h.Targets, ", "), o.Plan.URL))
		}
	}
	if skew := startSkew(hosts); len(hosts) > 1 && skew > o.ClockTolerance {
		out = append(out, fmt.Sprintf("the load hosts started %v apart: the load was not all there at once (start them together: split --start)", skew.Round(time.Millisecond)))
	}
	return out
}

// plural is "1 load host", "3 load hosts".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// unrecorded says where requests the workers served but no host's
// results hold came from: the hosts whose part is missing, which had them
// in flight as they stopped (at least those their sequence numbers skip),
// or else the window's edges.
func unrecorded(hosts []results.LoadHost) string {
	missing := missingHosts(hosts)
	if len(missing) == 0 {
		return "requests in flight at the edges of the window, beyond the clock tolerance, or of a host whose results were not given"
	}
	var gaps uint64
	for _, h := range hosts {
		gaps += h.Unrecorded
	}
	known := ""
	if gaps > 0 {
		known = fmt.Sprintf(" (at least %d by the sequence numbers their results skip)", gaps)
	}
	return "requests of " + strings.Join(missing, ", ") + ", whose part is missing (see its load host): those it had in flight as it stopped" + known + ", and any it sent unrecorded"
}

// workerWindow is what one worker counted in the hosts' window.
type workerWindow struct{ requests, connections uint64 }

// servedIn sums the workers' bins that overlap from..to, and counts the
// requests of the bins outside.
func servedIn(s *results.Served, from, to time.Time, workers int) ([]workerWindow, uint64) {
	in := make([]workerWindow, workers)
	if s == nil {
		return in, 0
	}
	var outside uint64
	for _, sec := range s.Seconds {
		binStart := s.Start.Add(time.Duration(sec.T * float64(time.Second)))
		binEnd := binStart.Add(time.Duration(sec.Seconds * float64(time.Second)))
		overlaps := binEnd.After(from) && binStart.Before(to)
		for w, n := range sec.Requests {
			if !overlaps {
				outside += n
				continue
			}
			for len(in) <= w {
				in = append(in, workerWindow{})
			}
			in[w].requests += n
			if w < len(sec.Connections) {
				in[w].connections += sec.Connections[w]
			}
		}
	}
	return in, outside
}

// loadHosts is each host's part of the record, in the plan's order, with
// a host the plan names but no file gave, and what each part lacks.
func loadHosts(hosts []loadgen.HostResult, p *segment.Plan) []results.LoadHost {
	var out []results.LoadHost
	byName := map[string]loadgen.HostResult{}
	for _, h := range hosts {
		byName[h.Name] = h
	}
	add := func(h loadgen.HostResult, planned *segment.Host) {
		lh := results.LoadHost{
			Name: h.Name, File: filepath.Base(h.Path), Requests: h.Requests, Successes: h.Successes, Errors: h.Errors,
			First: h.First, LastSent: h.LastSent, Last: h.Last, PerSecond: h.PerSecond, Targets: h.URLs,
		}
		if h.Sent > h.Requests {
			lh.Unrecorded = h.Sent - h.Requests
		}
		if c := h.Clock; c != nil {
			ms := float64(c.Offset().Microseconds()) / 1000
			lh.ClockOffsetMs, lh.ClockErrorMs = &ms, float64(c.Error().Microseconds())/1000
		}
		if h.Latency != nil && h.Latency.TotalCount() > 0 {
			lh.P99Ms = float64(h.Latency.ValueAtQuantile(99)) / 1000
		}
		if sent := h.LastSent.Sub(h.First).Seconds(); sent > 0 {
			lh.RateRPS = float64(h.Requests) / sent
		}
		if planned != nil {
			lh.Segment, lh.PlannedRate, lh.PlannedConcurrency = planned.Segment, planned.Rate, planned.Concurrency
		}
		out = append(out, lh)
	}
	if p == nil {
		for _, h := range hosts {
			add(h, nil)
		}
	} else {
		for _, ph := range p.Hosts {
			h, ok := byName[ph.Name]
			if !ok {
				h = loadgen.HostResult{Name: ph.Name}
			}
			add(h, &ph)
		}
	}
	var lastSent time.Time // the latest any host sent until
	for _, h := range out {
		if h.LastSent.After(lastSent) {
			lastSent = h.LastSent
		}
	}
	for i := range out {
		out[i].Missing = missingPart(&out[i], hosts, p, lastSent)
	}
	return out
}

// missingPart says what of host h's part its results lack, or "".
func missingPart(h *results.LoadHost, hosts []loadgen.HostResult, p *segment.Plan, lastSent time.Time) string {
	var cut error
	given := false
	for _, r := range hosts {
		if r.Name == h.Name {
			cut, given = r.Cut, true
		}
	}
	switch {
	case !given:
		return "no results file was given for it: its whole part is missing"
	case h.Requests == 0:
		return "its results file is empty: it sent nothing, or died before its first result"
	}
	var why []string
	if cut != nil {
		why = append(why, cut.Error())
	}
	if p != nil {
		planned := time.Duration(p.Duration)
		slack := max(time.Second, planned/20)
		if ran := h.LastSent.Sub(h.First); ran < planned-slack {
			why = append(why, fmt.Sprintf("it sent for %.1f s of the planned %v: its part after that is missing", ran.Seconds(), planned))
		}
	} else if early := lastSent.Sub(h.LastSent); early > time.Second && early > lastSent.Sub(h.First)/20 {
		why = append(why, fmt.Sprintf("it stopped sending %.1f s before the last host: its part after that may be missing", early.Seconds()))
	}
	return strings.Join(why, "; ")
}

// offServer says how far a host's results lie outside the window in
// which the workers served, widened by the tolerance: a clock that is off,
// or a load that went to another server; "" when they overlap it.
func offServer(h results.LoadHost, s *results.Served, tolerance time.Duration) string {
	if s == nil || h.Requests == 0 {
		return ""
	}
	from, to := s.WindowStart.Add(-tolerance), s.WindowEnd.Add(tolerance)
	var by time.Duration
	switch {
	case h.Last.Before(from):
		by = from.Sub(h.Last)
	case h.First.After(to):
		by = h.First.Sub(to)
	default:
		return ""
	}
	return fmt.Sprintf("its results lie %v outside the time the workers served, on their clocks: its clock is off, or it drove another server", by.Round(time.Millisecond))
}

// missingHosts names the hosts whose part is missing.
func missingHosts(hosts []results.LoadHost) []string {
	var names []string
	for _, h := range hosts {
		if h.Missing != "" {
			names = append(names, h.Name)
		}
	}
	return names
}

// startSkew is how far apart the hosts' first requests were.
func startSkew(hosts []results.LoadHost) time.Duration {
	var first, last time.Time
	for _, h := range hosts {
		if h.Requests == 0 {
			continue
		}
		if first.IsZero() || h.First.Before(first) {
			first = h.First
		}
		if h.First.After(last) {
			last = h.First
		}
	}
	return last.Sub(first)
}

// hostsLimit says which load host sent less than the plan gave it, so
// that it, not the server, was the limit; "" when none did.
func hostsLimit(rec *results.Trial, p *segment.Plan) string {
	if p == nil || p.Rate == 0 {
		return ""
	}
	var slow []string
	for _, h := range rec.LoadHosts {
		if h.Requests > 0 && h.RateRPS < 0.95*float64(h.PlannedRate) {
			slow = append(slow, fmt.Sprintf("%s sent %.0f req/s of its %d", h.Name, h.RateRPS, h.PlannedRate))
		}
	}
	if len(slow) == 0 {
		return ""
	}
	return "load hosts that sent less than their part: " + strings.Join(slow, ", ")
}
