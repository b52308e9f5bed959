package trial

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"clusterbench/internal/tail"
	"clusterbench/plan"
)

// server is one trial's deployment: `clusterbench serve` run as a child in
// its own process group, so that it is a process tree apart from the load
// generator and can be ended as a whole.
type server struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr tail.Buffer
	exited chan struct{}
	ready  Ready
}

// serverStartTimeout bounds how long a deployment may take to serve.
const serverStartTimeout = 30 * time.Second

// startServer runs serve with deployment d, given as JSON, and waits
// until it serves; profile, if not "", is where serve writes a CPU profile.
func startServer(ctx context.Context, command []string, d plan.Deployment, profile string) (*server, error) {
	deployment, err := json.Marshal(d)
	if err != nil {
		panic(err) // plain data: cannot fail
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	args := append(append([]string{}, command[1:]...), ServeCommand,
		"--deployment", string(deployment),
		"--addr", "127.0.0.1:0",
		"--json",
		"--ready-fd", "3",
	)
	if profile != "" {
		args = append(args, "--cpuprofile", profile)
	}
	s := &server{cmd: exec.Command(command[0], args...), exited: make(chan struct{})}
	s.cmd.ExtraFiles = []*os.File{w}
	s.cmd.Stdout = &s.stdout
	s.cmd.Stderr = &s.stderr
	// serve has ended when its process has: a process it left may hold its
	// pipes open.
	s.cmd.WaitDelay = time.Second
	// Its own process group, and killed if we die: nothing outlives the run.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = s.cmd.Start()
	w.Close()
	if err != nil {
		return nil, fmt.Errorf("start serve: %w", err)
	}
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()

	readyc := make(chan error, 1)
	go func() { readyc <- json.NewDecoder(r).Decode(&s.ready) }()
	timer := time.NewTimer(serverStartTimeout)
	defer timer.Stop()
	select {
	case err = <-readyc:
		if err == nil {
			return s, nil
		}
		<-s.exited
		err = fmt.Errorf("deployment did not start: %s", lastLine(&s.stderr))
	case <-timer.C:
		err = fmt.Errorf("deployment not serving after %v: %s", serverStartTimeout, lastLine(&s.stderr))
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.kill()
	return nil, err
}

// stop ends the deployment gracefully and returns its own account.
func (s *server) stop() (*ServeAccount, error) {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(StopGrace + 5*time.Second)
	defer timer.Stop()
	select {
	case <-s.exited:
	case <-timer.C:
		s.kill()
		return nil, errors.New("deployment did not stop in time; killed")
	}
	s.kill() // anything left in the group
	var account ServeAccount
	if err := json.Unmarshal(s.stdout.Bytes(), &account); err != nil {
		return nil, fmt.Errorf("deployment gave no counts: %s", lastLine(&s.stderr))
	}
	return &account, nil
}

// kill ends the whole process group at once and waits for the leader.
func (s *server) kill() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.exited
}

// lastLine is the last line a child wrote, which is where clusterbench
// says why it failed, or a placeholder.
func lastLine(b *tail.Buffer) string {
	lines := b.Lines()
	if len(lines) == 0 {
		return "no error message"
	}
	if l := strings.TrimPrefix(lines[len(lines)-1], "clusterbench: "); strings.TrimSpace(l) != "" {
		return l
	}
	return "no error message"
}
