package scenarios

import (
	"fmt"

	"clusterbench/loadgen"
	"clusterbench/modes"
	"clusterbench/worker"
)

// Single builds a one-experiment scenario, e.g. from command-line flags,
// with the same rules a file must follow. name names it in errors.
func Single(name string, e Experiment) (*File, error) {
	if err := e.validate(); err != nil {
		return nil, &Error{File: name, Msg: err.Error()}
	}
	if e.Name == "" {
		e.Name = name
	}
	e.fillDefaults(1)
	if _, err := e.checkLoads(); err != nil {
		return nil, &Error{File: name, Msg: err.Error()}
	}
	if e.CPUs != nil {
		if err := e.CPUs.check(); err != nil {
			return nil, &Error{File: name, Msg: err.Error()}
		}
	}
	if err := e.checkFault(); err != nil {
		return nil, &Error{File: name, Msg: err.Error()}
	}
	if e.App != nil {
		if err := e.App.Check(e.Modes); err != nil {
			return nil, &Error{File: name, Msg: err.Error()}
		}
	}
	f := &File{Path: name, Name: name, Experiments: []Experiment{e}}
	if err := f.checkRunTime(); err != nil {
		return nil, &Error{File: name, Msg: err.Error()}
	}
	return f, nil
}

// validate checks the values a file's schema checks line by line.
func (e *Experiment) validate() error {
	if len(e.Modes) == 0 {
		return fmt.Errorf("no mode given (known: %v)", modes.Names())
	}
	for _, m := range e.Modes {
		if _, err := modes.ParseSpec(m); err != nil {
			return err
		}
	}
	for _, w := range e.Workers {
		if err := Limits.Workers.Check(w); err != nil {
			return fmt.Errorf("workers: %w", err)
		}
	}
	for _, r := range e.Required {
		if _, err := modes.Lookup(r); err != nil {
			return fmt.Errorf("required: %w", err)
		}
	}
	if err := e.checkRequired(); err != nil {
		return err
	}
	if err := Limits.ProxyProcesses.Check(e.Proxy.Processes); err != nil {
		return fmt.Errorf("proxy-processes: %w", err)
	}
	if err := Limits.Reps.Check(e.Reps); e.Reps != 0 && err != nil {
		return fmt.Errorf("reps: %w", err)
	}
	for _, h := range e.Handlers {
		if err := CheckHandler(h.Work); err != nil {
			return err
		}
	}
	if e.LoadGen != "" {
		if err := loadgen.CheckEngine(e.LoadGen); err != nil {
			return fmt.Errorf("loadgen: %w", err)
		}
	}
	for _, l := range e.Loads {
		if err := checkLoad(l); err != nil {
			return err
		}
	}
	if e.Fault != nil {
		if err := e.Fault.check(); err != nil {
			return err
		}
	}
	return nil
}

// CheckHandler checks a handler against the limits, naming the flags.
func CheckHandler(h worker.Work) error {
	if err := Limits.BodyBytes.Check(h.BodyBytes); err != nil {
		return fmt.Errorf("body-bytes: %w", err)
	}
	if err := Limits.HandlerCPU.Check(h.CPU); err != nil {
		return fmt.Errorf("handler-cpu: %w", err)
	}
	if err := Limits.HandlerSleep.Check(h.Sleep); err != nil {
		return fmt.Errorf("handler-sleep: %w", err)
	}
	return nil
}

// checkLoad checks a load against the limits, naming the flags.
func checkLoad(l Load) error {
	for _, c := range []struct {
		name string
		err  error
	}{
		{"rate", Limits.Rate.Check(l.Rate)},
		{"duration", Limits.Duration.Check(l.Duration)},
		{"warmup", Limits.Warmup.Check(l.Warmup)},
		{"concurrency", Limits.Concurrency.Check(l.Concurrency)},
		{"max-connections", Limits.MaxConnections.Check(l.MaxConnections)},
		{"timeout", Limits.Timeout.Check(l.Timeout)},
	} {
		if c.err != nil {
			return fmt.Errorf("%s: %w", c.name, c.err)
		}
	}
	return nil
}
