package main

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"clusterbench/internal/nstest"
)

// foreignListener starts another process that listens on host:0 with
// SO_REUSEPORT, as a stranger's server would, and returns its port.
func foreignListener(t *testing.T, host string) string {
	t.Helper()
	_, err := exec.LookPath("python3")
	nstest.Require(t, "python3, for a foreign listener", err)
	cmd := exec.Command("python3", "-c", `
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind((sys.argv[1], 0))
s.listen()
print(s.getsockname()[1], flush=True)
sys.stdin.read()
`, host)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	port, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("foreign listener: %v", err)
	}
	return strings.TrimSpace(port)
}

// TestServeRefusesAForeignReusePortGroup: serve never shares its public
// port with a stranger's SO_REUSEPORT listener, whether on the same
// address or on the wildcard one.
func TestServeRefusesAForeignReusePortGroup(t *testing.T) {
	for _, foreignHost := range []string{"127.0.0.1", "0.0.0.0"} {
		t.Run(foreignHost, func(t *testing.T) {
			addr := "127.0.0.1:" + foreignListener(t, foreignHost)
			// A serve that starts is stopped after a while, and fails the test.
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			var stdout, errOut bytes.Buffer
			code := run(ctx, []string{"serve", "--mode", "reuseport", "--workers", "2", "--addr", addr}, &stdout, &errOut)
			stderr := errOut.String()
			if code != exitUsage || !strings.Contains(stderr, addr) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("serve on %s beside a foreign listener on %s: exit code %d, stderr %q; want %d and one line naming the address",
					addr, foreignHost, code, stderr, exitUsage)
			}
		})
	}
}
