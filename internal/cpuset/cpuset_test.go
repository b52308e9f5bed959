package cpuset

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"0", "0"},
		{"3,1,2", "1-3"},
		{"0-2,5", "0-2,5"},
		{" 4 , 0-1 ,1", "0-1,4"},
	} {
		s, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if s.String() != tt.want {
			t.Errorf("Parse(%q) = %s; want %s", tt.in, s, tt.want)
		}
	}
	for _, bad := range []string{"", "a", "2-1", "-1", "1-", "0,,1", "5000"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q): no error", bad)
		}
	}
}

func TestOverlapsAndOutside(t *testing.T) {
	a, _ := Parse("0-3")
	b, _ := Parse("3-5")
	c, _ := Parse("6")
	if !a.Overlaps(b) || a.Overlaps(c) {
		t.Errorf("0-3 overlaps 3-5: %v (want true), 6: %v (want false)", a.Overlaps(b), a.Overlaps(c))
	}
	if got := b.Outside(a).String(); got != "4-5" {
		t.Errorf("3-5 outside 0-3 = %s; want 4-5", got)
	}
}

func TestParseUsable(t *testing.T) {
	online, err := Online()
	if err != nil {
		t.Fatal(err)
	}
	if online.IsEmpty() {
		t.Fatal("no CPU online")
	}
	if _, err := ParseUsable(online.String()); err != nil {
		t.Errorf("the online CPUs %s: %v", online, err)
	}
	if _, err := ParseUsable("1000"); err == nil || !strings.Contains(err.Error(), "CPU 1000 is not on this machine") {
		t.Errorf("CPU 1000: %v; want it refused", err)
	}
}

// TestMain lets TestPinSelf re-run this binary as a process to pin.
func TestMain(m *testing.M) {
	if cpus := os.Getenv("CPUSET_PIN_TO"); cpus != "" {
		if err := pinnedChild(cpus); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestPinSelf pins a child copy of the test binary, so that this process
// keeps its CPUs, and checks the mask of every thread and of a process it
// starts afterwards.
func TestPinSelf(t *testing.T) {
	allowed, err := Allowed()
	if err != nil {
		t.Fatal(err)
	}
	if allowed.IsEmpty() {
		t.Fatal("this process may run on no CPU")
	}
	// The last allowed CPU: not the whole set, unless there is only one.
	cpus := allowed.CPUs()
	last := Set{cpus[len(cpus)-1:]}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "CPUSET_PIN_TO="+last.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pinned child: %v\n%s", err, out)
	}
}

func pinnedChild(cpus string) error {
	want, err := Parse(cpus)
	if err != nil {
		return err
	}
	if err := PinSelf(want); err != nil {
		return err
	}
	tids, err := threads()
	if err != nil {
		return err
	}
	for _, tid := range tids {
		status, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/status")
		if err != nil {
			continue // the thread ended
		}
		if got := field(string(status), "Cpus_allowed_list:"); got != want.String() {
			return fmt.Errorf("thread %d may run on CPUs %s; want %s", tid, got, want)
		}
	}
	out, err := exec.Command("grep", "Cpus_allowed_list", "/proc/self/status").Output()
	if err != nil {
		return err
	}
	if got := field(string(out), "Cpus_allowed_list:"); got != want.String() {
		return fmt.Errorf("a child may run on CPUs %s; want %s", got, want)
	}
	return nil
}

func field(status, name string) string {
	for line := range strings.SplitSeq(status, "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}
