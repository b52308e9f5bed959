package scenarios

import (
	"fmt"
	"time"

	"clusterbench/modes"
	"clusterbench/plan"
)

// Single builds a one-experiment scenario, e.g. from command-line flags,
// with the same rules a file must follow. name names it in errors.
func Single(name string, e Experiment) (*File, error) {
	fail := func(err error) (*File, error) { return nil, &Error{File: name, Msg: err.Error()} }
	if len(e.Modes) == 0 {
		return fail(fmt.Errorf("no mode given (known: %v)", modes.Names()))
	}
	for _, r := range e.Required {
		if _, err := modes.Lookup(r); err != nil {
			return fail(fmt.Errorf("required: %w", err))
		}
	}
	if err := e.checkRequired(); err != nil {
		return fail(err)
	}
	if err := plan.Limits.Reps.Check(e.Reps); e.Reps != 0 && err != nil {
		return fail(fmt.Errorf("reps: %w", err))
	}
	if e.Name == "" {
		e.Name = name
	}
	e.fillDefaults(1)
	if _, err := e.checkLoadNames(); err != nil {
		return fail(err)
	}
	for _, t := range e.trials(1) {
		if err := t.Validate(); err != nil {
			return fail(err)
		}
	}
	f := &File{Path: name, Name: name, Experiments: []Experiment{e}}
	if err := f.checkRunTime(); err != nil {
		return fail(err)
	}
	return f, nil
}

// checkRunTime refuses a file whose trials would take longer than Limits.Run.
func (f *File) checkRunTime() error {
	var total time.Duration
	for _, t := range f.Trials() {
		total += t.Load.Warmup + t.Load.Duration
	}
	if total > plan.Limits.Run {
		return fmt.Errorf("the trials would measure for %v in all, more than the limit of %v: fewer reps, loads or a shorter duration", total.Round(time.Minute), plan.Limits.Run)
	}
	return nil
}
