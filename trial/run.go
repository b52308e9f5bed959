package trial

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"clusterbench/internal/netns"
	"clusterbench/internal/tail"
	"clusterbench/modes"
	"clusterbench/plan"
	"clusterbench/results"
	"clusterbench/scenarios"
)

// Runner runs a scenario's trials one after another and records them.
type Runner struct {
	Command    []string // re-runs this executable
	Dir        string   // where results.json is kept
	ProfileDir string   // "" for no profiles
	Isolate    bool     // each trial in a private network namespace
	Isolation  string   // where trials run, for the report
	Stderr     io.Writer
	// Continue is an interrupted run of the same scenario (see
	// CheckContinue): its trials are kept and only the missing ones run.
	Continue *results.Run
	progress *progress
	// availability caches why each mode cannot run (nil: it can).
	availability map[string]error
}

// Outcome counts what kept a run from being a success.
type Outcome struct {
	Trials          int // in the scenario
	Failed          int
	RequiredSkipped int // trials of required modes that could not run here
}

// Isolation decides where trials run, and says so for the report.
func Isolation(wanted bool) (isolate bool, description string) {
	if !wanted {
		return false, "host loopback (127.0.0.1): private network namespaces turned off"
	}
	if err := netns.Available(); err != nil {
		return false, "host loopback (127.0.0.1): private network namespaces not allowed here: " + err.Error()
	}
	return true, "private network namespace per trial (its own loopback, 127.0.0.1)"
}

// Run measures the scenario's trials, each in a process of its own, and
// saves the record after each one, so that an interrupted run keeps what
// it measured. It returns the saved record; rendering it is the caller's.
func (r *Runner) Run(ctx context.Context, file *scenarios.File) (*results.Run, Outcome, error) {
	if r.progress == nil {
		r.progress = newProgress(r.Stderr)
	}
	trials := file.Trials()
	out := Outcome{Trials: len(trials)}
	rec := &results.Run{
		Schema:         results.Schema,
		Scenario:       file.Path,
		ScenarioText:   file.Source,
		ScenarioDigest: digest(trials),
		Started:        time.Now(),
		Host:           hostInfo(r.Isolation),
		Trials:         []results.Trial{},
		Compare:        compareSettings(file.Compare),
	}
	done := 0
	if r.Continue != nil {
		rec, done = r.Continue, recorded(r.Continue)
		for _, tr := range rec.Trials {
			if tr.Failed() {
				out.Failed++
			}
		}
		for _, s := range rec.Skipped {
			if s.Required {
				out.RequiredSkipped += s.Trials
			}
		}
	}
	if err := results.Save(r.Dir, rec); err != nil {
		return nil, out, err
	}
	for i, t := range trials {
		if ctx.Err() != nil {
			break
		}
		if i < done {
			continue // measured, or skipped, by the run continued
		}
		if err := r.unavailable(t.Mode); err != nil {
			if t.Required {
				out.RequiredSkipped++
			}
			rec.Skipped = skip(rec.Skipped, t, err)
			r.progress.skip(i, len(trials), t, err)
			continue
		}
		notePrograms(&rec.Host, t) // before the trial, so a failed one still says what it ran
		r.progress.start(i, len(trials), t)
		tr, finished := r.trial(ctx, i, len(trials), t)
		if !finished {
			break // an interrupted trial is not a measurement
		}
		if tr.Failed() {
			out.Failed++
		}
		rec.Trials = append(rec.Trials, tr)
		r.progress.done(i, len(trials), t, &tr)
		if err := results.Save(r.Dir, rec); err != nil {
			return nil, out, err
		}
	}
	// Complete when every trial was measured or skipped: an interrupted
	// trial, ours or only the trial process's (a signal of its own), is not.
	rec.Complete = recorded(rec) == len(trials)
	rec.Finished = time.Now()
	if err := results.Save(r.Dir, rec); err != nil {
		return nil, out, err
	}
	return rec, out, nil
}

// CheckContinue says whether prev, a saved record, is an interrupted run
// of file that Run may continue.
func CheckContinue(prev *results.Run, file *scenarios.File) error {
	trials := file.Trials()
	switch {
	case prev.Complete:
		return fmt.Errorf("the run is complete: there is nothing to continue")
	case prev.Schema != results.Schema:
		return fmt.Errorf("the run was recorded in schema %d, this clusterbench writes %d", prev.Schema, results.Schema)
	case prev.ScenarioDigest == "":
		return fmt.Errorf("the run does not record which trials its scenario had, so it cannot be continued")
	case prev.ScenarioDigest != digest(trials):
		return fmt.Errorf("the run is of another scenario (%s), or of this one with other settings", prev.Scenario)
	case recorded(prev) > len(trials):
		return fmt.Errorf("the run records %d trials, more than the scenario's %d", recorded(prev), len(trials))
	}
	return nil
}

// recorded is how many of a run's trials it finished or skipped: Run takes
// them in order, so they are the first ones of its scenario.
func recorded(r *results.Run) int {
	n := len(r.Trials)
	for _, s := range r.Skipped {
		n += s.Trials
	}
	return n
}

// digest fingerprints a scenario by the trials it expands to.
func digest(trials []plan.Trial) string {
	data, err := json.Marshal(trials)
	if err != nil {
		panic(err) // plain data: cannot fail
	}
	return fmt.Sprintf("sha256:%x", sha256.Sum256(data))
}

// compareSettings is a scenario's compare section as results.json keeps
// it; nil for none.
func compareSettings(c *scenarios.Compare) *results.CompareSettings {
	if c == nil {
		return nil
	}
	s := &results.CompareSettings{Reference: c.Reference, Gate: c.Gate, Alpha: c.Alpha}
	if len(c.Thresholds) > 0 {
		s.Thresholds = c.Thresholds
	}
	return s
}

// unavailable says why a mode cannot run in this run, or returns nil.
// The answer is the same for every trial, so it is found once per mode.
func (r *Runner) unavailable(spec modes.Spec) error {
	mode := spec.String()
	if err, ok := r.availability[mode]; ok {
		return err
	}
	var err error
	if spec.PrivateNetwork() && !r.Isolate {
		err = fmt.Errorf("needs a private network namespace, but trials run on the %s", r.Isolation)
	} else if err = modes.SpecAvailable(spec); err != nil {
		err = fmt.Errorf("not available: %w", err)
	}
	if r.availability == nil {
		r.availability = map[string]error{}
	}
	r.availability[mode] = err
	return err
}

// skip counts a skipped trial under its experiment and mode.
func skip(skipped []results.Skipped, t plan.Trial, why error) []results.Skipped {
	mode := t.Mode.String()
	for i := range skipped {
		if s := &skipped[i]; s.Experiment == t.Experiment && s.Mode == mode {
			s.Trials++
			return skipped
		}
	}
	return append(skipped, results.Skipped{Experiment: t.Experiment, Mode: mode, Reason: why.Error(), Trials: 1, Required: t.Required})
}

// trial measures one trial in a process of its own (see Child), in a
// private network namespace if the run has them.
// finished is false if ctx interrupted it; a failed trial is finished.
func (r *Runner) trial(ctx context.Context, i, n int, t plan.Trial) (results.Trial, bool) {
	req := Request{Index: i, Total: n, Trial: t, Terminal: r.progress.terminal}
	if r.ProfileDir != "" {
		req.Profile = filepath.Join(r.ProfileDir, fmt.Sprintf("%03d-%s.pprof", i+1, strings.ReplaceAll(t.Mode.String(), ":", "-")))
	}
	body, err := json.Marshal(req)
	if err != nil {
		panic(err) // plain data: cannot fail
	}
	command := r.Command
	if t.Bin != "" {
		command = []string{t.Bin} // another build measures its own variant
	}
	cmd := exec.CommandContext(ctx, command[0], append(command[1:], Command)...)
	cmd.Stdin = bytes.NewReader(body)
	var out bytes.Buffer
	var errTail tail.Buffer
	cmd.Stdout = &out
	cmd.Stderr = io.MultiWriter(r.Stderr, &errTail) // its progress lines, and why it failed
	// Its own process group, so a Ctrl-C reaches it only as our SIGTERM, and
	// killed if we die: it then takes its deployment (and namespace) with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = StopGrace + 10*time.Second // time to stop its deployment
	failed := func(format string, args ...any) (results.Trial, bool) {
		rec := newRecord(t)
		rec.Error = fmt.Sprintf(format, args...)
		return rec, ctx.Err() == nil
	}
	if r.Isolate {
		if err := netns.Isolate(cmd); err != nil {
			return failed("private network namespace: %v", err)
		}
	}
	runErr := cmd.Run()
	var resp Response
	if err := json.Unmarshal(out.Bytes(), &resp); err != nil {
		return failed("trial process: %v: %s", runErr, lastLine(&errTail))
	}
	resp.Trial.Variant = t.Variant // another build may not know the field
	return resp.Trial, resp.Finished
}
