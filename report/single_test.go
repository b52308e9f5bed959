package report

import (
	"bytes"
	"strings"
	"testing"

	"clusterbench/results"
)

// oneProcess is a trial of mode single: one process served as four workers.
func oneProcess(rep int) results.Trial {
	t := trial("single", rep, 1500, 800)
	t.Workers, t.Threads = 4, 4
	t.Fairness = results.FairnessPair{} // not computed for one process
	t.Handler.Tail = results.HandlerTail{Fraction: 0.01, CPUMicros: 10000}
	return t
}

// TestOneProcessHasNoShares: where one process served as every worker,
// the report says that shares do not apply instead of showing Jain's 1 or
// a top-2 share of 100%, and bench.txt leaves the fairness figures out.
func TestOneProcessHasNoShares(t *testing.T) {
	r := &results.Run{Schema: results.Schema, Trials: []results.Trial{
		oneProcess(1), trial("reuseport", 1, 1000, 300, 200, 200, 100),
	}}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	var single, reuseport string
	for _, line := range strings.Split(md.String(), "\n") {
		switch {
		case strings.HasPrefix(line, "| single "):
			single = line
		case strings.HasPrefix(line, "| reuseport "):
			reuseport = line
		}
	}
	if n := strings.Count(single, "n/a: one process"); n != fairnessColumns {
		t.Errorf("single's row says n/a %d times; want in all %d fairness columns: %s", n, fairnessColumns, single)
	}
	if strings.Contains(reuseport, "n/a") || reuseport == "" {
		t.Errorf("reuseport's row %q; want its fairness shown", reuseport)
	}
	if want := "1% of requests cost 10000µs CPU instead"; !strings.Contains(md.String(), want) {
		t.Errorf("report lacks the handler's tail %q", want)
	}

	var bench bytes.Buffer
	if err := WriteBench(&bench, r); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(bench.String(), "\n") {
		isSingle := strings.Contains(line, "mode=single")
		if strings.HasPrefix(line, "Benchmark") && strings.Contains(line, "jain-connections") == isSingle {
			t.Errorf("bench line %q: want Jain for reuseport only", line)
		}
	}
}
