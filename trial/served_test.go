package trial

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"clusterbench/modes"
	"clusterbench/plan"
	"clusterbench/results"
	"clusterbench/worker"
)

// counts is two workers' cumulative counts.
func counts(r0, c0, r1, c1 uint64) []worker.Counters {
	return []worker.Counters{{Index: 0, Requests: r0, Connections: c0}, {Index: 1, Requests: r1, Connections: c1}}
}

// recorder is a Recorder of this process's own tree, as serve's is of serve's.
func recorder() *Recorder {
	return &Recorder{width: time.Second, meter: cpuMeter{servePID: os.Getpid()}}
}

func TestRecorderBinsWhatTheWorkersCounted(t *testing.T) {
	r := recorder()
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	r.sample(at(100), counts(0, 0, 0, 0))
	r.sample(at(200), counts(0, 0, 0, 0)) // idle: before the window
	r.sample(at(300), counts(10, 1, 0, 0))
	r.sample(at(900), counts(30, 2, 5, 1))
	r.sample(at(1500), counts(40, 2, 25, 1))
	r.sample(at(3100), counts(40, 2, 25, 1)) // idle again: after it
	r.finish(at(3200), counts(40, 2, 27, 1)) // what was served as they stopped

	s := r.served(2)
	if !s.WindowStart.Equal(at(200)) || !s.WindowEnd.Equal(at(3200)) || !s.Start.Equal(t0) {
		t.Errorf("window %v to %v from %v; want 0.2 s to 3.2 s from %v", s.WindowStart, s.WindowEnd, s.Start, t0)
	}
	want := []struct{ requests, connections []uint64 }{
		{[]uint64{30, 5}, []uint64{2, 1}},
		{[]uint64{10, 20}, []uint64{0, 0}},
		{[]uint64{0, 0}, []uint64{0, 0}},
		{[]uint64{0, 2}, []uint64{0, 0}},
	}
	if len(s.Seconds) != len(want) {
		t.Fatalf("%d seconds; want %d: %+v", len(s.Seconds), len(want), s.Seconds)
	}
	for i, w := range want {
		got := s.Seconds[i]
		if got.T != float64(i) || got.Seconds != 1 || !slices.Equal(got.Requests, w.requests) || !slices.Equal(got.Connections, w.connections) {
			t.Errorf("second %d: %+v; want requests %v, connections %v", i, got, w.requests, w.connections)
		}
	}
	if idle := idleSeconds(s); idle != 1 {
		t.Errorf("%d idle seconds; want 1", idle)
	}
}

func TestRecorderOfNothing(t *testing.T) {
	r := recorder()
	r.sample(time.Now(), counts(0, 0, 0, 0))
	r.finish(time.Now(), counts(0, 0, 0, 0))
	if s := r.served(2); s != nil {
		t.Fatalf("served %+v of no request; want nil", s)
	}
	spec, err := modes.ParseSpec("reuseport")
	if err != nil {
		t.Fatal(err)
	}
	tr := r.Trial(plan.Deployment{Mode: spec, Workers: 2, Handler: plan.DefaultHandler}, &ServeAccount{Account: modes.Account{Workers: make([]modes.WorkerResult, 2)}})
	if !tr.Failed() || !strings.Contains(tr.Error, "no worker counted a request") || tr.Origin != results.OriginServe {
		t.Errorf("a serve that counted nothing: origin %q, error %q; want a failed trial of serve that says why", tr.Origin, tr.Error)
	}
}

// TestRecorderKeepsLongWindowsBounded: past MaxServedBins, bins merge
// in pairs, so that the record stays within what Read accepts.
func TestRecorderKeepsLongWindowsBounded(t *testing.T) {
	r := recorder()
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	r.sample(t0, counts(0, 0, 0, 0))
	var n uint64
	for sec := 1; sec <= results.MaxServedSeconds+10; sec++ {
		n++
		r.add(t0.Add(time.Duration(sec)*time.Second), counts(n, 1, 0, 0))
	}
	s := r.served(2)
	if len(s.Seconds) > results.MaxServedBins(2) || s.Seconds[0].Seconds != 2 {
		t.Fatalf("%d bins of %g s; want at most %d, of 2 s", len(s.Seconds), s.Seconds[0].Seconds, results.MaxServedBins(2))
	}
	// Many workers keep fewer bins: as many cells in all.
	if got := results.MaxServedBins(1000); got != results.MaxServedCells/1000 {
		t.Errorf("MaxServedBins(1000) = %d; want %d", got, results.MaxServedCells/1000)
	}
	var sum uint64
	for _, sec := range s.Seconds {
		sum += sec.Requests[0]
	}
	if sum != n {
		t.Errorf("the bins hold %d requests; want %d", sum, n)
	}
}

// TestRecorderCountsFromZero: what the workers counted before the first
// sample is in the first bin, never lost from the seconds.
func TestRecorderCountsFromZero(t *testing.T) {
	r := recorder()
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	r.sample(t0.Add(500*time.Millisecond), counts(5, 1, 2, 1))
	r.finish(t0.Add(700*time.Millisecond), counts(5, 1, 2, 1))
	s := r.served(2)
	if s == nil || len(s.Seconds) != 1 || !slices.Equal(s.Seconds[0].Requests, []uint64{5, 2}) {
		t.Fatalf("served %+v; want the 7 counted before the first sample in its bin", s)
	}
}

// TestRecorderIdleAfterTheLoadKeepsItsBins: seconds after the last
// request make no bins, so a long idle serve does not coarsen the load's.
func TestRecorderIdleAfterTheLoadKeepsItsBins(t *testing.T) {
	// So many workers that only 100 bins are kept.
	workers := results.MaxServedCells / 100
	many := func(requests uint64) []worker.Counters {
		c := make([]worker.Counters, workers)
		c[0].Requests, c[0].Connections = requests, 1
		return c
	}
	r := recorder()
	t0 := time.Now().Truncate(time.Second)
	r.sample(t0, many(0))
	r.sample(t0.Add(500*time.Millisecond), many(10))
	for sec := 1; sec <= 3*results.MaxServedBins(workers); sec++ { // idle, a CPU reading each second
		r.sample(t0.Add(time.Duration(sec)*time.Second), many(10))
	}
	if len(r.bins) != 1 || r.width != time.Second {
		t.Fatalf("%d bins of %v after the idle seconds; want the load's 1 bin of 1s", len(r.bins), r.width)
	}
}
