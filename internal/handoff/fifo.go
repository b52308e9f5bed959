package handoff

import "slices"

// fifo is a first-in, first-out queue that reuses its array: the master's
// queues stay short and turn over once per connection, so they must not
// allocate per connection, as re-slicing the front of a slice would.
type fifo[T any] struct {
	items []T
	head  int // items[:head] are taken
}

func (q *fifo[T]) len() int { return len(q.items) - q.head }

func (q *fifo[T]) push(v T) {
	if q.head > 0 && len(q.items) == cap(q.items) {
		// Reuse the taken front before growing.
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, v)
}

// front is the oldest item; the queue must not be empty.
func (q *fifo[T]) front() T { return q.items[q.head] }

// pop removes and returns the oldest item; the queue must not be empty.
func (q *fifo[T]) pop() T {
	v := q.items[q.head]
	var zero T
	q.items[q.head] = zero
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	return v
}

// take empties the queue and returns what it held, oldest first.
func (q *fifo[T]) take() []T {
	all := q.items[q.head:]
	q.items, q.head = nil, 0
	return all
}

// remove deletes the items that match.
func (q *fifo[T]) remove(match func(T) bool) {
	live := slices.DeleteFunc(q.items[q.head:], match)
	q.items = q.items[:q.head+len(live)]
}
