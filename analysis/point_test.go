package analysis

import (
	"testing"

	"clusterbench/results"
)

// trial is a measured trial of one worker per count, each count both its
// requests and its connections, as both sides saw them.
func trial(mode string, rep int, thr float64, perWorker ...uint64) results.Trial {
	t := results.Trial{
		Experiment: "e", Rep: rep, Mode: mode, Workers: len(perWorker), KeepAlive: true,
		Handler: results.Handler{Name: "trivial", BodyBytes: 64}, Load: results.Load{Name: "max-c32", Engine: "vegeta", Concurrency: 32, DurationSeconds: 5},
		ThroughputRPS: thr, CountsAgree: true,
	}
	for i, c := range perWorker {
		t.PerWorker = append(t.PerWorker, results.WorkerCounts{Index: i, Requests: c, Connections: c, WorkerRequests: c, WorkerConnections: c})
		t.Successes += c
	}
	t.Requests = t.Successes
	t.Fairness = results.FairnessPair{Requests: FairnessOf(t.RequestCounts()), Connections: FairnessOf(t.ConnectionCounts())}
	return t
}

func TestPointsGroupRepetitions(t *testing.T) {
	r := &results.Run{Trials: []results.Trial{
		trial("shared", 1, 100, 8, 1, 1), trial("reuseport", 1, 90, 3, 3, 4),
		trial("shared", 2, 120, 7, 2, 1), trial("reuseport", 2, 95, 4, 3, 3),
	}}
	r.Trials[3].Error = "deployment did not start"
	points := Points(r)
	if len(points) != 2 || points[0].Mode != "shared" || points[1].Mode != "reuseport" {
		t.Fatalf("points %v; want shared then reuseport", points)
	}
	if len(points[0].Trials) != 2 || len(points[1].Trials) != 1 || len(points[1].Failed) != 1 {
		t.Errorf("shared has %d trials, reuseport %d and %d failed; want 2, 1 and 1",
			len(points[0].Trials), len(points[1].Trials), len(points[1].Failed))
	}
	if s := points[0].Summary(func(t *results.Trial) float64 { return t.ThroughputRPS }); s.Median != 110 || s.Min != 100 || s.Max != 120 {
		t.Errorf("shared throughput summary %+v; want median 110 over [100, 120]", s)
	}
}
