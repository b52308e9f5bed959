package plan

import (
	"errors"
	"fmt"
	"strings"
)

// MaxNameLen bounds a name: names become file names, benchmark keys and
// table cells, and each of those has a length it can hold.
const MaxNameLen = 64

// nameChars are the characters of a name besides ASCII letters and digits:
// none of them means anything in Markdown, a terminal, a benchmark name or
// a file name. µ is there because default handler names carry durations.
const nameChars = "-_.+µ"

// CheckName says why a user-chosen name (an experiment's, a load's, a
// handler's, a worker app's) cannot be used, or returns nil. A name is
// checked where it is read, so that nothing it reaches can be reshaped by it.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case len(name) > MaxNameLen:
		return fmt.Errorf("name of %d bytes, at most %d allowed", len(name), MaxNameLen)
	}
	for i, r := range name {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune(nameChars, r)) {
			return fmt.Errorf("name %q: letters, digits and %s only, starting with a letter or digit", name, nameChars)
		}
	}
	return nil
}

// checkNames checks every name of the trial.
func (t *Trial) checkNames() error {
	for _, n := range []struct {
		part       Part
		what, name string
	}{
		{"", "experiment", t.Experiment},
		{PartLoad, "load", t.Load.Name},
		{PartHandler, "handler", t.Handler.Name},
	} {
		if err := CheckName(n.name); err != nil {
			return invalid(n.part, "%s: %w", n.what, err)
		}
	}
	if t.App != nil && t.App.Name != "" {
		if err := CheckName(t.App.Name); err != nil {
			return invalid(PartApp, "worker: name: %w", err)
		}
	}
	return nil
}
