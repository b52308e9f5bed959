package report

import (
	"bytes"
	"strings"
	"testing"

	"clusterbench/results"
)

// Node's modes stand beside their Go siblings in the findings, from the
// medians of the data, and the report says which app each mode ran.
func TestNodeModesBesideTheirGoSiblings(t *testing.T) {
	nodeApp := "Node.js v20 cluster app"
	r := &results.Run{Schema: results.Schema, Complete: true, Host: results.Host{WorkerApp: "Go worker"}, Trials: []results.Trial{
		trial("roundrobin:rotate", 1, 9000, 25, 25, 25, 25),
		trial("roundrobin:free", 1, 8000, 25, 25, 25, 25),
		trial("node-rr", 1, 2000, 25, 25, 25, 25),
		trial("shared", 1, 9000, 40, 20, 20, 20),
		trial("node-none", 1, 7000, 70, 10, 10, 10),
		trial("node-none", 2, 7400, 60, 20, 10, 10),
	}}
	for i := range r.Trials {
		tr := &r.Trials[i]
		tr.CPU = results.CPU{MasterSeconds: 1, ServingSeconds: 2}
		if strings.HasPrefix(tr.Mode, "node") {
			tr.WorkerApp = nodeApp
			tr.CPU.MasterSeconds = 1.8
		}
	}
	got := markdownFindings(r)
	for _, want := range []string{
		"**`node-rr` beside Go's `roundrobin:free`** (a master accepts and hands each connection to a free worker; e, 4 workers, keep-alive on, handler trivial, load max-c32): 2000 vs 8000 req/s (Go 4.0×), p99 0.00 vs 0.00 ms, master 0.90 vs 0.50 cores; top two workers 50% vs 50% of connections",
		"**`node-none` beside Go's `shared`** (every worker accepts on one shared socket; e, 4 workers, keep-alive on, handler trivial, load max-c32): 7200 vs 9000 req/s (Go 1.2×)",
		"top two workers 80% vs 60% of connections",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("findings lack %q:\n%s", want, got)
		}
	}
	r.Trials[0].Counting = "kernel only"
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"- Counting: kernel only, for roundrobin:rotate\n",
		"- Worker app: Go worker, for roundrobin:rotate, roundrobin:free, shared\n",
		"- Worker app: Node.js v20 cluster app, for node-rr, node-none\n",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
