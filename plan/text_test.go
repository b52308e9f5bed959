package plan

import (
	"encoding"
	"encoding/json"
	"flag"
	"strings"
	"syscall"
	"testing"
	"time"

	"clusterbench/modes"
)

// textValue is what every type that is written as text implements.
type textValue interface {
	encoding.TextMarshaler
	encoding.TextUnmarshaler
	flag.Value
}

var (
	_ textValue = (*modes.Spec)(nil)
	_ textValue = (*Kill)(nil)
	_ textValue = (*Signal)(nil)
	_ textValue = (*Engine)(nil)
	_ textValue = (*CPUs)(nil)
)

// TestTextRoundTrip: each value reads what it writes, and writes the
// canonical form of what it reads.
func TestTextRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		value    func() textValue
	}{
		{"reuseport", "reuseport", func() textValue { return new(modes.Spec) }},
		{"shared", "shared:race", func() textValue { return new(modes.Spec) }},
		{"shared:blocking", "shared:blocking", func() textValue { return new(modes.Spec) }},
		{"roundrobin", "roundrobin:free", func() textValue { return new(modes.Spec) }},
		{"roundrobin:rotate", "roundrobin:rotate", func() textValue { return new(modes.Spec) }},
		{"3", "3", func() textValue { return new(Kill) }},
		{"all", "all", func() textValue { return new(Kill) }},
		{"term", "SIGTERM", func() textValue { return new(Signal) }},
		{"SIGkill", "SIGKILL", func() textValue { return new(Signal) }},
		{"wrk", "wrk", func() textValue { return new(Engine) }},
		{"1-1,0", "0-1", func() textValue { return new(CPUs) }},
	} {
		v := tt.value()
		if err := v.Set(tt.in); err != nil {
			t.Errorf("Set(%q): %v", tt.in, err)
			continue
		}
		text, err := v.MarshalText()
		if err != nil || string(text) != tt.want || v.String() != tt.want {
			t.Errorf("%q reads as %q (String %q, err %v); want %q", tt.in, text, v.String(), err, tt.want)
		}
		again := tt.value()
		if err := again.UnmarshalText(text); err != nil || again.String() != tt.want {
			t.Errorf("%q read back as %q (%v)", text, again.String(), err)
		}
	}
}

func TestTextErrors(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		value    textValue
	}{
		{"warp", `unknown mode "warp" (known: `, new(modes.Spec)},
		{"single:rotate", `mode "single" has no policies, got "single:rotate"`, new(modes.Spec)},
		{"shared:rotate", `mode "shared" has no policy "rotate" (known: race, exclusive, blocking)`, new(modes.Spec)},
		{"roundrobin:fastest", `mode "roundrobin" has no policy "fastest" (known: free, rotate)`, new(modes.Spec)},
		{"some", `"some" is not a number of workers or "all"`, new(Kill)},
		{"0", "must be at least 1, got 0", new(Kill)},
		{"INT", `"INT" is not one of SIGKILL, SIGTERM, SIGHUP, SIGQUIT, SIGABRT, SIGSEGV`, new(Signal)},
		{"siege", `unknown load generator "siege" (known: vegeta, wrk)`, new(Engine)},
		{"one", `"one" is not a CPU list (like 0, 0-3 or 0,2-3)`, new(CPUs)},
	} {
		if err := tt.value.UnmarshalText([]byte(tt.in)); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("UnmarshalText(%q) = %v; want %q", tt.in, err, tt.want)
		}
	}
}

// TestTrialJSON: a trial travels to its process as JSON and arrives whole.
func TestTrialJSON(t *testing.T) {
	tr := validTrial(t)
	tr.Fault = &Fault{Kill: Kill{All: true}, At: time.Second, Signal: Signal(syscall.SIGTERM)}
	tr.Placement = &Placement{LoadGen: cpus(t, "0"), Server: cpus(t, "1")}
	tr.CPUs = tr.Placement.Server
	tr.App = &App{Name: "py", Command: []string{"python3", "app.py"}, Listen: modes.ListenPort}
	body, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	var got Trial
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(got)
	if string(again) != string(body) {
		t.Errorf("JSON round trip\n got %s\nwant %s", again, body)
	}
	if got.Mode.String() != "roundrobin:free" || got.Fault.Signal != Signal(syscall.SIGTERM) || !got.Fault.Kill.All || got.Placement.Server.String() != "1" {
		t.Errorf("decoded %+v", got)
	}
	var d Deployment
	if err := json.Unmarshal([]byte(`{"mode":"reuseport","workers":2,"cpus":""}`), &d); err != nil || !d.CPUs.IsEmpty() {
		t.Errorf("a deployment without CPUs: %v, %s", err, d.CPUs)
	}
}

func TestKillCount(t *testing.T) {
	if n := (Kill{All: true}).Count(4); n != 4 {
		t.Errorf("kill all of 4: %d", n)
	}
	if n := (Kill{N: 2}).Count(4); n != 2 {
		t.Errorf("kill 2 of 4: %d", n)
	}
}
