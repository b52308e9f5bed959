package segment

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"time"

	"clusterbench/plan"
)

// Plan is one trial's load divided between load hosts: what each host
// sends, and what a merge of their results checks them against. It is
// written as plan.json beside the scripts that run it.
type Plan struct {
	// URL is the deployment's, as the load hosts reach it.
	URL string `json:"url"`
	// Rate is requests per second in all; 0 is as fast as each host can
	// (a closed loop of Concurrency requests in flight, in all).
	Rate     int      `json:"rate"`
	Duration Duration `json:"duration"`
	// Warmup is sent before Duration with the warm-up header, which the
	// workers count apart; its results are not kept.
	Warmup Duration `json:"warmup"`
	// Concurrency is requests in flight at maximum rate, and the starting
	// attackers at a rate (vegeta adds more when needed), in all.
	Concurrency int `json:"concurrency"`
	// MaxConnections caps each host's connections, in all; 0 for none.
	MaxConnections int      `json:"max_connections"`
	KeepAlive      bool     `json:"keepalive"`
	Timeout        Duration `json:"timeout"`
	// Start is when every host begins its warm-up, on its own clock;
	// zero for as soon as each is started.
	Start time.Time `json:"start,omitzero"`
	// Sequence is the segments' points, as k6 writes them.
	Sequence string `json:"sequence"`
	Hosts    []Host `json:"hosts"`
}

// Host is one load host's part of a plan.
type Host struct {
	// Name is how the host is called: a machine's name or address, or
	// its index; its results file is NAME.bin.
	Name string `json:"name"`
	// Index is its place in the sequence, from 0: the pod's
	// JOB_COMPLETION_INDEX in a Kubernetes Indexed Job.
	Index int `json:"index"`
	// Segment is its part of (0,1], as k6 writes it: "1/3:2/3".
	Segment        string `json:"segment"`
	Rate           int    `json:"rate"`
	Concurrency    int    `json:"concurrency"`
	MaxConnections int    `json:"max_connections"`
}

// Duration is a time.Duration written as Go writes it, "30s", so that a
// plan reads as it was asked for.
type Duration time.Duration

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Load is the whole load a plan divides, as the flags of split give it.
type Load struct {
	URL            string
	Rate           int
	Duration       time.Duration
	Warmup         time.Duration
	Concurrency    int
	MaxConnections int
	KeepAlive      bool
	Timeout        time.Duration
	Start          time.Time
}

// New divides load between the hosts named, one per segment of seq: the
// rate, the concurrency and the connections each by Scale. It refuses a
// load that leaves a host nothing to do, since vegeta reads a rate of 0
// as no limit.
func New(load Load, names []string, seq Sequence) (*Plan, error) {
	if err := checkLoad(load); err != nil {
		return nil, err
	}
	if len(names) != seq.Len() {
		return nil, fmt.Errorf("%d hosts for %d segments (%s)", len(names), seq.Len(), seq)
	}
	seen := map[string]bool{}
	for i, n := range names {
		if err := plan.CheckName(n); err != nil {
			return nil, fmt.Errorf("hosts: %w", err)
		}
		if seen[n] {
			return nil, fmt.Errorf("hosts: %s is named twice", n)
		}
		if _, err := strconv.Atoi(n); err == nil && n != strconv.Itoa(i) {
			// A host is found by its name or its index: a number names one only as its own index.
			return nil, fmt.Errorf("hosts: host %d is named %s, a number other than its index", i, n)
		}
		seen[n] = true
	}
	p := &Plan{
		URL: load.URL, Rate: load.Rate, Duration: Duration(load.Duration), Warmup: Duration(load.Warmup),
		Concurrency: load.Concurrency, MaxConnections: load.MaxConnections, KeepAlive: load.KeepAlive,
		Timeout: Duration(load.Timeout), Start: load.Start, Sequence: seq.String(),
	}
	rates, concurrency, conns := seq.Scale(load.Rate), seq.Scale(load.Concurrency), seq.Scale(load.MaxConnections)
	for i, n := range names {
		h := Host{Name: n, Index: i, Segment: seq.Segment(i), Rate: rates[i], Concurrency: concurrency[i], MaxConnections: conns[i]}
		switch {
		case load.Rate > 0 && h.Rate == 0:
			return nil, fmt.Errorf("rate: %d req/s leaves host %s (segment %s) none to send, and vegeta reads a rate of 0 as no limit: give at least as many req/s as hosts", load.Rate, n, h.Segment)
		case h.Concurrency == 0:
			return nil, fmt.Errorf("concurrency: %d leaves host %s (segment %s) no request in flight: give at least one per host", load.Concurrency, n, h.Segment)
		case load.MaxConnections > 0 && h.MaxConnections == 0:
			return nil, fmt.Errorf("max-connections: %d leaves host %s (segment %s) no connection: give at least one per host", load.MaxConnections, n, h.Segment)
		}
		p.Hosts = append(p.Hosts, h)
	}
	return p, nil
}

// checkLoad checks a load against clusterbench's limits, naming the flags.
func checkLoad(l Load) error {
	u, err := url.Parse(l.URL)
	switch {
	case l.URL == "":
		return fmt.Errorf("url: the deployment's URL is required, as the load hosts reach it, e.g. http://10.0.0.1:8080/")
	case err != nil || u.Scheme != "http" || u.Host == "":
		return fmt.Errorf("url: %q: want http://HOST:PORT/PATH, the address the load hosts reach the deployment at", l.URL)
	}
	return plan.CheckLoad(plan.Load{Engine: plan.Vegeta, Rate: l.Rate, Duration: l.Duration, Warmup: l.Warmup,
		Concurrency: l.Concurrency, MaxConnections: l.MaxConnections, Timeout: l.Timeout})
}

// Host returns the plan's host called name, or whose index name is.
func (p *Plan) Host(name string) (Host, bool) {
	for _, h := range p.Hosts {
		if h.Name == name || strconv.Itoa(h.Index) == name {
			return h, true
		}
	}
	return Host{}, false
}

// PlanFile is a plan's name in the directory split writes.
const PlanFile = "plan.json"

// WritePlan writes p as JSON.
func WritePlan(w io.Writer, p *Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// ReadPlan reads the plan split wrote to path, or to path/plan.json, and
// checks that it divides a load as New would.
func ReadPlan(path string) (*Plan, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path += "/" + PlanFile
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("plan: %s: %w", path, err)
	}
	seq, err := ParseSequence(p.Sequence)
	if err != nil {
		return nil, fmt.Errorf("plan: %s: %w", path, err)
	}
	names := make([]string, len(p.Hosts))
	for i, h := range p.Hosts {
		names[i] = h.Name
	}
	again, err := New(p.Load(), names, seq)
	if err != nil {
		return nil, fmt.Errorf("plan: %s: %w", path, err)
	}
	for i, h := range again.Hosts {
		if p.Hosts[i] != h {
			return nil, fmt.Errorf("plan: %s: host %s: its part is not the plan's load divided by its sequence (want %+v)", path, p.Hosts[i].Name, h)
		}
	}
	return &p, nil
}

// Load is the whole load p divides.
func (p *Plan) Load() Load {
	return Load{URL: p.URL, Rate: p.Rate, Duration: time.Duration(p.Duration), Warmup: time.Duration(p.Warmup),
		Concurrency: p.Concurrency, MaxConnections: p.MaxConnections, KeepAlive: p.KeepAlive, Timeout: time.Duration(p.Timeout), Start: p.Start}
}
