package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"clusterbench/results"
)

func conditionsRun() *results.Run {
	return &results.Run{
		Schema: results.Schema, Scenario: "scenarios/x.yaml", Complete: true, Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Host: results.Host{CPUModel: "Test CPU", CPUs: 2, Kernel: "6.1", GoVersion: "go1.26", WorkerApp: "test app", Isolation: "host loopback",
			MemoryBytes: 8 << 30, Tool: "25d1d1b+modified",
			Programs: map[string]string{"wrk": "4.2.0", "nginx": "1.22.1", "vegeta": "v12.12.0"}},
		Trials: []results.Trial{trial("shared", 1, 1234, 6, 2)},
	}
}

func TestConditionsShowTheRecordedVersions(t *testing.T) {
	r := conditionsRun()
	r.ScenarioText = "experiments:\n  - modes: [shared]\n"
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"- Memory: 8.0 GiB\n",
		"- Programs used: nginx 1.22.1, vegeta v12.12.0, wrk 4.2.0\n", // by name, whatever the map's order
		"- clusterbench: 25d1d1b+modified\n",
		"- Scenario: as run, at the [end of this report](#scenario)\n",
		"## Scenario\n\nThe scenario as run, the file scenarios/x.yaml:\n\n```\nexperiments:\n  - modes: [shared]\n```\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if !strings.HasSuffix(md, "```\n\n") || strings.Index(md, "## Scenario") < strings.Index(md, "## Warnings") {
		t.Errorf("the scenario is not the report's last section:\n%s", md)
	}
}

// An older record has none of them: the report says nothing of them,
// rather than "0.0 GiB" or an empty list.
func TestConditionsOfAnOlderRecord(t *testing.T) {
	r := conditionsRun()
	r.Host.MemoryBytes, r.Host.Programs, r.Host.Tool = 0, nil, ""
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"Memory:", "Programs used:", "clusterbench:", "Scenario"} {
		if strings.Contains(b.String(), absent) {
			t.Errorf("report of an older record says %q:\n%s", absent, b.String())
		}
	}
}

// A scenario's text is the user's: backticks in it cannot close its
// fence, and control characters are shown, not obeyed.
func TestScenarioTextIsFencedSafely(t *testing.T) {
	for _, c := range []struct {
		name, text, fence string
	}{
		{"plain", "name: x\n", "```"},
		{"a code span", "description: run `make run` first\n", "```"},
		{"a fence of its own", "description: |\n  ```\n  not the end\n  ```\n", "````"},
		{"a longer fence", "# `````\nname: x", "``````"},
	} {
		r := conditionsRun()
		r.ScenarioText = c.text
		var b bytes.Buffer
		if err := WriteMarkdown(&b, r); err != nil {
			t.Fatal(err)
		}
		md := b.String()
		_, block, _ := strings.Cut(md, "## Scenario\n")
		want := c.fence + "\n" + strings.TrimSuffix(c.text, "\n") + "\n" + c.fence + "\n\n"
		if !strings.HasSuffix(block, want) {
			t.Errorf("%s: scenario block\n%s\nwant it to end with\n%s", c.name, block, want)
		}
	}
	r := conditionsRun()
	r.ScenarioText = "name: \x1b[31mred\x1b[0m\r\nnext: line\n"
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	if md := b.String(); strings.Contains(md, "\x1b") || strings.Contains(md, "\r") || !strings.Contains(md, `name: \x1b[31mred\x1b[0m\r`+"\nnext: line\n") {
		t.Errorf("control characters obeyed, or the lines lost:\n%q", md)
	}
}

func TestFlagsScenarioSaysSo(t *testing.T) {
	r := conditionsRun()
	r.Scenario, r.ScenarioText = "flags", "clusterbench run --mode shared -o out"
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "The scenario as run, built from its command line:\n\n```\nclusterbench run --mode shared -o out\n```\n") {
		t.Errorf("report:\n%s", b.String())
	}
}
