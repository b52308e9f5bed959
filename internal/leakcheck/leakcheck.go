// Package leakcheck lets tests prove that what they ran left no file
// descriptor open in the test process, which is where a master or a tool
// under test keeps its sockets.
package leakcheck

import (
	"os"
	"testing"
)

// FDs notes how many descriptors this process has open; the returned
// function fails t if the count differs when it is called.
func FDs(t testing.TB) (check func()) {
	t.Helper()
	before := openFDs(t)
	return func() {
		t.Helper()
		if after := openFDs(t); after != before {
			t.Errorf("%d file descriptors open; %d before", after, before)
		}
	}
}

func openFDs(t testing.TB) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}
