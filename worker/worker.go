// Package worker is the app under test: one HTTP/1.1 server process that
// every distribution mode runs unchanged.
//
// Every response names the worker (X-Worker), the process serving as that
// worker (X-Worker-Pid: a replacement has a new one) and the connection
// within that process (X-Worker-Conn), so a client can count requests and
// connections per worker on its own; the worker keeps the same counts on its side and sends
// them to its parent, so the two can be compared. Requests that carry the
// warm-up header are counted apart, so that both sides can leave the warm-up
// out of the figures the same way.
package worker

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// Headers of the worker's HTTP contract.
const (
	// HeaderWorker carries the worker index on every response.
	HeaderWorker = "X-Worker"
	// HeaderConn carries the connection id, unique within one worker process
	// and numbered 1, 2, 3... in accept order.
	HeaderConn = "X-Worker-Conn"
	// HeaderPID carries the worker process's id, so that a client can tell
	// a replacement from the process it replaced, and their connections apart.
	HeaderPID = "X-Worker-Pid"
	// HeaderWarmup on a request marks it as warm-up: served, but not counted.
	HeaderWarmup = "X-Clusterbench-Warmup"
)

// Work is what a worker does per request. Scenario files and flags
// name its fields the same way.
type Work struct {
	BodyBytes int           `yaml:"body_bytes"` // size of the response body
	CPU       time.Duration `yaml:"cpu"`        // busy CPU work per request
	Sleep     time.Duration `yaml:"sleep"`      // idle wait per request, after the CPU work
	// Tail makes a fraction of requests cost more CPU; zero for none.
	Tail Tail `yaml:"tail"`
}

// Check reports an impossible handler, naming the command-line flag.
func (h Work) Check() error {
	switch {
	case h.BodyBytes < 0:
		return fmt.Errorf("body-bytes: must be at least 0, got %d", h.BodyBytes)
	case h.CPU < 0:
		return fmt.Errorf("handler-cpu: must be at least 0, got %v", h.CPU)
	case h.Sleep < 0:
		return fmt.Errorf("handler-sleep: must be at least 0, got %v", h.Sleep)
	case !h.Tail.IsZero() && (h.Tail.Fraction <= 0 || h.Tail.Fraction >= 1):
		return fmt.Errorf("handler-tail: fraction must be between 0 and 1, got %v", h.Tail.Fraction)
	case h.Tail.CPU < 0:
		return fmt.Errorf("handler-tail: cpu must be at least 0, got %v", h.Tail.CPU)
	}
	return nil
}

// Busy reports whether any request does busy CPU work, which needs the
// busy loop calibrated.
func (h Work) Busy() bool { return h.CPU > 0 || h.Tail.Fraction > 0 && h.Tail.CPU > 0 }

// Counters is what a worker counts about itself.
type Counters struct {
	Index int `json:"index"`
	PID   int `json:"pid"`
	// Requests served, warm-up excluded.
	Requests uint64 `json:"requests"`
	// Connections that carried at least one counted request: the client can
	// see exactly these, so both sides count the same thing.
	Connections uint64 `json:"connections"`
	// WarmupRequests served with the warm-up header.
	WarmupRequests uint64 `json:"warmup_requests,omitempty"`
	// Accepted connections, including those that never carried a request.
	Accepted uint64 `json:"accepted"`
}

// Server is the HTTP side of a worker.
type Server struct {
	index int
	// Header values built once: net/http only reads them, so every
	// response can share them, with no allocation per request.
	workerValue, pidValue, lengthValue []string
	body                               []byte
	costs                              costs
	sleep                              time.Duration

	requests, connections, warmup, accepted, connIDs atomic.Uint64
}

type connKey struct{}

var textPlain = []string{"text/plain"}

// conn is what the server remembers about one connection.
type conn struct {
	id      []string // its X-Worker-Conn value
	counted atomic.Bool
}

// NewServer returns the server of worker index. iterationsPerMicro is the
// calibrated speed of the busy loop (see Calibrate); the parent measures it
// once so that every worker does the same work per request.
func NewServer(index int, h Work, iterationsPerMicro float64) *Server {
	body := make([]byte, h.BodyBytes)
	for i := range body {
		body[i] = 'x'
	}
	return &Server{
		index:       index,
		workerValue: []string{strconv.Itoa(index)},
		pidValue:    []string{strconv.Itoa(os.Getpid())},
		lengthValue: []string{strconv.Itoa(len(body))},
		body:        body,
		costs: costs{
			usual:    spinWork(float64(h.CPU.Microseconds()) * iterationsPerMicro),
			slow:     spinWork(float64(h.Tail.CPU.Microseconds()) * iterationsPerMicro),
			fraction: h.Tail.Fraction,
		},
		sleep: h.Sleep,
	}
}

// HTTPServer wraps s in an http.Server that tags every connection.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			id := s.connIDs.Add(1)
			return context.WithValue(ctx, connKey{}, &conn{id: []string{strconv.FormatUint(id, 10)}})
		},
		ConnState: func(_ net.Conn, state http.ConnState) {
			if state == http.StateNew {
				s.accepted.Add(1)
			}
		},
	}
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, _ := r.Context().Value(connKey{}).(*conn)
	h := w.Header() // keys in canonical form, so no Set is needed
	h[HeaderWorker] = s.workerValue
	h[HeaderPID] = s.pidValue
	if c != nil {
		h[HeaderConn] = c.id
	}
	h["Content-Type"] = textPlain
	h["Content-Length"] = s.lengthValue

	s.costs.pick().run()
	if s.sleep > 0 {
		time.Sleep(s.sleep)
	}
	if _, err := w.Write(s.body); err != nil {
		return // the client left: not served, not counted
	}

	// Counted after the work, so a request counts once it was served.
	if r.Header.Get(HeaderWarmup) != "" {
		s.warmup.Add(1)
		return
	}
	s.requests.Add(1)
	if c != nil && c.counted.CompareAndSwap(false, true) {
		s.connections.Add(1)
	}
}

// Counters returns a snapshot of the worker's counts.
func (s *Server) Counters(pid int) Counters {
	return Counters{
		Index:          s.index,
		PID:            pid,
		Requests:       s.requests.Load(),
		Connections:    s.connections.Load(),
		WarmupRequests: s.warmup.Load(),
		Accepted:       s.accepted.Load(),
	}
}
