package handoff

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"clusterbench/internal/fdconn"
)

// Policy decides which worker gets the next connection.
type Policy string

const (
	// Free hands a connection only to a worker that has acknowledged its
	// previous one, the idle worker that has waited longest first; when no
	// worker is free, connections wait in the master. This is what Node's
	// master does (SCHED_RR).
	Free Policy = "free"
	// Rotate hands connections to the live workers in strict turn and
	// forgets them: no acknowledgement, no copy kept in the master. It is
	// the leanest master, but connections queued to a worker that dies are
	// lost with it, as with SO_REUSEPORT.
	Rotate Policy = "rotate"
)

// Policies lists the policies, the default first.
var Policies = []Policy{Free, Rotate}

// Stats counts what a dispatcher did.
type Stats struct {
	Accepted uint64 `json:"accepted"` // connections accepted on the public socket
	Handed   uint64 `json:"handed"`   // hand-overs, a connection handed twice counting twice
	Rejected uint64 `json:"rejected"` // connections a worker refused, handed to another
	Orphaned uint64 `json:"orphaned"` // unacknowledged connections of a worker that went away, handed to another
	// Dropped connections were still in the master when it closed.
	Dropped uint64 `json:"dropped"`
	// MaxWaiting is the most connections that waited in the master for a free worker.
	MaxWaiting int `json:"max_waiting"`
	// WorkersGone counts channels that closed while the dispatcher ran.
	WorkersGone int `json:"workers_gone"`
}

// Dispatcher is the master: it accepts on a listening socket and hands each
// connection to a worker by policy. Its loop runs on one goroutine over one
// epoll set, like libuv's, so a connection costs a few system calls and no
// goroutine switch.
type Dispatcher struct {
	policy Policy
	ln     *os.File
	epfd   int
	epoll  *os.File // epfd in the runtime's poller, which the loop sleeps in
	wakeFD int
	logf   func(format string, args ...any)

	mu      sync.Mutex
	calls   []call
	stopped bool
	done    chan struct{}

	// Owned by the loop goroutine.
	lnFD    int
	byID    map[int32]*channel // by epoll token
	lastID  int32
	slots   []*channel          // by worker index; nil when the worker has no live channel
	cursor  int                 // Rotate: the index to try first
	free    fifo[*channel]      // Free: idle workers, longest idle first
	waiting fifo[accepted]      // connections waiting for a worker, oldest first
	local   []byte              // the listener's sockaddr, every connection's local address
	anyIP   bool                // listening on every address: each connection's local address differs
	rsa     unix.RawSockaddrAny // accept's buffer for a client's address
	sender  *sender
	stats   Stats
	closing bool
}

// channel is the master's side of one worker's channel.
type channel struct {
	index    int
	fd       int   // the channel
	acks     int   // the acknowledgements' socket
	id       int32 // epoll token, never reused
	seq      uint32
	inflight fifo[flight]   // Free: handed over, not yet acknowledged, in order
	backlog  fifo[accepted] // waiting for room on the channel
	writable bool           // epoll watches for room
	gone     bool
}

// call is a function run on the loop goroutine for another goroutine.
type call struct {
	f      func() error
	result chan error
}

type flight struct {
	seq  uint32
	conn accepted
}

// ErrClosed is returned by a closed dispatcher.
var ErrClosed = errors.New("handoff: dispatcher closed")

// Epoll tokens of the listener and the wake-up eventfd; channels count up from 1.
const (
	listenerToken int32 = -1
	wakeToken     int32 = -2
)

// NewDispatcher starts dispatching connections accepted on ln, which it
// takes over. logf reports workers that go away.
func NewDispatcher(ln *os.File, policy Policy, logf func(format string, args ...any)) (*Dispatcher, error) {
	if policy != Free && policy != Rotate {
		return nil, fmt.Errorf("handoff: unknown policy %q (known: %v)", policy, Policies)
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	d := &Dispatcher{
		policy: policy, ln: ln, logf: logf, lnFD: int(ln.Fd()),
		byID: map[int32]*channel{}, sender: newSender(), done: make(chan struct{}),
		epfd: -1, wakeFD: -1,
	}
	err := d.setup()
	if err != nil {
		d.release()
		return nil, fmt.Errorf("handoff: %w", err)
	}
	go d.loop()
	return d, nil
}

func (d *Dispatcher) setup() (err error) {
	if err := unix.SetNonblock(d.lnFD, true); err != nil {
		return err
	}
	if err := d.learnLocal(); err != nil {
		return err
	}
	if err := fdconn.SetListenerOptions(d.lnFD); err != nil {
		return err
	}
	if d.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return err
	}
	// The loop sleeps as a goroutine in the runtime's poller, which watches
	// the epoll set as it watches a socket, rather than as a thread in
	// epoll_wait: a thread asleep in a system call holds a processor that
	// the system monitor takes back, and the monitor then wakes every
	// 20 µs to look again. That monitor took 15% of the master's time.
	if err := unix.SetNonblock(d.epfd, true); err != nil {
		return err
	}
	d.epoll = os.NewFile(uintptr(d.epfd), "epoll")
	if err := d.epoll.SetDeadline(time.Time{}); err != nil {
		return fmt.Errorf("the runtime cannot poll an epoll set: %w", err)
	}
	if d.wakeFD, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return err
	}
	for fd, token := range map[int]int32{d.lnFD: listenerToken, d.wakeFD: wakeToken} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: token}
		if err := unix.EpollCtl(d.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return err
		}
	}
	return nil
}

// Attach opens a channel for worker index and returns the worker's end, to
// be inherited by the worker process. A channel the index had before is
// closed first, its unacknowledged connections handed to other workers.
func (d *Dispatcher) Attach(index int) (*os.File, error) {
	master, workerEnd, err := Channel()
	if err != nil {
		return nil, err
	}
	acks, err := sendAckSocket(master)
	if err != nil {
		unix.Close(master)
		workerEnd.Close()
		return nil, err
	}
	err = d.do(func() error {
		if old := d.slot(index); old != nil {
			d.drop(old, "replaced")
		}
		d.lastID++
		c := &channel{index: index, fd: master, acks: acks, id: d.lastID}
		// The channel is watched for hang-up (and, when full, for room),
		// the acknowledgements for reading; both under the channel's token.
		hangup := unix.EpollEvent{Events: unix.EPOLLRDHUP, Fd: c.id}
		readable := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: c.id}
		if err := unix.EpollCtl(d.epfd, unix.EPOLL_CTL_ADD, master, &hangup); err != nil {
			return fmt.Errorf("handoff: %w", err)
		}
		if err := unix.EpollCtl(d.epfd, unix.EPOLL_CTL_ADD, acks, &readable); err != nil {
			_ = unix.EpollCtl(d.epfd, unix.EPOLL_CTL_DEL, master, nil)
			return fmt.Errorf("handoff: %w", err)
		}
		d.byID[c.id] = c
		for len(d.slots) <= index {
			d.slots = append(d.slots, nil)
		}
		d.slots[index] = c
		d.idle(c)
		if d.policy == Rotate {
			d.assignWaiting()
		}
		return nil
	})
	if err != nil {
		unix.Close(master)
		unix.Close(acks)
		workerEnd.Close()
		return nil, err
	}
	return workerEnd, nil
}

// Stats returns the counts so far.
func (d *Dispatcher) Stats() Stats {
	var s Stats
	if d.do(func() error { s = d.stats; return nil }) != nil {
		<-d.done
		return d.stats
	}
	return s
}

// Close stops accepting, closes every channel and the connections still in
// the master, and returns once the loop has ended. Workers keep the
// connections they received.
func (d *Dispatcher) Close() error {
	err := d.do(func() error { d.closing = true; return nil })
	<-d.done
	if errors.Is(err, ErrClosed) {
		return nil
	}
	return err
}

// do runs f on the loop goroutine and returns its error.
func (d *Dispatcher) do(f func() error) error {
	c := call{f: f, result: make(chan error, 1)}
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		return ErrClosed
	}
	d.calls = append(d.calls, c)
	d.mu.Unlock()
	var one [8]byte
	one[0] = 1
	_, _ = unix.Write(d.wakeFD, one[:])
	return <-c.result
}

func (d *Dispatcher) loop() {
	defer close(d.done)
	defer d.release()
	events := make([]unix.EpollEvent, 128)
	epoll, err := d.epoll.SyscallConn()
	if err != nil {
		d.logf("master: epoll: %v", err)
		return
	}
	for !d.closing {
		n, err := waitEvents(epoll, events)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			d.logf("master: epoll: %v", err)
			d.closing = true
			break
		}
		for _, ev := range events[:n] {
			switch ev.Fd {
			case listenerToken:
				d.acceptReady()
			case wakeToken:
				d.runCalls()
			default:
				// A channel dropped earlier in this batch is gone from
				// the map, even if a new one reuses its descriptor.
				if c := d.byID[ev.Fd]; c != nil {
					d.serviceChannel(c, ev.Events)
				}
			}
		}
	}
}

func (d *Dispatcher) runCalls() {
	var buf [8]byte
	_, _ = unix.Read(d.wakeFD, buf[:])
	d.mu.Lock()
	calls := d.calls
	d.calls = nil
	d.mu.Unlock()
	for _, c := range calls {
		c.result <- c.f()
	}
}

// acceptBatch bounds the connections accepted per wakeup, so that
// acknowledgements and room on the channels are not kept waiting.
const acceptBatch = 64

// acceptReady accepts the connections queued on the listener, up to
// acceptBatch, as nginx does with multi_accept on: under load several wait
// at each wakeup, and one failed accept at the end costs less than an
// epoll_wait for every connection.
func (d *Dispatcher) acceptReady() {
	for range acceptBatch {
		// Into a buffer the dispatcher keeps: nothing to allocate per
		// connection. The connection is non-blocking from the start, so
		// the worker need not make it so.
		fd, n, errno := rawAccept(d.lnFD, &d.rsa)
		switch errno {
		case 0:
			d.stats.Accepted++
			d.assign(d.describe(fd, n))
			continue
		case unix.EINTR, unix.ECONNABORTED:
			continue
		case unix.EAGAIN:
		default:
			// Out of descriptors, most likely: leave connections queued in the
			// kernel rather than spin on a listener that stays ready.
			d.logf("master: accept: %v", errno)
			time.Sleep(10 * time.Millisecond)
		}
		return
	}
}

// describe pairs a connection with its addresses: the client's from accept,
// and the local one, which is the listener's unless it listens on every
// address.
func (d *Dispatcher) describe(fd int, peerLen uint32) accepted {
	c := accepted{fd: fd}
	c.appendAddr(unsafe.Slice((*byte)(unsafe.Pointer(&d.rsa)), min(peerLen, unix.SizeofSockaddrAny)))
	local := d.local
	if d.anyIP {
		n, errno := rawSockname(fd, &d.rsa)
		local = nil
		if errno == 0 {
			local = unsafe.Slice((*byte)(unsafe.Pointer(&d.rsa)), min(n, unix.SizeofSockaddrAny))
		}
	}
	c.appendAddr(local)
	return c
}

// learnLocal keeps the listener's own address, which is every connection's
// local address unless the listener takes every address.
func (d *Dispatcher) learnLocal() error {
	n, errno := rawSockname(d.lnFD, &d.rsa)
	if errno != 0 {
		return errno
	}
	d.local = slices.Clone(unsafe.Slice((*byte)(unsafe.Pointer(&d.rsa)), min(n, unix.SizeofSockaddrAny)))
	d.anyIP = tcpAddr(d.local).IP.IsUnspecified()
	return nil
}

// assign hands conn to a worker by policy, or keeps it waiting if there is none.
func (d *Dispatcher) assign(conn accepted) {
	var c *channel
	if d.policy == Free {
		if d.free.len() > 0 {
			c = d.free.pop()
		}
	} else {
		c = d.nextInTurn()
	}
	if c == nil {
		d.waiting.push(conn)
		d.stats.MaxWaiting = max(d.stats.MaxWaiting, d.waiting.len())
		return
	}
	d.send(c, conn)
}

func (d *Dispatcher) nextInTurn() *channel {
	for k := range d.slots {
		i := (d.cursor + k) % len(d.slots)
		if c := d.slots[i]; c != nil {
			d.cursor = i + 1
			return c
		}
	}
	return nil
}

// idle is called when c has nothing in flight: under Free it takes the
// oldest waiting connection or joins the end of the free queue.
func (d *Dispatcher) idle(c *channel) {
	if d.policy != Free {
		return
	}
	if d.waiting.len() > 0 {
		d.send(c, d.waiting.pop())
		return
	}
	d.free.push(c)
}

// assignWaiting hands out waiting connections once a worker appears (Rotate).
func (d *Dispatcher) assignWaiting() {
	for _, conn := range d.waiting.take() {
		d.assign(conn)
	}
}

// send queues conn on c and sends what the channel has room for.
func (d *Dispatcher) send(c *channel, conn accepted) {
	c.backlog.push(conn)
	if c.backlog.len() == 1 {
		d.flush(c)
	} // else the channel is full and epoll reports when it has room
}

// flush sends the connections queued on c until the channel is full. A
// channel that fails is dropped, its connections handed to others.
func (d *Dispatcher) flush(c *channel) {
	for c.backlog.len() > 0 {
		conn := c.backlog.front()
		switch err := d.sender.send(c.fd, c.seq, conn, d.policy == Free); err {
		case nil:
			c.backlog.pop()
			d.stats.Handed++
			// Under Free the master keeps its copy until the worker
			// acknowledges it; under Rotate it lets go at once.
			if d.policy == Free {
				c.inflight.push(flight{c.seq, conn})
			} else {
				rawClose(conn.fd)
			}
			c.seq++
		case unix.EAGAIN:
			d.watchWritable(c, true)
			return
		default:
			d.drop(c, err.Error())
			return
		}
	}
	d.watchWritable(c, false)
}

func (d *Dispatcher) watchWritable(c *channel, on bool) {
	if c.writable == on {
		return
	}
	c.writable = on
	ev := unix.EpollEvent{Events: unix.EPOLLRDHUP, Fd: c.id}
	if on {
		ev.Events |= unix.EPOLLOUT
	}
	_ = unix.EpollCtl(d.epfd, unix.EPOLL_CTL_MOD, c.fd, &ev)
}

func (d *Dispatcher) serviceChannel(c *channel, events uint32) {
	if events&unix.EPOLLOUT != 0 {
		d.flush(c)
	}
	// Acknowledgements first, even on hang-up: a connection the worker took
	// died with it and must not be handed to another worker half-read.
	// Without a hang-up one read is enough: epoll is level-triggered and
	// reports the channel again if more is queued, which costs nothing,
	// while reading on to EAGAIN costs a system call per connection.
	hangup := events&(unix.EPOLLHUP|unix.EPOLLRDHUP|unix.EPOLLERR) != 0
	var buf [ackMsgLen + 1]byte
	for !c.gone {
		n, errno := rawRead(c.acks, buf[:])
		if errno == unix.EINTR {
			continue
		}
		if errno == unix.EAGAIN {
			break
		}
		if errno != 0 || n == 0 {
			d.drop(c, "channel closed")
			return
		}
		seq, taken, err := decodeAck(buf[:n])
		if err == nil && (c.inflight.len() == 0 || c.inflight.front().seq != seq) {
			err = fmt.Errorf("acknowledgement %d out of turn", seq)
		}
		if err != nil {
			d.drop(c, err.Error())
			return
		}
		conn := c.inflight.pop().conn
		if taken {
			rawClose(conn.fd)
		} else {
			d.stats.Rejected++
			d.assign(conn)
		}
		if c.inflight.len() == 0 && c.backlog.len() == 0 && !c.gone {
			d.idle(c)
		}
		if !hangup {
			return
		}
	}
	if hangup {
		d.drop(c, "channel closed")
	}
}

func (d *Dispatcher) slot(index int) *channel {
	if index < len(d.slots) {
		return d.slots[index]
	}
	return nil
}

// drop forgets a channel whose worker went away and hands its
// unacknowledged connections to the others.
func (d *Dispatcher) drop(c *channel, why string) {
	if c.gone {
		return
	}
	c.gone = true
	if d.slot(c.index) == c {
		d.slots[c.index] = nil
	}
	d.free.remove(func(f *channel) bool { return f == c })
	delete(d.byID, c.id)
	for _, fd := range []int{c.fd, c.acks} {
		_ = unix.EpollCtl(d.epfd, unix.EPOLL_CTL_DEL, fd, nil)
		unix.Close(fd)
	}
	if d.closing {
		return // release closes what the channel held
	}
	var orphans []accepted
	for _, f := range c.inflight.take() {
		orphans = append(orphans, f.conn)
	}
	orphans = append(orphans, c.backlog.take()...)
	d.stats.WorkersGone++
	d.stats.Orphaned += uint64(len(orphans))
	d.logf("master: worker %d's channel: %s; %d unacknowledged connections go to other workers", c.index, why, len(orphans))
	for _, conn := range orphans {
		d.assign(conn)
	}
}

// release closes everything the dispatcher holds; it runs once, when the
// loop ends (or when setup fails).
func (d *Dispatcher) release() {
	d.mu.Lock()
	d.stopped = true
	calls := d.calls
	d.calls = nil
	d.mu.Unlock()
	for _, c := range calls {
		c.result <- ErrClosed
	}
	d.closing = true
	for _, c := range d.byID {
		d.drop(c, "closing")
		// Connections in flight are the workers' now; the backlog never left.
		for _, f := range c.inflight.take() {
			unix.Close(f.conn.fd)
		}
		backlog := c.backlog.take()
		d.stats.Dropped += uint64(len(backlog))
		for _, conn := range backlog {
			unix.Close(conn.fd)
		}
	}
	waiting := d.waiting.take()
	d.stats.Dropped += uint64(len(waiting))
	for _, conn := range waiting {
		unix.Close(conn.fd)
	}
	if d.epoll != nil {
		d.epoll.Close()
	} else if d.epfd >= 0 {
		unix.Close(d.epfd)
	}
	if d.wakeFD >= 0 {
		unix.Close(d.wakeFD)
	}
	d.ln.Close()
}
