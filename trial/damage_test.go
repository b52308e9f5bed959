package trial

import (
	"reflect"
	"testing"
	"time"

	"clusterbench/loadgen"
	"clusterbench/modes"
	"clusterbench/plan"
	"clusterbench/results"
)

func TestDamage(t *testing.T) {
	kill := time.Unix(1000, 0)
	lg := &loadgen.Result{
		Requests: 100, Successes: 90, Errors: 10, ErrorKinds: map[string]uint64{"refused": 8, "timeout": 2},
		Elapsed: 4 * time.Second, FaultAt: time.Second,
		AfterFault: &loadgen.Window{Requests: 60, Successes: 52, Errors: 8, ErrorKinds: map[string]uint64{"refused": 8}, LastError: 1500 * time.Millisecond},
		Processes: []loadgen.ProcessTally{
			{Worker: 0, PID: 100},
			{Worker: 0, PID: 200, FirstSuccess: 1300 * time.Millisecond},
			{Worker: 1, PID: 101},
		},
	}
	served := &ServeAccount{Account: modes.Account{
		Faults:   []modes.Fault{{At: kill, Signal: "SIGKILL", Workers: []int{0}, PIDs: []int{100}}},
		Restarts: []modes.Restart{{Worker: 0, PID: 100, ReplacementPID: 200, ReadyAt: kill.Add(250 * time.Millisecond), Killed: true}},
	}}
	d := plan.Deployment{Respawn: true, RespawnDelay: 100 * time.Millisecond}
	got, err := damage(d, lg, served)
	if err != nil {
		t.Fatal(err)
	}
	want := &results.Fault{
		Kill: 1, Signal: "SIGKILL", Respawn: true, RespawnDelaySeconds: 0.1, AtSeconds: 1, Workers: []int{0}, PIDs: []int{100},
		Before:                  results.Window{Seconds: 1, Requests: 40, Successes: 38, Errors: 2, ErrorKinds: map[string]uint64{"timeout": 2}, ThroughputRPS: 38},
		After:                   results.Window{Seconds: 3, Requests: 60, Successes: 52, Errors: 8, ErrorKinds: map[string]uint64{"refused": 8}, ThroughputRPS: 52.0 / 3},
		LostRequests:            8,
		ErrorsForSeconds:        0.5,
		ReplacementReadySeconds: ptr(0.25),
		RecoverySeconds:         ptr(0.3), // from the kill to the replacement's first response
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("damage\n got %+v\nwant %+v", *got, *want)
	}

	// Not replaced: no recovery; the port closed.
	served.Restarts = []modes.Restart{{Worker: 0, PID: 100, Killed: true, Error: "respawn off"}}
	served.PortClosed = kill.Add(10 * time.Millisecond)
	got, err = damage(plan.Deployment{}, lg, served)
	if err != nil {
		t.Fatal(err)
	}
	if got.RecoverySeconds != nil || got.ReplacementReadySeconds != nil || got.PortClosedSeconds == nil || *got.PortClosedSeconds != 0.01 {
		t.Errorf("without a replacement: recovery %v, ready %v, port closed %v; want only the port closed after 10 ms", got.RecoverySeconds, got.ReplacementReadySeconds, got.PortClosedSeconds)
	}

	// A fault that never happened is an error, not a measurement.
	if _, err := damage(d, &loadgen.Result{}, &ServeAccount{}); err == nil {
		t.Error("damage of a fault never injected: no error")
	}
}

func TestWindow(t *testing.T) {
	for _, tt := range []struct {
		name    string
		seconds float64
		kinds   map[string]uint64
		want    results.Window
	}{
		{"a second", 2, map[string]uint64{"refused": 1}, results.Window{Seconds: 2, Requests: 10, Successes: 8, Errors: 1, ErrorKinds: map[string]uint64{"refused": 1}, ThroughputRPS: 4}},
		{"no error kinds are left out", 2, map[string]uint64{}, results.Window{Seconds: 2, Requests: 10, Successes: 8, Errors: 1, ThroughputRPS: 4}},
		{"no time, no throughput", 0, nil, results.Window{Requests: 10, Successes: 8, Errors: 1}},
	} {
		if got := window(10, 8, 1, tt.kinds, tt.seconds); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v; want %+v", tt.name, got, tt.want)
		}
	}
}

func TestSeries(t *testing.T) {
	lg := &loadgen.Result{Elapsed: 2500 * time.Millisecond, Series: []loadgen.Second{
		{Requests: 10, Successes: 10}, {Requests: 12, Successes: 11, Errors: 1, ErrorKinds: map[string]uint64{"timeout": 1}}, {Requests: 4, Successes: 4},
	}}
	want := []results.Second{
		{T: 0, Seconds: 1, Requests: 10, Successes: 10},
		{T: 1, Seconds: 1, Requests: 12, Successes: 11, Errors: 1, ErrorKinds: map[string]uint64{"timeout": 1}},
		{T: 2, Seconds: 0.5, Requests: 4, Successes: 4}, // the last second is partial
	}
	if got := series(lg); !reflect.DeepEqual(got, want) {
		t.Errorf("series\n got %+v\nwant %+v", got, want)
	}
	if got := series(&loadgen.Result{}); got != nil {
		t.Errorf("series of wrk's load (no seconds) = %+v; want nil", got)
	}
}

// The record keeps the fault's millisecond timeline from 100 ms before
// the kill to 100 ms after the fault settled: the last error or the
// replacement's first response, whichever came later, and never past the
// load's end.
func TestDamageTimeline(t *testing.T) {
	kill := time.Unix(1000, 0)
	bins := func() *loadgen.Timeline {
		tl := &loadgen.Timeline{Start: 900 * time.Millisecond, Bin: time.Millisecond, Successes: make([]uint32, 2000), Errors: make([]uint32, 2000)}
		for i := range tl.Successes {
			tl.Successes[i] = 5
		}
		tl.Successes[103], tl.Errors[103] = 0, 2 // 3 ms after the kill
		return tl
	}
	for _, tt := range []struct {
		name      string
		lastError time.Duration
		recovered time.Duration // 0: no replacement served
		elapsed   time.Duration
		wantBins  int
	}{
		{"errors last", 1500 * time.Millisecond, 1300 * time.Millisecond, 4 * time.Second, 701},
		{"recovery last", 1200 * time.Millisecond, 1300 * time.Millisecond, 4 * time.Second, 501},
		{"no replacement", 1200 * time.Millisecond, 0, 4 * time.Second, 401},
		{"the load ended first", 1500 * time.Millisecond, 1300 * time.Millisecond, 1050 * time.Millisecond, 151},
	} {
		lg := &loadgen.Result{
			Requests: 100, Successes: 98, Errors: 2, Elapsed: tt.elapsed, FaultAt: time.Second, FaultTimeline: bins(),
			AfterFault: &loadgen.Window{Requests: 60, Successes: 58, Errors: 2, LastError: tt.lastError},
			Processes:  []loadgen.ProcessTally{{Worker: 0, PID: 100}},
		}
		served := &ServeAccount{Account: modes.Account{
			Faults:   []modes.Fault{{At: kill, Signal: "SIGKILL", Workers: []int{0}, PIDs: []int{100}}},
			Restarts: []modes.Restart{{Worker: 0, PID: 100, ReplacementPID: 200, ReadyAt: kill.Add(50 * time.Millisecond), Killed: true}},
		}}
		if tt.recovered > 0 {
			lg.Processes = append(lg.Processes, loadgen.ProcessTally{Worker: 0, PID: 200, FirstSuccess: tt.recovered})
		}
		got, err := damage(plan.Deployment{Respawn: true}, lg, served)
		if err != nil {
			t.Fatal(err)
		}
		tl := got.Timeline
		if tl == nil || tl.StartMs != -100 || tl.BinMs != 1 || len(tl.Successes) != tt.wantBins || len(tl.Errors) != tt.wantBins {
			t.Errorf("%s: timeline %+v; want %d bins of 1 ms from -100 ms", tt.name, tl, tt.wantBins)
			continue
		}
		if tl.Successes[102] != 5 || tl.Successes[103] != 0 || tl.Errors[103] != 2 {
			t.Errorf("%s: bins at 2 and 3 ms: %d and %d successes, %d errors at 3 ms; want 5, 0, 2", tt.name, tl.Successes[102], tl.Successes[103], tl.Errors[103])
		}
	}
	// Records of loads without a timeline (wrk, older) have none.
	lg := &loadgen.Result{Elapsed: time.Second, FaultAt: 0, AfterFault: &loadgen.Window{}}
	served := &ServeAccount{Account: modes.Account{Faults: []modes.Fault{{At: kill, Workers: []int{0}}}}}
	if got, err := damage(plan.Deployment{}, lg, served); err != nil || got.Timeline != nil {
		t.Errorf("no timeline measured: got %+v, %v; want none", got.Timeline, err)
	}
}
