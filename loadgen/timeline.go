package loadgen

import "time"

// Timeline is what completed in each bin of a span around the fault, by
// the time each response (or error) arrived: fine enough to show a gap of
// a few milliseconds, which a second-by-second Series averages away.
type Timeline struct {
	// Start is the first bin's start, from the start of the measured load.
	Start time.Duration
	// Bin is the width of every bin.
	Bin       time.Duration
	Successes []uint32
	Errors    []uint32
}

// Bounds of the timeline kept around a fault: from timelineBefore before
// the planned kill, timelineBins bins of timelineBin, so its memory is
// fixed (16 KB) however long or fast the load.
const (
	timelineBin    = time.Millisecond
	timelineBefore = 100 * time.Millisecond
	timelineBins   = 2000
)

// newTimeline is an empty timeline around a fault planned at at.
func newTimeline(at time.Duration) *Timeline {
	return &Timeline{
		Start:     max(0, at-timelineBefore),
		Bin:       timelineBin,
		Successes: make([]uint32, timelineBins),
		Errors:    make([]uint32, timelineBins),
	}
}

// add counts a response that completed at done; outside the span it is
// left out.
func (t *Timeline) add(done time.Duration, failed bool) {
	if done < t.Start {
		return
	}
	i := int((done - t.Start) / t.Bin)
	if i >= len(t.Successes) {
		return
	}
	if failed {
		t.Errors[i]++
	} else {
		t.Successes[i]++
	}
}

// Until is the timeline cut after the bin that holds end, so that a
// record keeps only the part that tells something.
func (t *Timeline) Until(end time.Duration) *Timeline {
	n := 0
	if end >= t.Start {
		n = min(len(t.Successes), int((end-t.Start)/t.Bin)+1)
	}
	return &Timeline{Start: t.Start, Bin: t.Bin, Successes: t.Successes[:n], Errors: t.Errors[:n]}
}
