package worker

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestTailFlag(t *testing.T) {
	tests := []struct {
		in   string
		want Tail
		err  string // part of the error; "" for none
	}{
		{"1%:10ms", Tail{Fraction: 0.01, CPU: 10 * time.Millisecond}, ""},
		{"0.5%:200us", Tail{Fraction: 0.005, CPU: 200 * time.Microsecond}, ""},
		{"50%:0s", Tail{Fraction: 0.5}, ""},
		// Ranges are plan's to check: the flag reads what it is given.
		{"150%:1s", Tail{Fraction: 1.5, CPU: time.Second}, ""},
		{"0.01:10ms", Tail{}, `"0.01:10ms" is not PERCENT%:CPU`},
		{"1%", Tail{}, `"1%" is not PERCENT%:CPU`},
		{"x%:10ms", Tail{}, `"x%" is not a percentage`},
		{"1%:10", Tail{}, `"10" is not a duration`},
		{"", Tail{}, "is not PERCENT%:CPU"},
	}
	for _, tt := range tests {
		var got Tail
		err := got.Set(tt.in)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("Set(%q) = %v; want %+v", tt.in, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("Set(%q) = %v; want an error containing %q", tt.in, err, tt.err)
		case got != tt.want:
			t.Errorf("Set(%q) read %+v; want %+v", tt.in, got, tt.want)
		}
	}
	if s := (Tail{Fraction: 0.01, CPU: 10 * time.Millisecond}).String(); s != "1%:10ms" {
		t.Errorf("String() = %q; want 1%%:10ms", s)
	}
	if s := (Tail{}).String(); s != "" {
		t.Errorf("no tail's String() = %q; want empty", s)
	}
}

// TestTailPicksTheSlowFraction draws many requests: about the tail's
// fraction of them are slow, and none without a tail.
func TestTailPicksTheSlowFraction(t *testing.T) {
	const draws = 10000
	for _, fraction := range []float64{0, 0.1, 0.5} {
		c := costs{usual: 1, slow: 2, fraction: fraction}
		slow := 0
		for range draws {
			if c.pick() == c.slow {
				slow++
			}
		}
		// About 5 standard deviations either side at 0.1 and 0.5.
		if got := float64(slow) / draws; got < fraction-0.03 || got > fraction+0.03 {
			t.Errorf("fraction %v: %d of %d draws slow (%.3f); want within 0.03", fraction, slow, draws, got)
		}
	}
}

// TestServerServesTheTail runs a real server whose every other request,
// by chance, spins 20ms: some responses take that long, and some do not.
func TestServerServesTheTail(t *testing.T) {
	s := NewServer(0, Work{Tail: Tail{Fraction: 0.5, CPU: 20 * time.Millisecond}}, Calibrate())
	ts := httptest.NewUnstartedServer(s)
	ts.Config = s.HTTPServer()
	ts.Start()
	defer ts.Close()
	c := &http.Client{}
	slow := 0
	const requests = 40
	for range requests {
		start := time.Now()
		get(t, c, ts.URL, false)
		// CPU time is never more than the wall time it took; half of 20ms
		// leaves room for a calibration a little off.
		if time.Since(start) >= 10*time.Millisecond {
			slow++
		}
	}
	if slow == 0 || slow == requests {
		t.Errorf("%d of %d requests took 10ms or more; want some, not all (about half spin 20ms)", slow, requests)
	}
}
