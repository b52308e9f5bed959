package results

import (
	"fmt"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// EncodeLatency is the compact form of a latency histogram (microseconds)
// that LatencyHistogram holds.
func EncodeLatency(h *hdrhistogram.Histogram) (string, error) {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("results: encode latency histogram: %w", err)
	}
	return string(b), nil
}

// LatencyDistribution decodes the trial's latency histogram
// (microseconds); nil without one.
func (t *Trial) LatencyDistribution() (*hdrhistogram.Histogram, error) {
	if t.LatencyHistogram == "" {
		return nil, nil
	}
	h, err := hdrhistogram.Decode([]byte(t.LatencyHistogram))
	if err != nil {
		return nil, fmt.Errorf("results: latency histogram of %s rep %d: %w", t.Label(), t.Rep, err)
	}
	return h, nil
}
