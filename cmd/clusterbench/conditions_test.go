package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"clusterbench/results"
)

// TestRunRecordsConditions runs a built clusterbench, as a user does (a
// go test binary knows neither its commit nor its modules), on a scenario
// whose trials use vegeta, wrk, nginx, HAProxy and Node.js: the record
// keeps each one's version, the tool's own and the scenario's text, and
// the report shows them.
func TestRunRecordsConditions(t *testing.T) {
	requireMode(t, "nginx")
	requireMode(t, "haproxy")
	requireMode(t, "node-rr")
	requireWrk(t)
	bin := filepath.Join(t.TempDir(), "clusterbench")
	// -buildvcs=auto: the commit is stamped where go finds it (GOFLAGS may say otherwise).
	if out, err := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const scenario = "# Two engines and three programs, the least that uses them all.\n" +
		"experiments:\n" +
		"  - name: vegeta\n" +
		"    modes: [shared]\n" +
		"    workers: 2\n" +
		"    load: {duration: 300ms, warmup: 100ms, concurrency: 2}\n" +
		"  - name: programs\n" +
		"    # proxies and Node.js under `wrk`: a comment is part of the text\n" +
		"    modes: [nginx, haproxy, node-rr]\n" +
		"    workers: 2\n" +
		"    load: {loadgen: wrk, duration: 1s, warmup: 0s, concurrency: 2}\n"
	file := writeFile(t, "conditions.yaml", scenario)
	dir := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(bin, "run", "-o", dir, file)
	cmd.Env = append(os.Environ(), "CLUSTERBENCH_TEST_MAIN=") // the binary, not this test's helper
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	r, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Trials) != 4 {
		t.Errorf("%d trials; want 4 (skipped: %+v)", len(r.Trials), r.Skipped)
	}
	version := regexp.MustCompile(`^(v|debian/)?[0-9]+\.[0-9]+`)
	for _, name := range []string{"vegeta", "wrk", "nginx", "haproxy", "node"} {
		if v := r.Host.Programs[name]; !version.MatchString(v) {
			t.Errorf("%s: version %q; want one (programs %v)", name, v, r.Host.Programs)
		}
	}
	if len(r.Host.Programs) != 5 {
		t.Errorf("programs %v; want those five alone", r.Host.Programs)
	}
	if want := builtVersion(t, bin); r.Host.Tool != want {
		t.Errorf("tool version %q; want %q, as go version -m reads the binary", r.Host.Tool, want)
	}
	if r.ScenarioText != scenario {
		t.Errorf("scenario text %q; want the file's", r.ScenarioText)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"- Programs used: haproxy " + r.Host.Programs["haproxy"], "- clusterbench: " + r.Host.Tool,
		"## Scenario", "```\n" + strings.TrimSuffix(scenario, "\n") + "\n```\n"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}

// builtVersion is what `go version -m` says of the binary at bin: its
// commit, with +modified for a changed tree; else its module's version;
// else devel (go does not find every checkout, e.g. a git worktree).
func builtVersion(t *testing.T, bin string) string {
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	var revision, modified, module string
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "build" && strings.HasPrefix(f[1], "vcs.revision="):
			revision = strings.TrimPrefix(f[1], "vcs.revision=")
		case len(f) == 2 && f[0] == "build" && strings.HasPrefix(f[1], "vcs.modified="):
			modified = strings.TrimPrefix(f[1], "vcs.modified=")
		case len(f) >= 3 && f[0] == "mod" && f[2] != "(devel)":
			module = f[2]
		}
	}
	switch {
	case revision != "" && modified == "true":
		return revision + "+modified"
	case revision != "":
		return revision
	case module != "":
		return module
	}
	return "devel"
}
