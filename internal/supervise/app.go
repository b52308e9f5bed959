package supervise

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"clusterbench/worker"
)

// procAttr makes a worker die with its parent (Pdeathsig), even if the
// parent is killed, and gives it its own group id when asked.
func (l Launcher) procAttr(index int) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if l.Group != nil {
		attr.Credential = &syscall.Credential{Uid: uint32(os.Getuid()), Gid: l.Group(index), NoSetGroups: true}
	}
	return attr
}

// startApp starts the user's own worker app. It is told its index in
// WORKER_INDEX, and gets either the listening socket at fd 3 with
// LISTEN_FDS=1 and LISTEN_PID (systemd's convention), or a port of its own
// in PORT to listen on. It sends no counts: it is ready once its socket
// takes connections, and its counts come from the client or the kernel.
func (l Launcher) startApp(spec worker.Spec, socket *os.File) (*Process, error) {
	var cmd *exec.Cmd
	env := append(append(os.Environ(), l.Env...), "WORKER_INDEX="+strconv.Itoa(spec.Index))
	if l.Listen == worker.ListenPort {
		host, port, err := net.SplitHostPort(spec.Addr)
		if err != nil {
			return nil, fmt.Errorf("worker %d: %w", spec.Index, err)
		}
		cmd = exec.Command(l.Command[0], l.Command[1:]...)
		cmd.Env = append(env, "PORT="+port, "HOST="+host)
	} else {
		// LISTEN_PID must be the app's own pid, known only once it runs:
		// a shell learns it ($$) and execs the app in its place.
		cmd = exec.Command("sh", append([]string{"-c", `LISTEN_PID=$$ exec "$@"`, "sh"}, l.Command...)...)
		cmd.Env = append(env, "LISTEN_FDS=1", "LISTEN_FDNAMES=http")
		cmd.ExtraFiles = []*os.File{socket} // fd 3
	}
	cmd.Dir = l.Dir
	errTail := l.captureStderr(cmd)
	cmd.SysProcAttr = l.procAttr(spec.Index)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("worker %d: %w", spec.Index, err)
	}
	p := newProcess(spec.Index, cmd.Process)
	p.cmd, p.silent, p.stderr = cmd, true, errTail
	p.final = true // it has no counts to give, so none are missing
	close(p.countsRead)
	go func() {
		p.waitErr = wait(cmd)
		close(p.exited)
	}()
	if l.Listen == worker.ListenPort {
		go p.readyWhenListening(spec.Addr)
	} else {
		// Its socket queues connections from the start, as under systemd's
		// socket activation: the app serves them once it runs.
		p.readOnce.Do(func() { close(p.ready) })
	}
	return p, nil
}

// readyWhenListening marks the app ready once its port takes connections.
func (p *Process) readyWhenListening(addr string) {
	for {
		select {
		case <-p.exited:
			return
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			p.readOnce.Do(func() { close(p.ready) })
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
