package scenarios

import (
	"fmt"
	"time"

	"clusterbench/loadgen"
	"clusterbench/modes"
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
	return &File{Path: name, Name: name, Experiments: []Experiment{e}}, nil
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
		if w < 1 {
			return fmt.Errorf("workers: must be at least 1, got %d", w)
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
	if e.Proxy.Processes < 0 {
		return fmt.Errorf("proxy-processes: must be at least 0, got %d", e.Proxy.Processes)
	}
	if e.Reps < 0 {
		return fmt.Errorf("reps: must be at least 1, got %d", e.Reps)
	}
	for _, h := range e.Handlers {
		if err := h.Check(); err != nil {
			return err
		}
	}
	if e.LoadGen != "" {
		if err := loadgen.CheckEngine(e.LoadGen); err != nil {
			return fmt.Errorf("loadgen: %w", err)
		}
	}
	for _, l := range e.Loads {
		switch {
		case l.Rate < 0:
			return fmt.Errorf("rate: must be at least 0, got %d", l.Rate)
		case l.Duration < time.Millisecond:
			return fmt.Errorf("duration: must be at least 1ms, got %v", l.Duration)
		case l.Warmup < 0:
			return fmt.Errorf("warmup: must be at least 0, got %v", l.Warmup)
		case l.Concurrency < 1:
			return fmt.Errorf("concurrency: must be at least 1, got %d", l.Concurrency)
		case l.MaxConnections < 0:
			return fmt.Errorf("max-connections: must be at least 0, got %d", l.MaxConnections)
		case l.Timeout < time.Millisecond:
			return fmt.Errorf("timeout: must be at least 1ms, got %v", l.Timeout)
		}
	}
	return nil
}
