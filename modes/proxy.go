package modes

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"clusterbench/internal/tail"
)

// proxyProgram is an external proxy (nginx, HAProxy) that a proxy mode
// puts in front of the workers' own ports.
type proxyProgram interface {
	// binary is the program's name, looked up in PATH.
	binary() string
	// config renders the configuration file's name and content, and the
	// program's arguments; both are relative to its private /tmp.
	config(c proxyConfig) (file, content string, args []string)
	// stopSignal asks the program to finish its requests and exit.
	stopSignal() syscall.Signal
}

// proxyConfig is what a proxy is configured with.
type proxyConfig struct {
	Listen    string   // HOST:PORT clients connect to
	Upstreams []string // the workers' HOST:PORT, by index
	Policy    string
	Processes int  // the proxy's own worker processes or threads
	KeepAlive bool // keep connections to the workers open between requests
	// The proxy answers GET readyPath itself, with readyHeader set to
	// Token: that tells our proxy from anything else on the port.
	Token string
}

const (
	readyPath   = "/clusterbench-proxy-ready"
	readyHeader = "X-Clusterbench-Proxy"
)

// proxyReadyTimeout bounds how long a proxy may take to accept connections.
const proxyReadyTimeout = 10 * time.Second

// proxyStopGrace bounds how long a proxy may take to finish after it was asked.
const proxyStopGrace = 5 * time.Second

// jail wraps a command so that the proxy runs as the init of new PID and
// mount namespaces, with a fresh tmpfs on /tmp for its configuration, pid
// file and temporary files. When it goes, the kernel ends every process of
// the PID namespace (nginx's workers would otherwise outlive a killed
// master) and the tmpfs vanishes: nothing is left, whatever kills us.
// util-linux's unshare does the work; --kill-child ends the proxy if
// unshare itself is killed.
func jail(userns bool, script string, args ...string) *exec.Cmd {
	flags := []string{"--fork", "--pid", "--mount", "--kill-child"}
	if userns {
		flags = append(flags, "--user", "--map-root-user")
	}
	cmd := exec.Command("unshare", append(append(flags, "sh", "-c", script, "jail"), args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// unprivileged prefixes a proxy's command, unless we are the host's root,
// so that it runs as nobody in a user namespace of its own. A proxy that
// believes it is root switches to a user of its own (nginx: nobody), and
// a user namespace of ours (an unprivileged jail's, or the trial's) maps
// no such user: the switch fails. As nobody it switches to no one.
func unprivileged(command []string) []string {
	if hostRoot() {
		return command
	}
	return append([]string{"unshare", "--user", "--map-user=65534", "--map-group=65534"}, command...)
}

// hostRoot is whether this process is root with every user ID mapped: the
// host's root, not a user namespace's.
func hostRoot() bool {
	data, err := os.ReadFile("/proc/self/uid_map")
	return err == nil && os.Geteuid() == 0 && mapsEveryID(string(data))
}

// mapsEveryID is whether a uid_map maps every ID to itself, as the initial
// user namespace's does.
func mapsEveryID(uidMap string) bool {
	return strings.Join(strings.Fields(uidMap), " ") == "0 0 4294967295"
}

// jailWithUserns is whether jails need a user namespace (non-root), or why
// no jail can be made here; found once.
var jailWithUserns = sync.OnceValues(func() (bool, error) {
	if _, err := exec.LookPath("unshare"); err != nil {
		return false, errors.New("unshare is not installed (apt-get install util-linux)")
	}
	var failures []string
	for _, userns := range []bool{false, true} {
		out, err := jail(userns, `mount -t tmpfs tmpfs /tmp && exec "$@"`, unprivileged([]string{"true"})...).CombinedOutput()
		if err == nil {
			return userns, nil
		}
		failures = append(failures, fmt.Sprintf("%v: %s", err, strings.TrimSpace(string(out))))
	}
	return false, fmt.Errorf("cannot make private PID and mount namespaces to keep the proxy's processes and files from outliving the run, "+
		"and, unless root, run the proxy as nobody (unshare --map-user, util-linux 2.38 or later) (%s)",
		strings.Join(failures, "; "))
})

// proxyAvailable says whether prog can run here, and if not, why.
func proxyAvailable(prog proxyProgram) error {
	if _, err := exec.LookPath(prog.binary()); err != nil {
		return fmt.Errorf("install %s (%s is not in PATH)", prog.binary(), prog.binary())
	}
	_, err := jailWithUserns()
	return err
}

// openProxy starts prog in front of s.Workers new worker ports and returns
// once it accepts connections. The proxy's own error message explains a
// start that fails.
func openProxy(name string, prog proxyProgram, s Setup) (Frontend, error) {
	host, err := ipv4Host(s.Addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	public, err := freeAddr(s.Addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	ports, err := openWorkerPorts(host, s.Workers)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	processes := s.ProxyProcesses
	if processes == 0 {
		processes = runtime.NumCPU()
	}
	token := strconv.FormatInt(time.Now().UnixNano(), 36)
	file, content, args := prog.config(proxyConfig{
		Listen: public, Upstreams: ports.addrs, Policy: s.Policy, Processes: processes, KeepAlive: s.UpstreamKeepAlive, Token: token,
	})
	userns, _ := jailWithUserns()
	cmd := jail(userns, `mount -t tmpfs tmpfs /tmp && cd /tmp && cat > "$1" && shift && exec "$@"`,
		append([]string{file}, unprivileged(append([]string{prog.binary()}, args...))...)...)
	cmd.Stdin = strings.NewReader(content)
	f := &proxyFrontend{name: name, prog: prog, addr: public, token: token, ports: ports, cmd: cmd, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &f.output, &f.output
	if err := cmd.Start(); err != nil {
		ports.close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	go func() {
		cmd.Wait()
		close(f.exited)
	}()
	if err := f.waitReady(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}

// freeAddr returns addr with a free port if its port is 0: the proxy has
// to be told a port, and cannot report the one it got.
func freeAddr(addr string) (string, error) {
	if _, port, _ := net.SplitHostPort(addr); port != "0" {
		return addr, nil
	}
	sock, err := reservePort(addr)
	if err != nil {
		return "", err
	}
	defer sock.Close()
	return socketAddr(sock), nil
}

type proxyFrontend struct {
	name   string
	prog   proxyProgram
	addr   string
	token  string // what our proxy answers on readyPath
	ports  *workerPorts
	cmd    *exec.Cmd
	exited chan struct{}
	output tail.Buffer // the proxy's messages, to explain a failure

	closeOnce sync.Once
	closeErr  error
}

var (
	_ PortFrontend = (*proxyFrontend)(nil)
	_ Accounter    = (*proxyFrontend)(nil)
)

// waitReady waits until our proxy answers on its address: a connection
// alone could be accepted by whatever else holds the port.
func (f *proxyFrontend) waitReady() error {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 500 * time.Millisecond}
	deadline := time.Now().Add(proxyReadyTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-f.exited:
			return fmt.Errorf("did not start: %s", failure(&f.output))
		default:
		}
		if resp, err := client.Get("http://" + f.addr + readyPath); err == nil {
			resp.Body.Close()
			if resp.Header.Get(readyHeader) == f.token {
				return nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("not answering on %s after %v: %s", f.addr, proxyReadyTimeout, failure(&f.output))
}

func (f *proxyFrontend) Addr() string { return f.addr }

func (f *proxyFrontend) WorkerPort(index int) (string, error) { return f.ports.port(index), nil }

func (f *proxyFrontend) WorkerSocket(index int) (*os.File, error) {
	sock, err := f.ports.socket(index)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.name, err)
	}
	return sock, nil
}

// Close asks the proxy to finish its requests and exit, then ends its
// namespaces if it has not; the workers are still serving meanwhile.
func (f *proxyFrontend) Close() error {
	f.closeOnce.Do(func() {
		select {
		case <-f.exited:
			f.closeErr = fmt.Errorf("%s exited while serving: %s", f.name, failure(&f.output))
		default:
			// The proxy is unshare's only child.
			for _, pid := range childPIDs(f.cmd.Process.Pid) {
				_ = syscall.Kill(pid, f.prog.stopSignal())
			}
			select {
			case <-f.exited:
			case <-time.After(proxyStopGrace):
				f.closeErr = fmt.Errorf("%s did not stop within %v; killed", f.name, proxyStopGrace)
			}
		}
		_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
		<-f.exited
		f.closeErr = errors.Join(f.closeErr, f.ports.close())
	})
	return f.closeErr
}

// Account names the jail as the proxy's process: the proxy runs under it.
// The CPU time is that of the proxy's processes, all of them: known once
// it has exited, because its init reaps them all.
func (f *proxyFrontend) Account() FrontendAccount {
	proxy := Program{PID: f.cmd.Process.Pid}
	select {
	case <-f.exited:
		if st := f.cmd.ProcessState; st != nil {
			proxy.CPUSeconds = (st.UserTime() + st.SystemTime()).Seconds()
		}
	default:
	}
	return FrontendAccount{Proxy: proxy}
}

// childPIDs lists a process's children.
func childPIDs(pid int) []int {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids
}

// failure says on one line why a proxy failed, from the last lines it
// wrote: its first and last error lines (the specific cause, and its
// conclusion), or its last lines.
func failure(out *tail.Buffer) string {
	lines := out.Lines()
	var errs []string
	for _, l := range lines {
		if strings.Contains(l, "[emerg]") || strings.Contains(l, "[ALERT]") || strings.Contains(l, "[crit]") || strings.Contains(l, "[error]") {
			errs = append(errs, strings.Join(strings.Fields(l), " "))
		}
	}
	switch {
	case len(errs) == 1:
		return errs[0]
	case len(errs) > 1:
		return errs[0] + " | " + errs[len(errs)-1]
	case len(lines) == 0:
		return "no message"
	}
	return strings.Join(lines[max(0, len(lines)-2):], " | ")
}
