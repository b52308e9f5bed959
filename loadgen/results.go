package loadgen

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	// Cut is why its file ended before a whole result, as when the host
	// died while writing it; nil when the file is whole. What came before
	// is counted.
	Cut error
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
			start = h.First
		}
		if h.Last.After(end) {
			end = h.Last
		}
	}
	span := end.Sub(start)
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

// scan reads one host's file for its counts and span, and names it.
func scan(f ResultsFile) (HostResult, error) {
	h := HostResult{Name: f.Name, Path: f.Path, Latency: newLatencyHistogram()}
	attacks := map[string]bool{}
	err := decode(f.Path, 0, func(res *vegeta.Result) {
		h.Requests++
		attacks[res.Attack] = true
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

// cutShort is a file that ended inside a result, after n whole ones.
type cutShort struct {
	n   uint64
	err error
}

func (e *cutShort) Error() string {
	return fmt.Sprintf("the file ends inside a result, after %d whole ones (%v): the host stopped while writing it", e.n, e.err)
}

func (e *cutShort) Unwrap() error { return e.err }

// decode calls each with every result of the file at path, each decoded
// afresh (gob leaves a field that a result does not send as it was); at
// most limit results when limit is not 0.
func decode(path string, limit uint64, each func(*vegeta.Result)) error {
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
		_, err := f.Seek(0, io.SeekStart)
		if err == nil {
			err = vegeta.NewDecoder(f).Decode(&vegeta.Result{})
		}
		return &NotResults{Path: path, Err: err}
	}
	var n uint64
	for limit == 0 || n < limit {
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
