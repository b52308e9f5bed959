package report

import (
	"bytes"
	"image/png"
	"strings"
	"testing"

	"clusterbench/results"
)

// faultTrial is a trial of 4 workers whose worker 0 was killed at 1s of 3,
// with what the client saw before and after.
func faultTrial(mode string, rep int, lost uint64, kind string, recovery *float64) results.Trial {
	t := trial(mode, rep, 1000, 250, 250, 250, 250)
	t.Fault = &results.Fault{
		Kill: 1, Signal: "SIGKILL", Respawn: true, AtSeconds: 1, Workers: []int{0}, PIDs: []int{100},
		Before:          results.Window{Seconds: 1, Successes: 1000, Requests: 1000, ThroughputRPS: 1000},
		After:           results.Window{Seconds: 2, Successes: 1800, Requests: 1800 + lost, Errors: lost, ThroughputRPS: 900},
		LostRequests:    lost,
		RecoverySeconds: recovery,
	}
	if lost > 0 {
		t.Fault.After.ErrorKinds = map[string]uint64{kind: lost}
		t.Fault.ErrorsForSeconds = 0.012
	}
	t.Series = []results.Second{{T: 0, Seconds: 1, Successes: 1000}, {T: 1, Seconds: 1, Successes: 800, Errors: lost}, {T: 2, Seconds: 1, Successes: 1000}}
	t.Unreported = []string{"worker 0 pid 100 was killed without final counts"}
	return t
}

// The damage report follows the data: which modes lost requests, of which
// kind, and how long a replacement took, in the findings, the resilience
// table and a plot.
func TestFaultReportFollowsTheData(t *testing.T) {
	r := &results.Run{Schema: results.Schema, Complete: true, Trials: []results.Trial{
		faultTrial("roundrobin:free", 1, 0, "", ptr(0.021)),
		faultTrial("reuseport", 1, 16, "reset", ptr(0.029)),
		faultTrial("roundrobin:free", 2, 0, "", ptr(0.025)),
		faultTrial("reuseport", 2, 20, "reset", nil), // no replacement served in time
	}}
	got := markdownFindings(r)
	for _, want := range []string{
		"**Fault in e, 4 workers, keep-alive on, handler trivial, load max-c32: kill 1 of 4 workers (SIGKILL, 1.0s into the measured load), replaced at once.**",
		"Lost no request (median of repetitions): `roundrobin:free`.",
		"Lost requests (median): `reuseport` 18 (errors for 12 ms after the kill).",
		"first response served by a replacement: `roundrobin:free` 23 ms.",
		"No replacement served a response within the trial (in some repetition) in `reuseport`.",
		"for the 4 processes that died without them the client's count stands",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("findings lack %q:\n%s", want, got)
		}
	}

	var md bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"- fault: kill 1 of 4 workers (SIGKILL, 1.0s into the measured load), replaced at once",
		"### Resilience",
		"| reuseport       | 4       | on         | trivial | max-c32 | 2    | 1 of 4, SIGKILL at 1.0s, respawn | 18            | reset 18 (up to 20)   | 12            | never                | 29 (never in 1 of 2)            | stayed open          | 1000 → 900                      | client for 2 killed; rest agree |",
		"![e: successful responses and errors per second, the kill marked](e-fault.png)",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}

	plots := Plots(r)
	last := plots[len(plots)-1]
	if last.File != "e-fault.png" {
		t.Fatalf("last plot is %s; want the fault's", last.File)
	}
	img, err := png.Decode(bytes.NewReader(must(last.Render())))
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"roundrobin:free", "reuseport"} {
		if !hasColour(img, styleOf(mode).color) {
			t.Errorf("fault plot has no line in %s's colour", mode)
		}
	}
}

// With every worker killed for good, the findings say whether the port
// closed and new connections were refused.
func TestAllKilledFinding(t *testing.T) {
	tr := faultTrial("shared", 1, 5000, "refused", nil)
	tr.Fault.Kill, tr.Fault.Respawn, tr.Fault.PortClosedSeconds = 4, false, ptr(0.006)
	got := markdownFindings(&results.Run{Trials: []results.Trial{tr}})
	for _, want := range []string{
		"kill all 4 workers (SIGKILL, 1.0s into the measured load), not replaced",
		"Nothing replaced the killed workers.",
		"With no worker left, the deployment closed its port in 1 and new connections were refused in 1 of 1 trial.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("findings lack %q:\n%s", want, got)
		}
	}
}

func ptr(v float64) *float64 { return &v }
