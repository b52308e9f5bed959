package trial

import (
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"clusterbench/modes"
	"clusterbench/plan"
	"clusterbench/results"
)

// The programs' own outputs, as captured from Debian's packages and from
// upstream builds.
func TestProgramVersionsParse(t *testing.T) {
	for _, c := range []struct{ program, output, want string }{
		{"nginx", "nginx version: nginx/1.22.1\n", "1.22.1"},
		{"nginx", "nginx version: openresty/1.21.4.1\n", "openresty/1.21.4.1"},
		{"haproxy", "HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/\nStatus: long-term supported branch - will stop receiving fixes around Q2 2027.\n" +
			"Known bugs: http://www.haproxy.org/bugs/bugs-2.6.12.html\nRunning on: Linux 6.18.44 #1 SMP PREEMPT_DYNAMIC x86_64\n", "2.6.12-1+deb12u4"},
		{"haproxy", "HA-Proxy version 1.8.19-1+deb10u3 2020/08/01\nCopyright 2000-2019 Willy Tarreau <willy@haproxy.org>\n", "1.8.19-1+deb10u3"},
		{"node", "v20.20.2\n", "v20.20.2"},
		{"wrk", "wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer\nUsage: wrk <options> <url>\n  Options:\n", "debian/4.1.0-3+b2"},
		{"wrk", "wrk 4.2.0 [epoll] Copyright (C) 2012 Will Glozer\n", "4.2.0"},
		// What a missing or broken program leaves: no version, never a guess.
		{"nginx", "sh: 1: nginx: not found\n", ""},
		{"node", "", ""},
		{"wrk", "Usage: wrk <options> <url>\n", ""},
	} {
		if got := programVersions[c.program].parse(c.output); got != c.want {
			t.Errorf("%s: parsed %q from %q; want %q", c.program, got, c.output, c.want)
		}
	}
}

func TestModuleVersion(t *testing.T) {
	info := &debug.BuildInfo{Deps: []*debug.Module{
		{Path: "github.com/other/module", Version: "v1.0.0"},
		{Path: vegetaModule, Version: "v12.12.0"},
	}}
	if got := moduleVersion(info, vegetaModule); got != "v12.12.0" {
		t.Errorf("got %q; want v12.12.0", got)
	}
	replaced := &debug.BuildInfo{Deps: []*debug.Module{{Path: vegetaModule, Version: "v12.12.0", Replace: &debug.Module{Path: "../vegeta", Version: "v12.12.1-fork"}}}}
	if got := moduleVersion(replaced, vegetaModule); got != "v12.12.1-fork" {
		t.Errorf("replaced: got %q; want the replacement's v12.12.1-fork", got)
	}
	for _, info := range []*debug.BuildInfo{nil, {}, {Deps: []*debug.Module{{Path: vegetaModule, Replace: &debug.Module{Path: "../vegeta"}}}}} {
		if got := moduleVersion(info, vegetaModule); got != unknownVersion {
			t.Errorf("%+v: got %q; want %q", info, got, unknownVersion)
		}
	}
	// A go test binary carries no dependencies in its build information:
	// cmd/clusterbench's TestRunRecordsConditions checks a built binary.
}

func TestToolVersion(t *testing.T) {
	const commit = "25d1d1b0c0ffee0123456789abcdef0123456789"
	vcs := func(settings ...string) *debug.BuildInfo {
		info := &debug.BuildInfo{Main: debug.Module{Path: "clusterbench", Version: "(devel)"}}
		for i := 0; i < len(settings); i += 2 {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return info
	}
	for _, c := range []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"clean tree", vcs("vcs", "git", "vcs.revision", commit, "vcs.modified", "false"), commit},
		{"changed tree", vcs("vcs", "git", "vcs.revision", commit, "vcs.modified", "true"), commit + "+modified"},
		{"go install of a version", &debug.BuildInfo{Main: debug.Module{Path: "clusterbench", Version: "v1.2.0"}}, "v1.2.0"},
		{"go test", vcs(), "devel"},
		{"no build information", nil, "devel"},
	} {
		if got := toolVersion(c.info); got != c.want {
			t.Errorf("%s: got %q; want %q", c.name, got, c.want)
		}
	}
}

func TestMemTotal(t *testing.T) {
	for _, c := range []struct {
		meminfo string
		want    uint64
	}{
		{"MemTotal:       16323748 kB\nMemFree:         1234567 kB\n", 16323748 << 10},
		{"MemFree:         1234567 kB\nMemTotal:        2048 kB\n", 2 << 20},
		{"MemFree:         1234567 kB\n", 0},
		{"MemTotal:       lots kB\n", 0},
		{"MemTotal:       16323748 MB\n", 0}, // not the unit the kernel writes
	} {
		if got := memTotal(strings.NewReader(c.meminfo)); got != c.want {
			t.Errorf("memTotal(%q) = %d; want %d", c.meminfo, got, c.want)
		}
	}
}

// Each program is asked once per run, and only the programs of the
// trials that ran: a proxy mode's proxy, Node.js, and the load generator.
func TestNoteProgramsOfTheTrialsRun(t *testing.T) {
	trial := func(mode string, engine plan.Engine) plan.Trial {
		spec, err := modes.ParseSpec(mode)
		if err != nil {
			t.Fatal(err)
		}
		return plan.Trial{Deployment: plan.Deployment{Mode: spec}, Load: plan.Load{Engine: engine, Duration: time.Second}}
	}
	var h results.Host
	notePrograms(&h, trial("shared", plan.Vegeta))
	if len(h.Programs) != 1 || h.Programs["vegeta"] == "" {
		t.Errorf("shared with vegeta recorded %v; want vegeta alone", h.Programs)
	}
	h.Programs["vegeta"] = "asked before" // a second trial must not ask again
	notePrograms(&h, trial("nginx", plan.Vegeta))
	notePrograms(&h, trial("node-rr", plan.Wrk))
	if h.Programs["vegeta"] != "asked before" {
		t.Errorf("vegeta asked again: %q", h.Programs["vegeta"])
	}
	for _, name := range []string{"nginx", "node", "wrk"} {
		if h.Programs[name] == "" {
			t.Errorf("%s not recorded: %v", name, h.Programs)
		}
	}
	if _, ok := h.Programs["haproxy"]; ok {
		t.Errorf("haproxy recorded, but no trial ran it: %v", h.Programs)
	}

	// A user's app run by node is Node.js's; one by another program is not ours to ask.
	var app results.Host
	withApp := func(command ...string) plan.Trial {
		tr := trial("reuseport", plan.Wrk)
		tr.App = &plan.App{Command: command, Listen: modes.ListenFD}
		return tr
	}
	notePrograms(&app, withApp("python3", "app.py"))
	if _, ok := app.Programs["python3"]; ok || len(app.Programs) != 1 {
		t.Errorf("a python3 app recorded %v; want wrk alone", app.Programs)
	}
	notePrograms(&app, withApp("node", "app.js"))
	if app.Programs["node"] == "" {
		t.Errorf("a node app recorded %v; want node's version", app.Programs)
	}
}
