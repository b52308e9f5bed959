package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// parsePerfStat reads the CSV that `perf stat -x,` writes (to stderr, or
// to -o FILE): one line per event, "COUNT,UNIT,EVENT,RUNTIME,PERCENT,…",
// after a "# started on" comment. It returns each event's count. An event
// perf could not count ("<not counted>", "<not supported>") is left out,
// so that a missing count is never read as zero calls.
func parsePerfStat(r io.Reader) (map[string]uint64, error) {
	counts := map[string]uint64{}
	scanner := bufio.NewScanner(r)
	for line := 1; scanner.Scan(); line++ {
		text := strings.TrimSpace(scanner.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, ",")
		if len(fields) < 3 || fields[2] == "" {
			return nil, fmt.Errorf("perf stat line %d: %q is not COUNT,UNIT,EVENT,…", line, text)
		}
		if strings.HasPrefix(fields[0], "<") {
			continue
		}
		n, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("perf stat line %d: count of %s: %w", line, fields[2], err)
		}
		counts[fields[2]] = n
	}
	return counts, scanner.Err()
}

var wrkRequests = regexp.MustCompile(`(?m)^\s*(\d+) requests in `)

// parseWrkRequests reads how many requests wrk completed from its summary
// ("14895 requests in 3.04s, 3.41MB read").
func parseWrkRequests(output string) (uint64, error) {
	m := wrkRequests.FindStringSubmatch(output)
	if m == nil {
		return 0, fmt.Errorf("wrk output names no request count: %q", output)
	}
	return strconv.ParseUint(m[1], 10, 64)
}

func TestParsePerfStat(t *testing.T) {
	sample := func(name string) string {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	tests := []struct {
		name    string
		input   string
		want    map[string]uint64 // some of the events
		size    int               // how many events there are
		wantErr string
	}{
		{
			// Captured from `perf stat -x, -p WORKER_PIDS -o FILE` around a
			// one-second wrk run against roundrobin:free with 8 workers.
			name:  "workers of roundrobin:free",
			input: sample("perfstat-workers.csv"),
			want: map[string]uint64{
				"raw_syscalls:sys_enter":         128766,
				"syscalls:sys_enter_recvmsg":     7774,
				"syscalls:sys_enter_setsockopt":  20385,
				"syscalls:sys_enter_accept4":     0,
				"syscalls:sys_enter_getpeername": 4077,
			},
			size: 24,
		},
		{
			name:  "its master",
			input: sample("perfstat-master.csv"),
			want: map[string]uint64{
				"raw_syscalls:sys_enter":         23939,
				"syscalls:sys_enter_accept4":     4077,
				"syscalls:sys_enter_sendmsg":     4077,
				"syscalls:sys_enter_read":        4237,
				"syscalls:sys_enter_epoll_pwait": 5072,
			},
			size: 24,
		},
		{
			name:  "an event perf could not count is left out",
			input: "# started on Wed Dec  2 05:32:02 2026\n\n<not counted>,,syscalls:sys_enter_futex,0,100.00,,\n12,,raw_syscalls:sys_enter,100,100.00,,\n",
			want:  map[string]uint64{"raw_syscalls:sys_enter": 12},
			size:  1,
		},
		{name: "nothing counted", input: "# started on Wed Dec  2 05:32:02 2026\n\n", size: 0},
		{name: "not CSV", input: "Performance counter stats for process id '1':\n", wantErr: "line 1"},
		{name: "bad count", input: "12x,,raw_syscalls:sys_enter,100,100.00,,\n", wantErr: "count of raw_syscalls:sys_enter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePerfStat(strings.NewReader(tt.input))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parsePerfStat = %v, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.size {
				t.Errorf("got %d events %v; want %d", len(got), got, tt.size)
			}
			for event, n := range tt.want {
				if c, ok := got[event]; !ok || c != n {
					t.Errorf("%s = %d (present %v); want %d", event, c, ok, n)
				}
			}
		})
	}
}

func TestParseWrkRequests(t *testing.T) {
	captured, err := os.ReadFile(filepath.Join("testdata", "wrk-close.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		output string
		want   uint64
		ok     bool
	}{
		{"captured, keep-alive off", string(captured), 4044, true},
		{"with socket errors", "  123456 requests in 3.00s, 28.27MB read\n  Socket errors: connect 0, read 7, write 0, timeout 0\nRequests/sec:  41152.00\n", 123456, true},
		{"no summary", "unable to connect to 127.0.0.1:1 Connection refused\n", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseWrkRequests(tt.output)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("parseWrkRequests = %d, %v; want %d (ok %v)", got, err, tt.want, tt.ok)
			}
		})
	}
}
