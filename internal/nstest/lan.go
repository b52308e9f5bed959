package nstest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
)

// LAN is machines on one switch, made of network namespaces on this one:
// a server and load hosts, each a network stack of its own with an
// address of its own, joined by veth pairs to a bridge in the server's
// namespace. A namespace lives as long as a holder process, which dies
// with the test (Pdeathsig) or at its cleanup; its links go with it, so
// nothing outlives the test, however it ends.
type LAN struct {
	Server Host
	Hosts  []Host
}

// Host is one namespace of a LAN.
type Host struct {
	Name string
	// Addr is its IPv4 address on the LAN.
	Addr string
	// Link is the server's end of its veth pair; "" for the server.
	Link   string
	holder *exec.Cmd
}

// lanPrefix is the LAN's network, private to its namespaces.
const lanPrefix = "10.77.0."

// NewLAN makes a LAN of a server (10.77.0.1) and n load hosts
// (10.77.0.11 on). It needs root, ip (iproute2), nsenter and unshare (util-linux);
// without them it stops the test as Require does.
func NewLAN(t testing.TB, n int) *LAN {
	t.Helper()
	if os.Geteuid() != 0 {
		Require(t, "root, to make network namespaces", fmt.Errorf("running as uid %d", os.Geteuid()))
	}
	for _, prog := range []string{"ip", "nsenter", "unshare", "sleep"} {
		_, err := exec.LookPath(prog)
		Require(t, prog, err)
	}
	lan := &LAN{Server: newHost(t, "server", lanPrefix+"1")}
	s := lan.Server
	s.Run(t, "ip", "link", "add", "lan", "type", "bridge")
	s.Run(t, "ip", "addr", "add", s.Addr+"/24", "dev", "lan")
	s.Run(t, "ip", "link", "set", "lan", "up")
	for i := range n {
		h := newHost(t, fmt.Sprintf("load%d", i), lanPrefix+strconv.Itoa(11+i))
		h.Link = fmt.Sprintf("veth%d", i)
		// Made in the server's namespace, with its peer moved into the
		// host's at once: no link ever stands in the test's own.
		s.Run(t, "ip", "link", "add", h.Link, "type", "veth", "peer", "name", "eth0", "netns", strconv.Itoa(h.holder.Process.Pid))
		s.Run(t, "ip", "link", "set", h.Link, "master", "lan")
		s.Run(t, "ip", "link", "set", h.Link, "up")
		h.Run(t, "ip", "addr", "add", h.Addr+"/24", "dev", "eth0")
		h.Run(t, "ip", "link", "set", "eth0", "up")
		lan.Hosts = append(lan.Hosts, h)
	}
	return lan
}

// newHost starts the holder of a new network namespace, its loopback up.
func newHost(t testing.TB, name, addr string) Host {
	t.Helper()
	holder := exec.Command("sleep", "infinity")
	holder.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if err := holder.Start(); err != nil {
		Require(t, "a new network namespace", err)
	}
	t.Cleanup(func() {
		holder.Process.Kill()
		holder.Wait()
	})
	h := Host{Name: name, Addr: addr, holder: holder}
	h.Run(t, "ip", "link", "set", "lo", "up")
	return h
}

// Command is a command to run in h's network namespace, as PID 1 of a
// PID namespace of its own (with its own /proc), in a process group of
// its own. It and everything it starts die with it, and with the test:
// the process the test starts dies with the test (Pdeathsig), and
// unshare --kill-child takes the namespace's PID 1, and so all of it,
// with it.
func (h Host) Command(name string, args ...string) *exec.Cmd {
	return h.enter(append([]string{"unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--", name}, args...)...)
}

// enter is a command in h's network namespace alone, in a process group
// of its own, killed if the test dies.
func (h Host) enter(command ...string) *exec.Cmd {
	cmd := exec.Command("nsenter", append([]string{"--net=/proc/" + strconv.Itoa(h.holder.Process.Pid) + "/ns/net", "--"}, command...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Run runs a short command in h's namespace, such as ip, which sees the
// test's processes (ip link ... netns PID), and fails the test if it fails.
func (h Host) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := h.enter(append([]string{name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %s %v: %v: %s", h.Name, name, args, err, out)
	}
	return string(out)
}

// Received is how many packets the server's end of h's link received:
// what h sent the server.
func (lan *LAN) Received(t testing.TB, h Host) uint64 {
	t.Helper()
	var links []struct {
		Stats struct {
			RX struct {
				Packets uint64 `json:"packets"`
			} `json:"rx"`
		} `json:"stats64"`
	}
	out := lan.Server.Run(t, "ip", "-j", "-s", "link", "show", "dev", h.Link)
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		t.Fatalf("ip -j -s link show dev %s: %v: %s", h.Link, err, out)
	}
	return links[0].Stats.RX.Packets
}
