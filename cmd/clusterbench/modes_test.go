package main

import (
	"errors"
	"testing"

	"clusterbench/modes"
)

// lackingMode has a policy that cannot run anywhere: what `modes` shows
// for a policy the host lacks, such as EPOLLEXCLUSIVE before Linux 4.5.
type lackingMode struct{ modes.Shared }

func (lackingMode) PolicyAvailable(policy string) error {
	if policy == "exclusive" {
		return errors.New("EPOLLEXCLUSIVE not supported by this kernel")
	}
	return nil
}

func TestDescribePolicies(t *testing.T) {
	for _, tt := range []struct {
		mode modes.Mode
		want string
	}{
		{modes.Single{}, "-"},
		{modes.RoundRobin{}, "free (default), rotate"},
		{lackingMode{}, "race (default), exclusive (not here: EPOLLEXCLUSIVE not supported by this kernel), blocking"},
	} {
		if got := describePolicies(tt.mode); got != tt.want {
			t.Errorf("%s: %q; want %q", tt.mode.Info().Name, got, tt.want)
		}
	}
}
