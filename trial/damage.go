package trial

import (
	"errors"
	"time"

	"clusterbench/loadgen"
	"clusterbench/plan"
	"clusterbench/results"
)

// damage is what a fault did, as the client saw it, with the deployment's
// own account of the kill and of the replacements.
func damage(d plan.Deployment, lg *loadgen.Result, served *ServeAccount) (*results.Fault, error) {
	if len(served.Faults) == 0 || lg.AfterFault == nil {
		return nil, errors.New("the fault was not injected: the load ended before it, or serve killed no worker")
	}
	kill := served.Faults[0]
	at := lg.FaultAt
	dmg := &results.Fault{
		Kill: len(kill.Workers), Signal: kill.Signal, Respawn: d.Respawn, RespawnDelaySeconds: d.RespawnDelay.Seconds(),
		AtSeconds: at.Seconds(), Workers: kill.Workers, PIDs: kill.PIDs,
	}
	a := lg.AfterFault
	dmg.After = window(a.Requests, a.Successes, a.Errors, a.ErrorKinds, (lg.Elapsed - at).Seconds())
	before := map[string]uint64{}
	for kind, n := range lg.ErrorKinds {
		if n > a.ErrorKinds[kind] {
			before[kind] = n - a.ErrorKinds[kind]
		}
	}
	dmg.Before = window(lg.Requests-a.Requests, lg.Successes-a.Successes, lg.Errors-a.Errors, before, at.Seconds())
	dmg.LostRequests = a.Errors
	if a.Errors > 0 {
		dmg.ErrorsForSeconds = (a.LastError - at).Seconds()
	}

	// Each killed worker's replacement, and when it was ready to serve.
	replacements := map[int]bool{}
	var ready time.Duration
	for _, r := range served.Restarts {
		if !r.Killed || r.ReplacementPID == 0 {
			continue
		}
		replacements[r.ReplacementPID] = true
		if r.Error == "" {
			ready = max(ready, r.ReadyAt.Sub(kill.At))
		}
	}
	if len(replacements) == dmg.Kill && ready > 0 {
		dmg.ReplacementReadySeconds = ptr(ready.Seconds())
	}
	// Recovered once every replacement has served a response.
	var first time.Duration
	servedBy := 0
	for _, p := range lg.Processes {
		if replacements[p.PID] {
			servedBy++
			first = max(first, p.FirstSuccess)
		}
	}
	if len(replacements) == dmg.Kill && servedBy == dmg.Kill {
		dmg.RecoverySeconds = ptr((first - at).Seconds())
	}
	if !served.PortClosed.IsZero() {
		dmg.PortClosedSeconds = ptr(served.PortClosed.Sub(kill.At).Seconds())
	}
	if tl := lg.FaultTimeline; tl != nil {
		// What tells something: up to the last error or the replacement's
		// first response, whichever came later, and a little after.
		settled := at
		if a.Errors > 0 {
			settled = max(settled, a.LastError)
		}
		if dmg.RecoverySeconds != nil {
			settled = max(settled, first)
		}
		dmg.Timeline = timeline(tl.Until(min(settled+timelineAfter, lg.Elapsed)), at)
	}
	return dmg, nil
}

// timelineAfter is how much of the timeline is kept after the fault settled.
const timelineAfter = 100 * time.Millisecond

// timeline is the client's millisecond account around the kill at at,
// for results.json.
func timeline(tl *loadgen.Timeline, at time.Duration) *results.Timeline {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return &results.Timeline{StartMs: ms(tl.Start - at), BinMs: ms(tl.Bin), Successes: tl.Successes, Errors: tl.Errors}
}

func window(requests, successes, errs uint64, kinds map[string]uint64, seconds float64) results.Window {
	w := results.Window{Seconds: seconds, Requests: requests, Successes: successes, Errors: errs}
	if len(kinds) > 0 {
		w.ErrorKinds = kinds
	}
	if seconds > 0 {
		w.ThroughputRPS = float64(successes) / seconds
	}
	return w
}

func ptr[T any](v T) *T { return &v }

// series is the client's second-by-second account for results.json.
func series(lg *loadgen.Result) []results.Second {
	var out []results.Second
	for i, s := range lg.Series {
		out = append(out, results.Second{
			T: float64(i), Seconds: min(1, lg.Elapsed.Seconds()-float64(i)),
			Requests: s.Requests, Successes: s.Successes, Errors: s.Errors, ErrorKinds: s.ErrorKinds,
		})
	}
	return out
}
