package plan

import (
	"strings"
	"testing"
	"time"
)

func TestWrkRefusesWhatItCannotDo(t *testing.T) {
	for _, tt := range []struct {
		rate, maxConns   int
		duration, warmup time.Duration
		want             string
	}{
		{100, 0, time.Second, 0, "closed loop only"},
		{0, 8, time.Second, 0, "max_connections must be 0"},
		{0, 0, 1500 * time.Millisecond, 0, "whole seconds, got a duration of 1.5s"},
		{0, 0, time.Second, 500 * time.Millisecond, "whole seconds, got a warm-up of 500ms"},
	} {
		err := CheckWrk(tt.rate, tt.maxConns, tt.duration, tt.warmup)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CheckWrk(%d, %d, %v, %v) = %v; want %q", tt.rate, tt.maxConns, tt.duration, tt.warmup, err, tt.want)
		}
	}
	if err := CheckWrk(0, 0, 2*time.Second, time.Second); err != nil {
		t.Errorf("a maximum-rate load of whole seconds: %v", err)
	}
}
