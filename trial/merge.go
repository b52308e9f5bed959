package trial

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"clusterbench/analysis"
	"clusterbench/loadgen"
	"clusterbench/plan"
	"clusterbench/results"
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
	if p := o.Plan; p != nil {
		rec.KeepAlive = p.KeepAlive
		rec.Load = results.Load{
			Name: fmt.Sprintf("%s-%dhosts", rateName(p.Rate, p.Concurrency), len(p.Hosts)), Engine: plan.Vegeta.String(), Rate: p.Rate,
			DurationSeconds: time.Duration(p.Duration).Seconds(), WarmupSeconds: time.Duration(p.Warmup).Seconds(),
			Concurrency: p.Concurrency, MaxConnections: p.MaxConnections, TimeoutSeconds: time.Duration(p.Timeout).Seconds(),
		}
	} else {
		rec.Load = results.Load{Name: fmt.Sprintf("vegeta-%dhosts", len(hosts)), Engine: plan.Vegeta.String()}
	}
	start, end := hostsSpan(hosts)
	rec.Started = start
	rec.Requests, rec.Successes, rec.Errors = lg.Requests, lg.Successes, lg.Errors
	rec.ErrorKinds = lg.ErrorKinds
	rec.DurationSeconds = lg.Elapsed.Seconds()
	rec.RateRPS, rec.ThroughputRPS = lg.RateRPS, lg.ThroughputRPS
	l := lg.Latency
	rec.Latency = results.Latency{Mean: l.Mean, P50: l.P50, P90: l.P90, P99: l.P99, P999: l.P999, Max: l.Max, Stddev: &l.Stddev}
	rec.LatencyHistogram = ""
	if lg.LatencyHistogram != nil && lg.LatencyHistogram.TotalCount() > 0 {
		var err error
		if rec.LatencyHistogram, err = results.EncodeLatency(lg.LatencyHistogram); err != nil {
			rec.Warnings = append(rec.Warnings, "latency histogram not kept: "+err.Error())
		}
	}
	rec.Series = series(lg)
	rec.ClientDials, rec.Unattributed = lg.Dials, lg.Unattributed

	inWindow, outside := servedIn(served.Served, start.Add(-o.ClockTolerance), end.Add(o.ClockTolerance), len(served.PerWorker))
	rec.PerWorker = slices.Clone(served.PerWorker)
	for len(rec.PerWorker) < len(lg.PerWorker) {
		rec.PerWorker = append(rec.PerWorker, results.WorkerCounts{Index: len(rec.PerWorker)})
	}
	var mismatches []string
	var clientTotal, workerTotal uint64
	for i := range rec.PerWorker {
		w := &rec.PerWorker[i]
		w.Requests, w.Connections = 0, 0
		if i < len(lg.PerWorker) {
			w.Requests, w.Connections = lg.PerWorker[i].Requests, lg.PerWorker[i].Connections
		}
		var counted workerWindow
		if i < len(inWindow) {
			counted = inWindow[i]
		}
		clientTotal += w.Requests
		workerTotal += counted.requests
		if w.Requests != counted.requests {
			mismatches = append(mismatches, fmt.Sprintf("worker %d: the load hosts' results hold %d responses from it, the worker counted %d", i, w.Requests, counted.requests))
		}
		if w.Connections != counted.connections {
			mismatches = append(mismatches, fmt.Sprintf("worker %d: the load hosts' results hold %d connections to it, the worker counted %d", i, w.Connections, counted.connections))
		}
	}
	missing := missingHosts(rec.LoadHosts)
	switch {
	case workerTotal > clientTotal:
		mismatches = append(mismatches, fmt.Sprintf("the workers served %s in the load hosts' window that no host's results hold: %s",
			plural(int(workerTotal-clientTotal), "request"), unrecorded(missing)))
	case clientTotal > workerTotal:
		mismatches = append(mismatches, fmt.Sprintf("the load hosts' results hold %s more than the workers counted in their window: "+
			"results of a warm-up (whose requests the workers leave out), of another server, or of a host whose clock is off by more than %v", plural(int(clientTotal-workerTotal), "response"), o.ClockTolerance))
	}
	rec.Mismatches = mismatches
	rec.CountsAgree = len(mismatches) == 0
	rec.CountsAuthority = "both: the load hosts' results and the workers agree"
	if !rec.CountsAgree {
		rec.CountsAuthority = "client: the load hosts' results and the workers disagree (see mismatches)"
	}
	if outside > 0 {
		rec.Warnings = append(rec.Warnings, fmt.Sprintf("the workers counted %s outside the load hosts' window (widened by %v for their clocks), left out of the comparison: another client's, or those of a host whose results were not given", plural(int(outside), "request"), o.ClockTolerance))
	}
	for _, h := range rec.LoadHosts {
		if h.Missing != "" {
			rec.Warnings = append(rec.Warnings, fmt.Sprintf("load host %s: %s", h.Name, h.Missing))
		}
		if off := offServer(h, served.Served, o.ClockTolerance); off != "" {
			rec.Warnings = append(rec.Warnings, fmt.Sprintf("load host %s: %s", h.Name, off))
		}
	}
	if skew := startSkew(rec.LoadHosts); len(rec.LoadHosts) > 1 && skew > o.ClockTolerance {
		rec.Warnings = append(rec.Warnings, fmt.Sprintf("the load hosts started %v apart: the load was not all there at once (start them together: split --start)", skew.Round(time.Millisecond)))
	}
	if lg.Unattributed > 0 {
		rec.Warnings = append(rec.Warnings, fmt.Sprintf("%d successful responses named no worker", lg.Unattributed))
	}
	if rec.Successes == 0 {
		rec.Warnings = append(rec.Warnings, "no request succeeded")
	}
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

// plural is "1 load host", "3 load hosts".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// unrecorded says where requests the workers served but no host's
// results hold came from: the hosts whose part is missing, which had them
// in flight as they stopped, or else the window's edges.
func unrecorded(missing []string) string {
	if len(missing) == 0 {
		return "requests in flight at the edges of the window, beyond the clock tolerance, or of a host whose results were not given"
	}
	return "requests of " + strings.Join(missing, ", ") + ", whose part is missing (see its load host): those it had in flight as it stopped, and any it sent unrecorded"
}

// rateName names a load by its shape, as scenarios name theirs.
func rateName(rate, concurrency int) string {
	if rate == 0 {
		return fmt.Sprintf("max-c%d", concurrency)
	}
	return fmt.Sprintf("%drps", rate)
}

// hostsSpan is the load hosts' span: from the first request any sent to
// the last result any got.
func hostsSpan(hosts []loadgen.HostResult) (start, end time.Time) {
	for _, h := range hosts {
		if h.Requests == 0 {
			continue
		}
		if start.IsZero() || h.First.Before(start) {
			start = h.First
		}
		if h.Last.After(end) {
			end = h.Last
		}
	}
	return start, end
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
			First: h.First, LastSent: h.LastSent, Last: h.Last, PerSecond: h.PerSecond,
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
