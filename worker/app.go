package worker

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// How a user's own worker app gets its socket.
const (
	// ListenFD hands the app a listening socket at fd 3 (LISTEN_FDS=1).
	ListenFD = "fd"
	// ListenPort tells the app a port of its own to listen on ($PORT, Spec.Addr).
	ListenPort = "port"
)

// ProbeHTTP waits until addr answers an HTTP request, any answer, to tell
// an app that serves HTTP from one that only holds its socket. The request
// is marked as warm-up.
func ProbeHTTP(ctx context.Context, addr string) error {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return err
	}
	req.Header.Set(HeaderWarmup, "1")
	for {
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no HTTP answer on %s: %v", addr, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
