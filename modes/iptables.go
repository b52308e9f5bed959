package modes

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"clusterbench/internal/netns"
)

// IPTables gives every worker its own port, and DNAT rules spread new
// connections to the public port over those ports: the kernel's
// `statistic` match picks every nth connection, or at random. Rules go in
// nat OUTPUT because loopback traffic never passes PREROUTING, and only a
// connection's first packet is NATed, so the split is per connection.
//
// The rules are written only inside a private network namespace that
// clusterbench made, so they vanish with it even if the tool is killed.
type IPTables struct{}

var (
	_ Mode    = IPTables{}
	_ Checker = IPTables{}
)

func init() { register(IPTables{}) }

func (IPTables) Info() Info {
	return Info{
		Name:    "iptables",
		Summary: "one port per worker; iptables DNAT rules (statistic nth or random) spread connections, in a private network namespace",
		// nth is a strict rotation, random an independent draw per connection.
		Policies:       []string{"nth", "random"},
		AppListens:     []string{ListenFD, ListenPort},
		PrivateNetwork: true,
	}
}

func (IPTables) Available() error { return iptablesUsable() }

// iptablesUsable checks once per process that rules like ours can be
// written: in the namespace this process runs in if it is private, or else
// in a throwaway one, which vanishes as soon as the probe exits.
var iptablesUsable = sync.OnceValue(func() error {
	if _, err := exec.LookPath("iptables-restore"); err != nil {
		return errors.New("iptables is not installed (apt-get install iptables)")
	}
	if netns.Private() {
		return nil
	}
	if err := netns.Available(); err != nil {
		return fmt.Errorf("needs a private network namespace: %w", err)
	}
	probe := tool("iptables", "-w", "-t", "nat", "-A", "OUTPUT", "-p", "tcp",
		"-m", "statistic", "--mode", "nth", "--every", "2", "--packet", "0", "-j", "DNAT", "--to-destination", "127.0.0.1:1")
	if err := netns.Isolate(probe); err != nil {
		return fmt.Errorf("needs a private network namespace: %w", err)
	}
	if out, err := probe.CombinedOutput(); err != nil {
		return fmt.Errorf("iptables cannot write nat rules in a private namespace: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
})

func (IPTables) Open(s Setup) (Frontend, error) {
	if !netns.Private() {
		return nil, errors.New("iptables: refusing to write firewall rules outside a private network namespace " +
			"(run it with `clusterbench run`, or `clusterbench serve --mode iptables -- CMD`)")
	}
	host, err := ipv4Host(s.Addr)
	if err != nil {
		return nil, fmt.Errorf("iptables: %w", err)
	}
	f := &iptablesFrontend{policy: s.Policy}
	if f.policy == "" {
		f.policy = IPTables{}.Info().Policies[0]
	}
	// The public port only needs reserving: the rules redirect its
	// connections before any socket could see them.
	if f.public, err = reservePort(s.Addr); err != nil {
		return nil, fmt.Errorf("iptables: %w", err)
	}
	f.addr = socketAddr(f.public)
	if f.ports, err = openWorkerPorts(host, s.Workers); err != nil {
		f.Close()
		return nil, fmt.Errorf("iptables: %w", err)
	}
	if err := restore(f.addRules()); err != nil {
		f.Close()
		return nil, fmt.Errorf("iptables: %w", err)
	}
	f.installed = true
	return f, nil
}

type iptablesFrontend struct {
	addr      string
	policy    string
	public    *os.File // holds the public port
	ports     *workerPorts
	installed bool
	counts    map[string]uint64 // the rules' own, taken as they were removed
}

var (
	_ PortFrontend = (*iptablesFrontend)(nil)
	_ Accounter    = (*iptablesFrontend)(nil)
)

func (f *iptablesFrontend) Addr() string { return f.addr }

// chain is ours alone: named after the public port.
func (f *iptablesFrontend) chain() string {
	_, port, _ := net.SplitHostPort(f.addr)
	return "clusterbench-" + port
}

// jump sends new TCP connections to the public address into our chain.
func (f *iptablesFrontend) jump() string {
	host, port, _ := net.SplitHostPort(f.addr)
	return fmt.Sprintf("OUTPUT -d %s/32 -p tcp --dport %s -j %s", host, port, f.chain())
}

// addRules is the iptables-restore input that installs the split: rule i
// takes every (N-i)th connection that reaches it (or each with probability
// 1/(N-i)), so each of N workers gets 1/N, and the last takes the rest.
func (f *iptablesFrontend) addRules() string {
	var b strings.Builder
	fmt.Fprintf(&b, "*nat\n:%s - [0:0]\n-A %s\n", f.chain(), f.jump())
	n := len(f.ports.addrs)
	for i, port := range f.ports.addrs {
		match := ""
		switch left := n - i; {
		case left == 1:
		case f.policy == "random":
			match = fmt.Sprintf(" -m statistic --mode random --probability %.10f", 1/float64(left))
		default:
			match = fmt.Sprintf(" -m statistic --mode nth --every %d --packet 0", left)
		}
		fmt.Fprintf(&b, "-A %s -p tcp%s -j DNAT --to-destination %s\n", f.chain(), match, port)
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// tool runs one of iptables' programs; it dies with us, like every child.
func tool(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

func restore(rules string) error {
	cmd := tool("iptables-restore", "-w", "--noflush")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("iptables-restore: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (f *iptablesFrontend) WorkerPort(index int) (string, error) { return f.ports.port(index), nil }

func (f *iptablesFrontend) WorkerSocket(index int) (*os.File, error) {
	sock, err := f.ports.socket(index)
	if err != nil {
		return nil, fmt.Errorf("iptables: %w", err)
	}
	return sock, nil
}

func (f *iptablesFrontend) Account() FrontendAccount { return FrontendAccount{Counts: f.counts} }

// ruleCounts counts the connections each rule sent to its worker, from the
// rules' own packet counters: only a connection's first packet meets them.
func (f *iptablesFrontend) ruleCounts() map[string]uint64 {
	out, err := tool("iptables-save", "-c", "-t", "nat").Output()
	if err != nil {
		return nil
	}
	byPort := map[string]int{}
	for i, p := range f.ports.addrs {
		byPort[p] = i
	}
	counts := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// [packets:bytes] -A chain ... --to-destination HOST:PORT
		line := sc.Text()
		counters, rule, ok := strings.Cut(line, " -A "+f.chain()+" ")
		_, dest, found := strings.Cut(rule, "--to-destination ")
		if !ok || !found {
			continue
		}
		packets, _, _ := strings.Cut(strings.Trim(counters, "[]"), ":")
		n, err := strconv.ParseUint(packets, 10, 64)
		if i, known := byPort[strings.Fields(dest)[0]]; known && err == nil {
			counts[fmt.Sprintf("dnat_worker_%d", i)] = n
		}
	}
	return counts
}

// Close removes the rules (the namespace would take them anyway), keeping
// what they counted, and releases the ports.
func (f *iptablesFrontend) Close() error {
	var errs []error
	if f.installed {
		f.counts = f.ruleCounts()
		errs = append(errs, restore(fmt.Sprintf("*nat\n-D %s\n-F %s\n-X %s\nCOMMIT\n", f.jump(), f.chain(), f.chain())))
		f.installed = false
	}
	if f.ports != nil {
		errs = append(errs, f.ports.close())
	}
	if f.public != nil {
		errs = append(errs, f.public.Close())
		f.public = nil
	}
	return errors.Join(errs...)
}
