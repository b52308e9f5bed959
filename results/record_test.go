package results

import (
	"os"
	"path/filepath"
	"runtime"
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

func TestReadRefusesRecordsWithoutFigures(t *testing.T) {
	measured := `{"experiment": "e", "mode": "shared", "workers": 2, "requests": 10, "throughput_rps": 5, "duration_seconds": 2}`
	for _, tt := range []struct {
		name, trials, want string // want "" reads
	}{
		{"measured", measured, ""},
		{"failed, with its error", `{"experiment": "e", "mode": "shared", "workers": 2, "error": "connection refused"}`, ""},
		{"empty object", `{}`, "trial 1: no mode"},
		{"second empty", measured + `, {}`, "trial 2: no mode"},
		{"no workers", `{"experiment": "e", "mode": "shared", "requests": 10}`, "trial 1: 0 workers, want 1 to 1024"},
		{"absurd workers", `{"experiment": "e", "mode": "shared", "workers": 100000000, "requests": 10}`, "trial 1: 100000000 workers"},
		{"no figures, no error", `{"experiment": "e", "mode": "shared", "workers": 2}`, "trial 1: neither an error nor any figure"},
		{"no experiment", `{"mode": "shared", "workers": 2, "requests": 10}`, "trial 1: no experiment"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			if err := os.WriteFile(path, []byte(`{"schema": 2, "trials": [`+tt.trials+`]}`), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Read(path)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), path+": "+tt.want)) {
				t.Errorf("Read = %v; want %q after the file's name", err, tt.want)
			}
		})
	}
}

// Read is bounded in memory: a record of more trials or values than any
// run records is refused while its tokens are counted, before it is decoded.
func TestReadIsBounded(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	manyTrials := write("trials.json", `{"schema": 2, "trials": [`+strings.Repeat(`{},`, MaxTrials)+`{}]}`)
	manyValues := write("values.json", `{"schema": 2, "skipped": [`+strings.Repeat(`[],`, MaxValues)+`[]], "trials": []}`)
	nested := write("nested.json", `{"schema": 2, "x": {"trials": [`+strings.Repeat(`{},`, MaxTrials)+`{}]}, "trials": []}`)
	for _, tt := range []struct{ path, want string }{
		{manyTrials, "more than 100000 trials"},
		{manyValues, "more than 1000000 objects and arrays"},
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := Read(tt.path)
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Read(%s) = %v; want %q", filepath.Base(tt.path), err, tt.want)
		}
		if grown := after.TotalAlloc - before.TotalAlloc; grown > 200<<20 {
			t.Errorf("Read(%s) allocated %d MiB before refusing", filepath.Base(tt.path), grown>>20)
		}
	}
	// Only the top-level "trials" are trials; another key's array is not.
	if _, err := Read(nested); err != nil {
		t.Errorf("Read of a record with an unknown key holding many objects = %v; want it read", err)
	}
	big, err := os.Create(filepath.Join(dir, "big.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(MaxFileBytes + 1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	big.Close()
	if _, err := Read(big.Name()); err == nil || !strings.Contains(err.Error(), "larger than 256 MiB") {
		t.Errorf("Read of a file too large = %v", err)
	}
}
