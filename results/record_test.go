package results

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestSaveAndReadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	tr := Trial{Experiment: "e", Rep: 1, Mode: "shared", Workers: 2, ThroughputRPS: 5,
		PerWorker: []WorkerCounts{{Index: 0, Requests: 1, Connections: 1}, {Index: 1, Requests: 2, Connections: 2}},
		Fairness:  FairnessPair{Requests: Fairness{Jain: 0.9, Top2Share: 1, MaxShare: 2.0 / 3, MinShare: 1.0 / 3}}}
	r := &Run{Schema: Schema, Scenario: "s", Complete: true, Trials: []Trial{tr}}
	if err := Save(dir, r); err != nil {
		t.Fatal(err)
	}
	got, err := Read(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Trials) != 1 || got.Trials[0].PerWorker[1].Requests != 2 || !got.Complete || got.Trials[0].Fairness != tr.Fairness {
		t.Errorf("read back %+v", got)
	}
	r.Schema = 99
	Save(dir, r)
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "schema 99, this clusterbench reads schemas 1 to 2") {
		t.Errorf("Read of a future schema = %v; want a schema error", err)
	}
}
