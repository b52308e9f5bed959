package segment

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var load = Load{URL: "http://10.0.0.1:8080/", Rate: 3000, Duration: 30 * time.Second, Warmup: 2 * time.Second,
	Concurrency: 96, MaxConnections: 300, KeepAlive: true, Timeout: 10 * time.Second}

func TestNewDividesTheWholeLoad(t *testing.T) {
	seq, err := ParseSequence("0,1/2,3/4,1")
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(load, []string{"big", "mid", "small"}, seq)
	if err != nil {
		t.Fatal(err)
	}
	var rate, conc, conns int
	for _, h := range p.Hosts {
		rate, conc, conns = rate+h.Rate, conc+h.Concurrency, conns+h.MaxConnections
	}
	if rate != 3000 || conc != 96 || conns != 300 {
		t.Errorf("the hosts' parts add up to %d req/s, %d concurrent, %d connections; want the whole 3000, 96, 300", rate, conc, conns)
	}
	if h := p.Hosts[0]; h.Name != "big" || h.Segment != "0:1/2" || h.Rate != 1500 || h.Concurrency != 48 || h.MaxConnections != 150 {
		t.Errorf("host 0: %+v; want half of everything", h)
	}
	if h, ok := p.Host("2"); !ok || h.Name != "small" {
		t.Errorf("Host(2) = %+v, %v; want the host of index 2", h, ok)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, c := range []struct {
		load  Load
		names []string
		want  string
	}{
		{Load{URL: "", Rate: 10, Duration: time.Second, Concurrency: 3, Timeout: time.Second}, []string{"a"}, "url: the deployment's URL is required"},
		{Load{URL: "10.0.0.1:8080", Rate: 10, Duration: time.Second, Concurrency: 3, Timeout: time.Second}, []string{"a"}, "want http://HOST:PORT/PATH"},
		{Load{URL: "https://x/", Rate: 10, Duration: time.Second, Concurrency: 3, Timeout: time.Second}, []string{"a"}, "want http://HOST:PORT/PATH"},
		{Load{URL: "http://x/", Rate: 2, Duration: time.Second, Concurrency: 3, Timeout: time.Second}, []string{"a", "b", "c"}, "leaves host c (segment 2/3:1) none to send"},
		{Load{URL: "http://x/", Rate: 30, Duration: time.Second, Concurrency: 2, Timeout: time.Second}, []string{"a", "b", "c"}, "concurrency: 2 leaves host c"},
		{Load{URL: "http://x/", Rate: 30, Duration: time.Second, Concurrency: 3, MaxConnections: 2, Timeout: time.Second}, []string{"a", "b", "c"}, "max-connections: 2 leaves host c"},
		{Load{URL: "http://x/", Rate: -1, Duration: time.Second, Concurrency: 3, Timeout: time.Second}, []string{"a"}, "rate: must be at least 0"},
		{Load{URL: "http://x/", Duration: 2 * time.Hour, Concurrency: 3, Timeout: time.Second}, []string{"a"}, "duration: must be at most 1h0m0s"},
		{Load{URL: "http://x/", Duration: time.Second, Concurrency: 3, Timeout: time.Second}, []string{"a", "a"}, "a is named twice"},
		{Load{URL: "http://x/", Duration: time.Second, Concurrency: 3, Timeout: time.Second}, []string{"1", "0"}, "host 0 is named 1, a number other than its index"},
		{Load{URL: "http://x/", Duration: time.Second, Concurrency: 3, Timeout: time.Second}, []string{"a b", "c"}, `name "a b": letters, digits`},
		{Load{URL: "http://x/", Duration: time.Second, Concurrency: 3, Timeout: time.Second}, []string{"a"}, "1 hosts for 2 segments"},
	} {
		seq := Even(len(c.names))
		if strings.HasPrefix(c.want, "1 hosts") {
			seq = Even(2)
		}
		if _, err := New(c.load, c.names, seq); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v, %q): %v; want %q", c.load, c.names, err, c.want)
		}
	}
}

func TestReadPlanChecksWhatItReads(t *testing.T) {
	p, err := New(load, []string{"h1", "h2", "h3"}, Even(3))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WritePlan(&b, p); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(text string) string {
		if err := os.WriteFile(filepath.Join(dir, PlanFile), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	got, err := ReadPlan(write(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if got.Hosts[1] != p.Hosts[1] || time.Duration(got.Duration) != 30*time.Second || got.URL != p.URL {
		t.Errorf("read back %+v; want %+v", got, p)
	}
	for _, c := range []struct{ from, to, want string }{
		{`"rate": 1000,`, `"rate": 900,`, "host h1: its part is not the plan's load divided by its sequence"},
		{`"duration": "30s"`, `"duration": "soon"`, "time: invalid duration"},
		{`"keepalive": true`, `"keep_alive": true`, `unknown field "keep_alive"`},
		{`"sequence": "0,1/3,2/3,1"`, `"sequence": "0,1/2,1"`, "3 hosts for 2 segments"},
	} {
		broken := strings.Replace(b.String(), c.from, c.to, 1)
		if broken == b.String() {
			t.Fatalf("the plan has no %s", c.from)
		}
		if _, err := ReadPlan(write(broken)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("a plan with %s: %v; want %q", c.to, err, c.want)
		}
	}
	if _, err := ReadPlan(filepath.Join(dir, "none.json")); err == nil {
		t.Error("an absent plan was read")
	}
}
