package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// A load from several machines comes back as their vegeta results: the
// files `vegeta attack` writes (gob), or `vegeta encode` made JSON or CSV.
// Each result keeps its response's headers, so every response is put to
// its worker as clusterbench's own load puts it, and the hosts' results
// make one client account. The files are read twice, in constant memory:
// once for each host's span, then into one aggregate over the span of all.

// ResultsFile is one load host's results.
type ResultsFile struct {
	// Name is the host's; "" takes the attack name its results carry
	// (vegeta attack -name), or else the file's name without extension.
	Name string
	Path string
}

// HostResult is what one load host's results file holds.
type HostResult struct {
	Name, Path string
	Requests   uint64
	Successes  uint64
	Errors     uint64
	// First is when it sent its first request, LastSent its last, and
	// Last when its last result came, on its own clock.
	First, LastSent, Last time.Time
	// Latency is of its successful requests, in microseconds.
	Latency *hdrhistogram.Histogram
	// PerSecond is the results that came in each second of the clock,
	// from the one in which all hosts' span starts.
	PerSecond []uint64
	// Sent is how many requests the host's attack sent, by vegeta's
	// sequence numbers (0, 1, 2, ... in each attack): more than Requests
	// when results are missing, as those in flight when a host dies.
	Sent uint64
	// Clock is the host's clock against the server's, from the Date
	// header of the responses; nil when they had none.
	Clock *ClockOffset
	// URLs are the targets its results name, a few at most.
	URLs []string
	// Cut is why its file ended before a whole result, as when the host
	// died while writing it; nil when the file is whole. What came before
	// is counted.
	Cut error
}

// ClockOffset is how far the server's clock is ahead of a load host's:
// within Low and High. A response's Date header is the server's clock,
// cut to the second, at a moment between the request's sending and its
// result on the host's clock; each response bounds the offset, and the
// bounds of many responses, whose seconds fall at every phase, meet
// within about a round trip.
type ClockOffset struct {
	Low, High time.Duration
}

// Offset is the middle of the bounds, and Error half their width.
func (c ClockOffset) Offset() time.Duration { return (c.Low + c.High) / 2 }
func (c ClockOffset) Error() time.Duration  { return (c.High - c.Low) / 2 }

// maxURLs bounds the targets a host's results are noted by.
const maxURLs = 4

// MaxSpan bounds the span of the hosts' results: a day and an hour, more
// than any load clusterbench plans (a run is at most a day). More is a
// host whose clock is a day off, or a file of another attack; refused,
// since the series of the span would take the memory.
const MaxSpan = 25 * time.Hour

// SpanError is results that span more than MaxSpan.
type SpanError struct {
	Span        time.Duration
	First, Last string // the hosts of the first request and of the last result
}

func (e *SpanError) Error() string {
	return fmt.Sprintf("the results span %v, from the first request of %s to the last result of %s: more than any load, "+
		"so a host's clock is off by a day or more, or a file is another attack's", e.Span.Round(time.Second), e.First, e.Last)
}

// NotResults is a file that holds no vegeta results at all.
type NotResults struct {
	Path string
	Err  error
}

func (e *NotResults) Error() string {
	return fmt.Sprintf("%s: not vegeta results (gob from vegeta attack, or JSON or CSV from vegeta encode): %v", e.Path, e.Err)
}

func (e *NotResults) Unwrap() error { return e.Err }

// Merge reads the load hosts' results and aggregates them as one load
// over the span from the first request any host sent to the last result
// any host got, in a second-by-second series from that start. workers
// is the number of workers expected. An empty file is a host without
// results; a file that does not hold vegeta results is a NotResults.
func Merge(files []ResultsFile, workers int) (*Result, []HostResult, error) {
	hosts := make([]HostResult, len(files))
	var start, end time.Time
	var first, last string
	for i, f := range files {
		h, err := scan(f)
		if err != nil {
			return nil, nil, err
		}
		hosts[i] = h
		if h.Requests == 0 {
			continue
		}
		if start.IsZero() || h.First.Before(start) {
			start, first = h.First, h.Name
		}
		if h.Last.After(end) {
			end, last = h.Last, h.Name
		}
	}
	span := end.Sub(start)
	if span > MaxSpan {
		return nil, nil, &SpanError{Span: span, First: first, Last: last}
	}
	agg := newAggregate(workers, max(span, time.Nanosecond))
	agg.start = start
	for i := range hosts {
		h := &hosts[i]
		err := decode(h.Path, h.Requests, func(res *vegeta.Result) {
			agg.add(res)
			sec := int(max(0, res.End().Sub(start.Truncate(time.Second))) / time.Second)
			for len(h.PerSecond) <= sec {
				h.PerSecond = append(h.PerSecond, 0)
			}
			h.PerSecond[sec]++
		})
		if err != nil {
			return nil, nil, err // it read the first time
		}
	}
	res := agg.result(span)
	res.Dials = 0 // vegeta's results do not say
	for _, w := range res.PerWorker {
		res.Dials += w.Connections
	}
	return res, hosts, nil
}

// scan reads one host's file for its counts, its span and its clock,
// and names it.
func scan(f ResultsFile) (HostResult, error) {
	h := HostResult{Name: f.Name, Path: f.Path, Latency: newLatencyHistogram()}
	attacks := map[string]bool{}
	var clock clockBounds
	err := decode(f.Path, all, func(res *vegeta.Result) {
		h.Requests++
		h.Sent = max(h.Sent, res.Seq+1)
		if len(attacks) < maxURLs {
			attacks[res.Attack] = true
		}
		if url := res.Method + " " + res.URL; len(h.URLs) < maxURLs && !slices.Contains(h.URLs, url) {
			h.URLs = append(h.URLs, url)
		}
		clock.add(res)
		if end := res.End(); h.Requests == 1 || end.After(h.Last) {
			h.Last = end
		}
		if h.Requests == 1 || res.Timestamp.Before(h.First) {
			h.First = res.Timestamp
		}
		if res.Timestamp.After(h.LastSent) {
			h.LastSent = res.Timestamp
		}
		if failed(res) {
			h.Errors++
			return
		}
		h.Successes++
		_ = h.Latency.RecordValue(res.Latency.Microseconds())
	})
	var cut *cutShort
	switch {
	case errors.As(err, &cut):
		h.Cut = cut
	case err != nil:
		return h, err
	}
	h.Sent = max(h.Sent, h.Requests) // a file of several attacks numbers each from 0
	h.Clock = clock.offset()
	if h.Name == "" && len(attacks) == 1 {
		for a := range attacks {
			h.Name = a
		}
	}
	if h.Name == "" {
		h.Name = strings.TrimSuffix(filepath.Base(f.Path), filepath.Ext(f.Path))
	}
	return h, nil
}

// clockBounds gathers each response's bounds on the server's clock
// against the host's (see ClockOffset).
type clockBounds struct {
	n         int
	low, high time.Duration
}

func (c *clockBounds) add(res *vegeta.Result) {
	date, err := http.ParseTime(res.Headers.Get("Date"))
	if err != nil || failed(res) {
		return
	}
	// The server wrote date, a second cut short, between the request's
	// sending and its result: date <= server time < date + 1 s.
	low, high := date.Sub(res.End()), date.Add(time.Second).Sub(res.Timestamp)
	if c.n == 0 || low > c.low {
		c.low = low
	}
	if c.n == 0 || high < c.high {
		c.high = high
	}
	c.n++
}

// offset is the offset the bounds give, nil without any or when they do
// not meet (a header that is not the server's clock).
func (c *clockBounds) offset() *ClockOffset {
	if c.n == 0 || c.low > c.high {
		return nil
	}
	return &ClockOffset{Low: c.low, High: c.high}
}

// cutShort is a file that ended inside a result, after n whole ones.
type cutShort struct {
	n   uint64
	err error
}

func (e *cutShort) Error() string {
	return fmt.Sprintf("the file ends inside a result, after %d whole ones (%v): the host stopped while writing it", e.n, e.err)
}

func (e *cutShort) Unwrap() error { return e.err }

// all is decode's limit for every result of a file.
const all = ^uint64(0)

// gobResults is how the gob stream of vegeta attack begins: the type
// definition of its results, named.
var gobResults = []byte("\x06Result")

// decode calls each with every result of the file at path, each decoded
// afresh (gob leaves a field that a result does not send as it was), up
// to limit results.
func decode(path string, limit uint64, each func(*vegeta.Result)) error {
	if limit == 0 {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return err
	} else if st.Size() == 0 {
		return nil // a host that sent nothing, or died before its first result
	}
	dec := vegeta.DecoderFor(f)
	if dec == nil {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		head := make([]byte, 512)
		n, _ := io.ReadFull(f, head)
		_, err := f.Seek(0, io.SeekStart)
		if err == nil {
			err = vegeta.NewDecoder(f).Decode(&vegeta.Result{})
		}
		if errors.Is(err, io.ErrUnexpectedEOF) && bytes.Contains(head[:n], gobResults) {
			return &cutShort{n: 0, err: err} // vegeta's own, cut inside its first result
		}
		return &NotResults{Path: path, Err: err}
	}
	var n uint64
	for n < limit {
		var res vegeta.Result
		if err := dec.Decode(&res); err == io.EOF {
			return nil
		} else if err != nil {
			return &cutShort{n: n, err: err}
		}
		n++
		each(&res)
	}
	return nil
}
