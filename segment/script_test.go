package segment

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeVegeta stands in for vegeta: it notes when it ran, its arguments and
// its target, one line each call, and writes "results" where -output says.
const fakeVegeta = `#!/bin/sh
target=$(cat)
out=
for a in "$@"; do case $a in -output=*) out=${a#-output=} ;; esac; done
echo "$(date +%s%N) $target | $*" >> "$CALLS"
[ -z "$out" ] || echo results > "$out"
`

// runScript runs host's part of p's script with the fake vegeta, and
// returns each call's time, target and arguments.
func runScript(t *testing.T, p *Plan, host string) (calls []string, when []time.Time, err error, stderr string) {
	t.Helper()
	dir := t.TempDir()
	var script bytes.Buffer
	if err := Script(&script, p); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{ScriptFile: script.String(), "vegeta": fakeVegeta} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("sh", filepath.Join(dir, ScriptFile), host, filepath.Join(dir, "out.bin"))
	cmd.Env = append(os.Environ(), "VEGETA="+filepath.Join(dir, "vegeta"), "CALLS="+filepath.Join(dir, "calls"))
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	err = cmd.Run()
	data, _ := os.ReadFile(filepath.Join(dir, "calls"))
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		ns, rest, _ := strings.Cut(line, " ")
		n, perr := strconv.ParseInt(ns, 10, 64)
		if perr != nil {
			t.Fatalf("call %q: %v", line, perr)
		}
		when = append(when, time.Unix(0, n))
		calls = append(calls, rest)
	}
	if out, _ := os.ReadFile(filepath.Join(dir, "out.bin")); err == nil && string(out) != "results\n" {
		t.Errorf("the measured attack's results did not go to RESULTS: %q", out)
	}
	return calls, when, err, errOut.String()
}

func TestScriptRunsEachHostsPart(t *testing.T) {
	p, err := New(Load{URL: "http://10.0.0.1:8080/x?y=1", Rate: 1000, Duration: 30 * time.Second, Warmup: 2 * time.Second,
		Concurrency: 32, MaxConnections: 10, KeepAlive: true, Timeout: 5 * time.Second}, []string{"h1", "h2", "h3"}, Even(3))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		host string
		want string
	}{
		{"0", "-name=h1 -rate=334/1s -workers=11 -max-connections=4"},
		{"h2", "-name=h2 -rate=333/1s -workers=11 -max-connections=3"},
		{"2", "-name=h3 -rate=333/1s -workers=10 -max-connections=3"},
	} {
		calls, _, err, stderr := runScript(t, p, c.host)
		if err != nil {
			t.Fatalf("host %s: %v: %s", c.host, err, stderr)
		}
		common := c.want + " -keepalive=true -timeout=5s -max-body=0 -redirects=-1"
		want := []string{
			"GET http://10.0.0.1:8080/x?y=1 | attack " + common + " -duration=2s -header=X-Clusterbench-Warmup: 1",
			"GET http://10.0.0.1:8080/x?y=1 | attack " + common + " -duration=30s -output=",
		}
		if len(calls) != 2 || calls[0] != want[0] || !strings.HasPrefix(calls[1], want[1]) {
			t.Errorf("host %s ran\n%s\nwant\n%s", c.host, strings.Join(calls, "\n"), strings.Join(want, "\n"))
		}
	}
	if _, _, err, stderr := runScript(t, p, "h4"); err == nil || !strings.Contains(stderr, "no host 'h4' in this plan") {
		t.Errorf("an unknown host: %v: %q; want it refused", err, stderr)
	}
}

func TestScriptClosedLoopWithoutWarmup(t *testing.T) {
	p, err := New(Load{URL: "http://10.0.0.1/", Duration: time.Second, Concurrency: 3, Timeout: time.Second}, []string{"0", "1"}, Even(2))
	if err != nil {
		t.Fatal(err)
	}
	calls, _, err, stderr := runScript(t, p, "1")
	if err != nil {
		t.Fatal(err, stderr)
	}
	// At maximum rate vegeta needs -max-workers, and keeps exactly that many.
	if len(calls) != 1 || !strings.Contains(calls[0], "-name=1 -rate=0 -workers=1 -max-workers=1 -max-connections=0 -keepalive=false") {
		t.Errorf("calls %q; want one closed-loop attack of 1 worker", calls)
	}
}

func TestScriptWaitsForTheStart(t *testing.T) {
	start := time.Now().Add(1500 * time.Millisecond)
	p, err := New(Load{URL: "http://10.0.0.1/", Rate: 10, Duration: time.Second, Warmup: time.Second, Concurrency: 1, Timeout: time.Second, Start: start}, []string{"0"}, Even(1))
	if err != nil {
		t.Fatal(err)
	}
	_, when, err, stderr := runScript(t, p, "0")
	if err != nil {
		t.Fatal(err, stderr)
	}
	if len(when) == 0 || when[0].Before(start) {
		t.Errorf("the warm-up began at %v; want it not before the start, %v", when, start)
	}
}
