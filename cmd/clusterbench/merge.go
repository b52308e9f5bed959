package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"clusterbench/internal/rundir"
	"clusterbench/internal/shellquote"
	"clusterbench/loadgen"
	"clusterbench/plan"
	"clusterbench/report"
	"clusterbench/results"
	"clusterbench/segment"
	"clusterbench/trial"
)

func cmdMerge(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("merge", "merge [flags] SERVE_DIR [NAME=]RESULTS...\n\n"+
		"Merges the vegeta results of the load hosts that drove a deployment into the record clusterbench serve -o\n"+
		"wrote of it, SERVE_DIR: one trial with the client's latency, errors and count per worker, checked against\n"+
		"the workers' own. A results file names its host by NAME=, else by vegeta's -name, else by its file name.", stderr)
	planPath := fs.String("plan", "", "the plan split wrote (its plan.json, or its directory), to check each host's part against")
	tolerance := fs.Duration("clock-tolerance", trial.DefaultClockTolerance, "how far a load host's clock may be off the server's")
	out := fs.String("o", "", "output directory, absent or empty unless --replace (default results/<timestamp>)")
	replace := fs.Bool("replace", false, "replace the run in the output directory")
	positional, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(positional) < 2 {
		return usagef("merge: want serve's record and at least one results file, got %d arguments", len(positional))
	}
	if *tolerance < 0 || *tolerance > time.Minute {
		return usagef("merge: --clock-tolerance: want 0 to 1m, got %v", *tolerance)
	}
	served, err := results.Read(positional[0])
	if err != nil {
		return usageError{fmt.Errorf("merge: %w", err)}
	}
	if err := mergeable(positional[0], served); err != nil {
		return usageError{err}
	}
	var p *segment.Plan
	if *planPath != "" {
		if p, err = segment.ReadPlan(*planPath); err != nil {
			return usageError{fmt.Errorf("merge: --plan: %w", err)}
		}
	}
	var files []loadgen.ResultsFile
	for _, arg := range positional[1:] {
		f := loadgen.ResultsFile{Path: arg}
		// NAME=FILE, where NAME is a name: a path may hold "=" too.
		if name, path, ok := strings.Cut(arg, "="); ok && plan.CheckName(name) == nil {
			f.Name, f.Path = name, path
		}
		files = append(files, f)
	}
	t := served.Trials[0]
	lg, hosts, err := loadgen.Merge(files, len(t.PerWorker))
	if err != nil { // a file that is not there, or holds no vegeta results
		return usageError{fmt.Errorf("merge: %w", err)}
	}
	if err := nameHosts(hosts, p); err != nil {
		return usageError{fmt.Errorf("merge: %w", err)}
	}
	if lg.Requests == 0 {
		return usageError{fmt.Errorf("merge: the results files hold no results")}
	}

	claim := rundir.New
	if *replace {
		claim = rundir.Replace
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("results", time.Now().Format("20060102-150405"))
	}
	if err := rundir.Check(dir, claim); err != nil {
		return usageError{fmt.Errorf("merge: %w", err)}
	}
	lock, err := acquire("merge", dir, claim)
	if err != nil {
		return err
	}
	defer lock.Release()

	merged := trial.Merge(t, lg, hosts, trial.MergeOptions{Plan: p, ClockTolerance: *tolerance})
	rec := *served
	rec.Trials = []results.Trial{merged}
	rec.Scenario = "clusterbench serve, then merge"
	rec.ScenarioText = strings.TrimRight(served.ScenarioText, "\n") + "\n" + shellquote.Join(append([]string{"clusterbench", "merge"}, args...))
	if err := results.Save(dir, &rec); err != nil {
		return err
	}
	if err := report.Write(dir, &rec); err != nil {
		return err
	}
	if err := report.WriteTerminal(stdout, &rec); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwrote %s: %s, %s, %s, %s and %d plots\n", dir, results.FileName, report.FileName,
		report.HTMLFileName, report.BenchFileName, len(report.Plots(&rec)))
	if merged.CountsDisagree() {
		return fmt.Errorf("merge: the load hosts' results and the workers' counts disagree (%d mismatches); see %s", len(merged.Mismatches), filepath.Join(dir, report.FileName))
	}
	return nil
}

// mergeable checks that r is a record of serve -o, whose one trial
// measured something.
func mergeable(dir string, r *results.Run) error {
	if len(r.Trials) != 1 || r.Trials[0].Origin != results.OriginServe {
		if len(r.Trials) == 1 && r.Trials[0].Origin == results.OriginMerge {
			return fmt.Errorf("merge: %s is a merged record already: merge into the record serve -o wrote", dir)
		}
		return fmt.Errorf("merge: %s is not a record of clusterbench serve -o (one trial of the server's side): nothing to merge into", dir)
	}
	if t := r.Trials[0]; t.Failed() {
		return fmt.Errorf("merge: %s: serve counted nothing: %s", dir, t.Error)
	}
	return nil
}

// nameHosts checks the hosts' names: one file per host and, with a plan,
// each one of the plan's hosts, named as the plan names it.
func nameHosts(hosts []loadgen.HostResult, p *segment.Plan) error {
	seen := map[string]string{}
	for i := range hosts {
		h := &hosts[i]
		if p != nil {
			ph, ok := p.Host(h.Name)
			if !ok {
				names := make([]string, len(p.Hosts))
				for j, x := range p.Hosts {
					names[j] = x.Name
				}
				return fmt.Errorf("%s: its host %q is not in the plan (hosts: %s); name it NAME=%s", h.Path, h.Name, strings.Join(names, ", "), h.Path)
			}
			h.Name = ph.Name
		}
		if other, ok := seen[h.Name]; ok {
			return fmt.Errorf("%s and %s both hold host %s's results: name them NAME=FILE", other, h.Path, h.Name)
		}
		seen[h.Name] = h.Path
	}
	return nil
}
