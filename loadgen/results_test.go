package loadgen

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"clusterbench/worker"
)

// hostResults are one load host's results: n requests, one every 10 ms
// from start, each answered in 2 ms by worker (i % workers), two by two
// on a connection of the host's own (ids from base on), but every fifth
// refused.
func hostResults(attack string, start time.Time, n, workers, base int) []vegeta.Result {
	var out []vegeta.Result
	for i := range n {
		r := vegeta.Result{Attack: attack, Seq: uint64(i), Timestamp: start.Add(time.Duration(i) * 10 * time.Millisecond), Latency: 2 * time.Millisecond, Method: "GET", URL: "http://10.0.0.1/"}
		if i%5 == 4 {
			r.Error = "dial tcp 10.0.0.1:80: connect: connection refused"
		} else {
			r.Code = 200
			r.Headers = http.Header{
				worker.HeaderWorker: {strconv.Itoa(i % workers)},
				worker.HeaderPID:    {strconv.Itoa(1000 + i%workers)},
				worker.HeaderConn:   {strconv.Itoa(base + i/(2*workers))},
			}
		}
		out = append(out, r)
	}
	return out
}

// connections counts the distinct connections of successful results.
func connections(sets ...[]vegeta.Result) uint64 {
	seen := map[[3]string]bool{}
	for _, rs := range sets {
		for _, r := range rs {
			if r.Code == 200 {
				seen[[3]string{r.Headers.Get(worker.HeaderWorker), r.Headers.Get(worker.HeaderPID), r.Headers.Get(worker.HeaderConn)}] = true
			}
		}
	}
	return uint64(len(seen))
}

// writeResults writes results in one of vegeta's encodings.
func writeResults(t *testing.T, name string, rs []vegeta.Result, encoder func(w *os.File) vegeta.Encoder) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	enc := encoder(f)
	for i := range rs {
		if err := enc.Encode(&rs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func gobEncoder(f *os.File) vegeta.Encoder  { return vegeta.NewEncoder(f) }
func jsonEncoder(f *os.File) vegeta.Encoder { return vegeta.NewJSONEncoder(f) }
func csvEncoder(f *os.File) vegeta.Encoder  { return vegeta.NewCSVEncoder(f) }

func TestMergeCountsEveryHostsResultsPerWorker(t *testing.T) {
	start := time.Date(2026, 12, 7, 10, 0, 0, 500_000_000, time.UTC)
	a := hostResults("a", start, 100, 2, 0)                             // 80 successes: 40 per worker
	b := hostResults("b", start.Add(300*time.Millisecond), 50, 2, 1000) // 40 successes: 20 per worker
	c := hostResults("", start.Add(time.Second), 10, 2, 2000)           // 8 successes: 4 per worker
	files := []ResultsFile{
		{Path: writeResults(t, "a.bin", a, gobEncoder)},
		{Name: "second", Path: writeResults(t, "b.json", b, jsonEncoder)},
		{Path: writeResults(t, "c.csv", c, csvEncoder)},
	}
	res, hosts, err := Merge(files, 2)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 160 || res.Successes != 128 || res.Errors != 32 || res.ErrorKinds["refused"] != 32 {
		t.Errorf("requests %d successes %d errors %d %v; want 160, 128, 32 refused", res.Requests, res.Successes, res.Errors, res.ErrorKinds)
	}
	for w, tally := range res.PerWorker {
		if tally.Requests != 64 {
			t.Errorf("worker %d: %d requests; want 64", w, tally.Requests)
		}
	}
	if got, want := res.PerWorker[0].Connections+res.PerWorker[1].Connections, connections(a, b, c); got != want {
		t.Errorf("%d connections; want %d", got, want)
	}
	// The span: from a's first request to c's last result, 1 s + 90 ms + 2 ms.
	if want := 1092 * time.Millisecond; res.Elapsed != want {
		t.Errorf("span %v; want %v", res.Elapsed, want)
	}
	for i, want := range []struct {
		name     string
		requests uint64
		first    time.Time
	}{{"a", 100, start}, {"second", 50, start.Add(300 * time.Millisecond)}, {"c", 10, start.Add(time.Second)}} {
		h := hosts[i]
		if h.Name != want.name || h.Requests != want.requests || !h.First.Equal(want.first) || h.Cut != nil {
			t.Errorf("host %d: %s, %d requests from %v, cut %v; want %s, %d from %v, whole", i, h.Name, h.Requests, h.First, h.Cut, want.name, want.requests, want.first)
		}
	}
	// Each host's results by the clock's seconds: a's from 10:00:00.5 on
	// fall in the first second (50) and the second (50).
	if got := hosts[0].PerSecond; len(got) != 2 || got[0] != 50 || got[1] != 50 {
		t.Errorf("host a per second %v; want [50 50]", got)
	}
	if got := hosts[2].PerSecond; len(got) != 2 || got[0] != 0 || got[1] != 10 {
		t.Errorf("host c per second %v; want [0 10]", got)
	}
}

func TestMergeKeepsWhatACutFileHolds(t *testing.T) {
	rs := hostResults("a", time.Now(), 40, 2, 0)
	path := writeResults(t, "a.bin", rs, gobEncoder)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The host died while writing: the file ends inside its last result.
	cut := filepath.Join(t.TempDir(), "cut.bin")
	if err := os.WriteFile(cut, data[:len(data)-7], 0o644); err != nil {
		t.Fatal(err)
	}
	res, hosts, err := Merge([]ResultsFile{{Path: cut}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	var c *cutShort
	if !errors.As(hosts[0].Cut, &c) || c.n != 39 {
		t.Fatalf("cut: %v; want the file cut after 39 whole results", hosts[0].Cut)
	}
	if res.Requests != 39 || hosts[0].Requests != 39 {
		t.Errorf("merged %d, host %d; want the 39 whole results", res.Requests, hosts[0].Requests)
	}
}

func TestMergeRefusesWhatIsNotResults(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.bin")
	if err := os.WriteFile(junk, []byte("GET http://10.0.0.1/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := Merge([]ResultsFile{{Path: junk}}, 2)
	var nr *NotResults
	if !errors.As(err, &nr) || nr.Path != junk {
		t.Errorf("Merge of a targets file: %v; want NotResults naming it", err)
	}
	if _, _, err := Merge([]ResultsFile{{Path: filepath.Join(dir, "absent.bin")}}, 2); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Merge of an absent file: %v; want it not to exist", err)
	}
	empty := filepath.Join(dir, "empty.bin")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res, hosts, err := Merge([]ResultsFile{{Path: empty}, {Path: writeResults(t, "b.bin", hostResults("b", time.Now(), 5, 1, 0), gobEncoder)}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if hosts[0].Name != "empty" || hosts[0].Requests != 0 || res.Requests != 5 {
		t.Errorf("an empty file: host %s with %d requests, %d merged; want host empty with none, 5 merged", hosts[0].Name, hosts[0].Requests, res.Requests)
	}
}

// TestMergeReadsEachHostsClockAndSequence: the Date headers of a host's
// responses bound its clock against the server's; its sequence numbers
// say how many requests it sent; its targets are noted.
func TestMergeReadsEachHostsClockAndSequence(t *testing.T) {
	start := time.Date(2026, 12, 7, 10, 0, 0, 300_000_000, time.UTC)
	rs := hostResults("a", start, 300, 2, 0) // 3 s of results, every 10 ms
	const ahead = 2*time.Second + 345*time.Millisecond
	for i := range rs {
		if rs[i].Headers != nil { // the server wrote it 1 ms after the request left, on its clock
			rs[i].Headers.Set("Date", rs[i].Timestamp.Add(time.Millisecond+ahead).UTC().Format(http.TimeFormat))
		}
	}
	kept := append(rs[:100:100], rs[110:]...) // ten results lost in the middle
	_, hosts, err := Merge([]ResultsFile{{Path: writeResults(t, "a.bin", kept, gobEncoder)}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	h := hosts[0]
	if c := h.Clock; c == nil || c.Low > ahead || c.High < ahead || c.Error() > 10*time.Millisecond {
		t.Errorf("clock %+v; want bounds within 10 ms either way of %v", c, ahead)
	}
	if h.Sent != 300 || h.Requests != 290 {
		t.Errorf("sent %d, results %d; want 300 sent by their sequence numbers, 290 results", h.Sent, h.Requests)
	}
	if len(h.URLs) != 1 || h.URLs[0] != "GET http://10.0.0.1/" {
		t.Errorf("targets %q", h.URLs)
	}
}

func TestMergeRefusesASpanOfDays(t *testing.T) {
	now := time.Now()
	a := writeResults(t, "a.bin", hostResults("a", now, 5, 1, 0), gobEncoder)
	b := writeResults(t, "b.bin", hostResults("b", now.Add(-48*time.Hour), 5, 1, 100), gobEncoder)
	_, _, err := Merge([]ResultsFile{{Path: a}, {Path: b}}, 1)
	var span *SpanError
	if !errors.As(err, &span) || span.First != "b" || span.Last != "a" {
		t.Errorf("Merge of hosts two days apart: %v; want a SpanError from b to a", err)
	}
}

// TestMergeKeepsAHostCutInItsFirstResult: a host that died while writing
// its first result left only vegeta's header: its part is missing, not
// the merge.
func TestMergeKeepsAHostCutInItsFirstResult(t *testing.T) {
	path := writeResults(t, "a.bin", hostResults("a", time.Now(), 1, 1, 0), gobEncoder)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, keep := range []int{len(data) - 10, 20, 4} { // inside the result; after the type's name; before it
		cut := filepath.Join(t.TempDir(), "cut.bin")
		if err := os.WriteFile(cut, data[:keep], 0o644); err != nil {
			t.Fatal(err)
		}
		res, hosts, err := Merge([]ResultsFile{{Path: cut}, {Path: writeResults(t, "b.bin", hostResults("b", time.Now(), 3, 1, 0), gobEncoder)}}, 1)
		var c *cutShort
		if keep == 4 {
			// Not even the type's name: nothing says it is vegeta's.
			var nr *NotResults
			if !errors.As(err, &nr) {
				t.Errorf("a file of 4 bytes: %v; want NotResults", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("cut at %d bytes: %v", keep, err)
		}
		if !errors.As(hosts[0].Cut, &c) || c.n != 0 || res.Requests != 3 {
			t.Errorf("cut at %d bytes: %v, cut %v, %d merged; want host a cut after 0 results, b's 3 merged", keep, err, hosts[0].Cut, res.Requests)
		}
	}
}
