package rundir

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestDecide(t *testing.T) {
	for _, tt := range []struct {
		entries []string
		claim   Claim
		refused string // "" for allowed
	}{
		{nil, New, ""},
		{nil, Replace, ""},
		{nil, Continue, "no run to continue"},
		{[]string{"results.json", "report.md"}, New, "already holds a run"},
		{[]string{"results.json"}, Replace, ""},
		{[]string{"results.json"}, Continue, ""},
		{[]string{"notes.txt"}, New, "not empty"},
		{[]string{"notes.txt"}, Replace, "not empty"},
		{[]string{"notes.txt"}, Continue, "no run to continue"},
	} {
		err := decide("d", tt.entries, tt.claim)
		var r *Refused
		switch {
		case tt.refused == "" && err != nil:
			t.Errorf("decide(%v, %d) = %v; want allowed", tt.entries, tt.claim, err)
		case tt.refused != "" && (!errors.As(err, &r) || !strings.Contains(err.Error(), tt.refused)):
			t.Errorf("decide(%v, %d) = %v; want refused: %s", tt.entries, tt.claim, err, tt.refused)
		}
	}
}

// TestLockNamesItsHolder: while one claim holds a directory, every other
// claim fails at once and names the holder's PID; after Release the
// directory is a run directory that only Replace or Continue may have.
func TestLockNamesItsHolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := Check(dir, New); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("Check created %s", dir)
	}
	lock, err := Acquire(dir, New)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, recordName), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	pid := "PID " + strconv.Itoa(os.Getpid())
	for _, c := range []Claim{New, Replace, Continue} {
		if err := Check(dir, c); err == nil || !strings.Contains(err.Error(), pid) {
			t.Errorf("Check(%d) of a held directory: %v; want refused naming %s", c, err, pid)
		}
		if l, err := Acquire(dir, c); err == nil {
			l.Release()
			t.Errorf("Acquire(%d) of a held directory succeeded", c)
		} else if !strings.Contains(err.Error(), pid) {
			t.Errorf("Acquire(%d) of a held directory: %v; want it to name %s", c, err, pid)
		}
	}
	lock.Release()
	if err := Check(dir, New); err == nil {
		t.Errorf("a new run may have a finished run's directory")
	}
	lock, err = Acquire(dir, Replace)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	if entries, _ := contents(dir); len(entries) != 0 {
		t.Errorf("Replace left %v", entries)
	}
}
