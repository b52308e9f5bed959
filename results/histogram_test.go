package results

import (
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

func TestLatencyHistogramRoundTrip(t *testing.T) {
	h := hdrhistogram.New(1, 3_600_000_000, 3)
	for v := int64(1); v <= 10000; v++ {
		h.RecordValue(v * 7)
	}
	enc, err := EncodeLatency(h)
	if err != nil {
		t.Fatal(err)
	}
	tr := Trial{LatencyHistogram: enc}
	got, err := tr.LatencyDistribution()
	if err != nil {
		t.Fatal(err)
	}
	if got.TotalCount() != 10000 || got.ValueAtQuantile(99) != h.ValueAtQuantile(99) {
		t.Errorf("decoded count %d p99 %d; want 10000, %d", got.TotalCount(), got.ValueAtQuantile(99), h.ValueAtQuantile(99))
	}
	if none, err := (&Trial{}).LatencyDistribution(); none != nil || err != nil {
		t.Errorf("no histogram: got %v, %v; want nil, nil", none, err)
	}
	if _, err := (&Trial{Mode: "m", LatencyHistogram: "garbage"}).LatencyDistribution(); err == nil {
		t.Error("garbage decoded without error")
	}
}
