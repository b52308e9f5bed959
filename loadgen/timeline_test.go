package loadgen

import (
	"net/http"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"clusterbench/worker"
)

// A fault whose effect lasts 3 ms: no response completes from 510 to
// 513 ms, and two requests fail at 511 ms. The millisecond timeline shows
// the gap and the errors where they happened, and the second-by-second
// series cannot.
func TestTimelineShowsAGapOfThreeMilliseconds(t *testing.T) {
	a := newAggregate(1, time.Second)
	a.start = time.Now()
	const at = 500 * time.Millisecond
	a.after = &Window{ErrorKinds: map[string]uint64{}}
	a.timeline = newTimeline(at)
	a.faultAt.Store(int64(at))
	h := http.Header{}
	h.Set(worker.HeaderWorker, "0")
	for done := 300 * time.Millisecond; done < 800*time.Millisecond; done += 100 * time.Microsecond {
		if done >= 510*time.Millisecond && done < 513*time.Millisecond {
			continue
		}
		a.add(&vegeta.Result{Code: 200, Timestamp: a.start, Latency: done, Headers: h})
	}
	for range 2 {
		a.add(&vegeta.Result{Error: "read: connection reset by peer", Timestamp: a.start, Latency: 511 * time.Millisecond})
	}
	tl := a.result(time.Since(a.start)).FaultTimeline
	if tl == nil || tl.Start != 400*time.Millisecond || tl.Bin != time.Millisecond {
		t.Fatalf("timeline %+v; want 1 ms bins from 400 ms, 100 ms before the kill", tl)
	}
	for ms := 105; ms < 120; ms++ { // bin i is 400+i ms
		wantSuccesses, wantErrors := uint32(10), uint32(0)
		if ms >= 110 && ms < 113 {
			wantSuccesses = 0
		}
		if ms == 111 {
			wantErrors = 2
		}
		if tl.Successes[ms] != wantSuccesses || tl.Errors[ms] != wantErrors {
			t.Errorf("bin at %d ms: %d successes, %d errors; want %d, %d", 400+ms, tl.Successes[ms], tl.Errors[ms], wantSuccesses, wantErrors)
		}
	}
	if got := tl.Successes[0]; got != 10 {
		t.Errorf("first bin (400 ms) has %d successes; want 10: nothing before it, all of it", got)
	}
	if tl.Successes[399] != 10 || tl.Successes[400] != 0 {
		t.Errorf("bins at 799 and 800 ms: %d, %d successes; want 10 and none (the load ended)", tl.Successes[399], tl.Successes[400])
	}
}

func TestTimelineUntil(t *testing.T) {
	tl := newTimeline(50 * time.Millisecond) // from 0: the kill came early
	for _, tt := range []struct {
		end  time.Duration
		want int
	}{
		{-time.Millisecond, 0},
		{0, 1},
		{2500 * time.Microsecond, 3},
		{time.Hour, timelineBins},
	} {
		if got := tl.Until(tt.end); got.Start != 0 || len(got.Successes) != tt.want || len(got.Errors) != tt.want {
			t.Errorf("Until(%v): %d bins from %v; want %d from 0", tt.end, len(got.Successes), got.Start, tt.want)
		}
	}
}

// The timeline's memory is fixed: a fault at any time of any load keeps
// timelineBins bins, and a response long after it changes nothing.
func TestTimelineIsBounded(t *testing.T) {
	tl := newTimeline(time.Hour)
	tl.add(2*time.Hour, false)
	tl.add(time.Hour-timelineBefore-time.Nanosecond, true)
	var sum uint32
	for i := range tl.Successes {
		sum += tl.Successes[i] + tl.Errors[i]
	}
	if len(tl.Successes) != timelineBins || sum != 0 {
		t.Errorf("%d bins holding %d responses; want %d bins and the two responses outside left out", len(tl.Successes), sum, timelineBins)
	}
}
