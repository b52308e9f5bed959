package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"clusterbench/internal/listflag"
	"clusterbench/plan"
	"clusterbench/report"
	"clusterbench/results"
	"clusterbench/scenarios"
	"clusterbench/segment"
)

// The formats split prints without -o.
const (
	formatScript = "script"
	formatPlan   = "plan"
	formatJob    = "job"
)

func cmdSplit(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("split", "split --hosts N|NAMES --url URL [flags] [SCENARIO]\n\n"+
		"Divides one trial's load between load hosts, as k6's execution segments do, for a deployment that\n"+
		"clusterbench serve -o records: with -o DIR it writes DIR/plan.json, DIR/attack.sh (the vegeta attack of\n"+
		"each host: sh attack.sh HOST [RESULTS]) and, with --image, DIR/job.yaml (a Kubernetes Indexed Job).\n"+
		"The load is the flags', or a scenario's: its --experiment's --load.", stderr)
	hosts := fs.String("hosts", "", "the load hosts: how many (named by index, 0 to N-1), or their names, comma-separated")
	sequence := fs.String("sequence", "", "the segments' points from 0 to 1, as k6's --execution-segment-sequence, e.g. 0,1/2,3/4,1 (default: equal segments)")
	target := fs.String("url", "", "the deployment's URL as the load hosts reach it, e.g. http://10.0.0.1:8080/")
	load := plan.DefaultLoad
	fs.IntVar(&load.Rate, "rate", 0, "requests per second in all; 0 = as fast as possible (closed loop)")
	fs.DurationVar(&load.Duration, "duration", load.Duration, "measured duration of the attack")
	fs.DurationVar(&load.Warmup, "warmup", load.Warmup, "warm-up before it, which the workers leave out")
	fs.IntVar(&load.Concurrency, "concurrency", load.Concurrency, "concurrent requests in all at maximum rate; starting attackers at a rate")
	fs.IntVar(&load.MaxConnections, "max-connections", 0, "cap on open connections in all (0 = none)")
	fs.DurationVar(&load.Timeout, "timeout", load.Timeout, "request timeout")
	keepAlive := listflag.Bools(true)
	fs.Var(keepAlive, "keepalive", "keep connections alive: true or false")
	start := fs.String("start", "", "when every host starts, on its own clock: RFC 3339 (2026-12-07T10:00:00Z) or +DURATION from now (+2m); default: when each is started")
	out := fs.String("o", "", "write plan.json, attack.sh and (with --image) job.yaml to `DIR`, an absent or empty directory")
	replace := fs.Bool("replace", false, "with -o: overwrite the files of an earlier split in DIR")
	format := fs.String("format", formatScript, "without -o, what to print: script (attack.sh), plan (plan.json) or job (job.yaml, with --image)")
	image := fs.String("image", "", "job: a container image with vegeta and a POSIX shell")
	jobName := fs.String("job-name", "clusterbench-load", "job: the name of the Job and its ConfigMap")
	claim := fs.String("claim", "clusterbench-results", "job: the PersistentVolumeClaim the pods write their results to")
	experiment := fs.String("experiment", "", "with a scenario: the experiment whose load to divide (default: its only one)")
	loadName := fs.String("load", "", "with a scenario: the experiment's load to divide, by name (default: its only one)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 1:
		return usagef("split: unexpected argument %q", rest[1])
	case len(rest) == 1:
		if load, err = scenarioLoad(fs, rest[0], *experiment, *loadName, keepAlive); err != nil {
			return err
		}
	case *experiment != "" || *loadName != "":
		return usagef("split: --experiment and --load pick a load of a scenario: give its file")
	}
	if len(keepAlive.Values) != 1 {
		return usagef("split: --keepalive: one value, true or false: a split divides one trial")
	}
	names, err := hostNames(*hosts)
	if err != nil {
		return usagef("split: --hosts: %v", err)
	}
	seq := segment.Even(len(names))
	if *sequence != "" {
		if seq, err = segment.ParseSequence(*sequence); err != nil {
			return usagef("split: --sequence: %v", err)
		}
	}
	when, err := startTime(*start, time.Now())
	if err != nil {
		return usagef("split: --start: %v", err)
	}
	p, err := segment.New(segment.Load{URL: *target, Rate: load.Rate, Duration: load.Duration, Warmup: load.Warmup,
		Concurrency: load.Concurrency, MaxConnections: load.MaxConnections, KeepAlive: keepAlive.Values[0], Timeout: load.Timeout, Start: when}, names, seq)
	if err != nil {
		return usagef("split: %v", err)
	}
	job := segment.JobOptions{Name: *jobName, Image: *image, Claim: *claim}
	files := map[string]func(io.Writer) error{
		segment.PlanFile:   func(w io.Writer) error { return segment.WritePlan(w, p) },
		segment.ScriptFile: func(w io.Writer) error { return segment.Script(w, p) },
	}
	if *image != "" || *format == formatJob && *out == "" {
		files[segment.JobFile] = func(w io.Writer) error { return segment.Job(w, p, job) }
	}
	// Everything is rendered before anything is written: a bad --image or
	// --claim is bad input, and leaves nothing behind.
	rendered := map[string][]byte{}
	for name, write := range files {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			return usagef("split: %v", err)
		}
		rendered[name] = b.Bytes()
	}
	if *out == "" {
		name, ok := map[string]string{formatScript: segment.ScriptFile, formatPlan: segment.PlanFile, formatJob: segment.JobFile}[*format]
		if !ok {
			return usagef("split: --format %q: want script, plan or job", *format)
		}
		_, err := stdout.Write(rendered[name])
		return err
	}
	if anyFlag(fs, "format") {
		return usagef("split: --format chooses what to print without -o; -o writes every file")
	}
	if err := writeSplit(*out, rendered, *replace); err != nil {
		return err
	}
	return printSplit(stdout, *out, p, rendered)
}

// scenarioLoad is the load of a scenario's trial that split divides: the
// experiment's load named, with its keep-alive if it has one; the load's
// flags are the scenario's then, not split's.
func scenarioLoad(fs *flag.FlagSet, path, experiment, name string, keepAlive *listflag.List[bool]) (plan.Load, error) {
	var given []string
	fs.Visit(func(f *flag.Flag) {
		if slices.Contains([]string{"rate", "duration", "warmup", "concurrency", "max-connections", "timeout"}, f.Name) {
			given = append(given, "--"+f.Name)
		}
	})
	if len(given) > 0 {
		return plan.Load{}, usagef("split: give a scenario or the load's flags, not both (got %s with %v)", path, given)
	}
	file, err := scenarios.Read(path)
	if err != nil {
		return plan.Load{}, err
	}
	var e *scenarios.Experiment
	var names []string
	for i := range file.Experiments {
		names = append(names, file.Experiments[i].Name)
		if file.Experiments[i].Name == experiment || experiment == "" && len(file.Experiments) == 1 {
			e = &file.Experiments[i]
		}
	}
	if e == nil {
		return plan.Load{}, usagef("split: %s: --experiment: want one of %s", path, strings.Join(names, ", "))
	}
	var l *plan.Load
	names = nil
	for i := range e.Loads {
		names = append(names, e.Loads[i].Name)
		if e.Loads[i].Name == name || name == "" && len(e.Loads) == 1 {
			l = (*plan.Load)(&e.Loads[i])
		}
	}
	switch {
	case l == nil:
		return plan.Load{}, usagef("split: %s: experiment %s: --load: want one of %s", path, e.Name, strings.Join(names, ", "))
	case l.Engine != plan.Vegeta:
		return plan.Load{}, usagef("split: %s: load %s is driven by %s: split writes vegeta attacks", path, l.Name, l.Engine)
	}
	if !anyFlag(fs, "keepalive") {
		if len(e.KeepAlive) != 1 {
			return plan.Load{}, usagef("split: %s: experiment %s runs keep-alive both on and off: give --keepalive", path, e.Name)
		}
		keepAlive.Values = e.KeepAlive
	}
	return *l, nil
}

// hostNames reads --hosts: a number of hosts named by index, or names.
func hostNames(text string) ([]string, error) {
	if text == "" {
		return nil, errors.New("required: how many load hosts, or their names (h1,h2,h3)")
	}
	if n, err := strconv.Atoi(text); err == nil {
		if n < 1 || n > segment.MaxHosts {
			return nil, fmt.Errorf("want 1 to %d hosts, got %d", segment.MaxHosts, n)
		}
		names := make([]string, n)
		for i := range names {
			names[i] = strconv.Itoa(i)
		}
		return names, nil
	}
	names := strings.Split(text, ",")
	if len(names) > segment.MaxHosts {
		return nil, fmt.Errorf("want at most %d hosts, got %d", segment.MaxHosts, len(names))
	}
	return names, nil
}

// startTime reads --start: an RFC 3339 time, or +DURATION from now;
// zero for none.
func startTime(text string, now time.Time) (time.Time, error) {
	if text == "" {
		return time.Time{}, nil
	}
	if d, ok := strings.CutPrefix(text, "+"); ok {
		v, err := time.ParseDuration(d)
		if err != nil || v <= 0 {
			return time.Time{}, fmt.Errorf("%q: want +DURATION, e.g. +2m", text)
		}
		return now.Add(v), nil
	}
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want an RFC 3339 time (2026-12-07T10:00:00Z) or +DURATION", text)
	}
	if !t.After(now) {
		// The hosts would each start as it is started: not together.
		return time.Time{}, fmt.Errorf("%s is past: want a time to come, by which every host has its script", text)
	}
	return t, nil
}

// writeSplit writes split's files to dir, which must hold none of them
// unless replace.
func writeSplit(dir string, files map[string][]byte, replace bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return usagef("split: -o %s: %v", dir, err)
	}
	splits := []string{segment.PlanFile, segment.ScriptFile, segment.JobFile}
	for _, e := range entries {
		if !replace || !slices.Contains(splits, e.Name()) {
			return usagef("split: -o %s is not empty (it holds %s): choose another, or --replace to overwrite an earlier split", dir, e.Name())
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("split: %w", err)
	}
	if _, ok := files[segment.JobFile]; !ok {
		os.Remove(filepath.Join(dir, segment.JobFile)) // an earlier split's
	}
	for name, data := range files {
		if err := results.WriteFile(filepath.Join(dir, name), data); err != nil {
			return err
		}
	}
	return nil
}

// printSplit says what each host sends, and what was written.
func printSplit(w io.Writer, dir string, p *segment.Plan, files map[string][]byte) error {
	table := report.NewTable(w, false)
	table.Header("host", "index", "segment", "req/s", "concurrency", "max connections")
	for _, h := range p.Hosts {
		rate := strconv.Itoa(h.Rate)
		if p.Rate == 0 {
			rate = "max"
		}
		if err := table.Append(h.Name, strconv.Itoa(h.Index), h.Segment, rate, strconv.Itoa(h.Concurrency), strconv.Itoa(h.MaxConnections)); err != nil {
			return err
		}
	}
	if err := table.Render(); err != nil {
		return err
	}
	written := []string{segment.PlanFile, segment.ScriptFile}
	if _, ok := files[segment.JobFile]; ok {
		written = append(written, segment.JobFile)
	}
	fmt.Fprintf(w, "wrote %s: %s\non each load host: sh %s HOST RESULTS; then: clusterbench merge --plan %s SERVE_DIR RESULTS...\n",
		dir, strings.Join(written, ", "), segment.ScriptFile, filepath.Join(dir, segment.PlanFile))
	return nil
}
