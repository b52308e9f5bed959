package loadgen

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"clusterbench/worker"
)

// BenchmarkAggregateAdd is the client's cost of counting one response
// (per worker, per process, per second): it is on the load generator's
// hot path, so it must stay far below vegeta's own cost per request, tens
// of microseconds. Measured here (go test -bench AggregateAdd ./loadgen):
// 130–180 ns, no allocation.
func BenchmarkAggregateAdd(b *testing.B) {
	a := newAggregate(8, time.Minute)
	a.start = time.Now()
	results := make([]*vegeta.Result, 8*64)
	for i := range results {
		h := http.Header{}
		h.Set(worker.HeaderWorker, strconv.Itoa(i%8))
		h.Set(worker.HeaderPID, strconv.Itoa(1000+i%8))
		h.Set(worker.HeaderConn, strconv.Itoa(i/8+1))
		results[i] = &vegeta.Result{Code: 200, Timestamp: a.start.Add(time.Duration(i) * time.Millisecond), Latency: time.Millisecond, Headers: h}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		a.add(results[i%len(results)])
	}
}
