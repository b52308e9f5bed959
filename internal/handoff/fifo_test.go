package handoff

import (
	"slices"
	"testing"
)

func TestFIFOKeepsOrderAndReusesItsArray(t *testing.T) {
	var q fifo[int]
	var got []int
	next := 0
	// Push two, pop one, many times: the queue turns over and never holds
	// more than a few items, which is the master's pattern.
	for range 1000 {
		q.push(next)
		q.push(next + 1)
		next += 2
		got = append(got, q.pop())
	}
	for q.len() > 0 {
		got = append(got, q.pop())
	}
	want := make([]int, next)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(got, want) {
		t.Fatalf("popped out of order: first %v", got[:10])
	}
	allocs := testing.AllocsPerRun(1000, func() {
		q.push(1)
		q.pop()
	})
	if allocs != 0 {
		t.Errorf("%v allocations per push and pop; want 0", allocs)
	}
}

func TestFIFOTakeAndRemove(t *testing.T) {
	var q fifo[int]
	for i := range 6 {
		q.push(i)
	}
	q.pop()
	q.remove(func(v int) bool { return v%2 == 0 })
	if got := q.take(); !slices.Equal(got, []int{1, 3, 5}) || q.len() != 0 {
		t.Errorf("take after remove = %v, then len %d; want [1 3 5] and 0", got, q.len())
	}
}
