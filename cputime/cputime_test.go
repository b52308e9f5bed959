package cputime

import (
	"testing"
	"time"
)

func TestSelfGrowsWithWork(t *testing.T) {
	before := Self()
	x := uint64(1)
	for deadline := time.Now().Add(50 * time.Millisecond); time.Now().Before(deadline); {
		x = x*6364136223846793005 + 1
	}
	if used := Self() - before; used <= 0 || x == 0 {
		t.Errorf("50ms of busy work used %v of CPU; want some", used)
	}
}
