package modes

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"clusterbench/worker"
)

// TestSingleIsOneProcessOfManyThreads deploys single with three workers:
// one process serves every request, started with three threads.
func TestSingleIsOneProcessOfManyThreads(t *testing.T) {
	const workers, requests = 3, 60
	d := deployForTest(t, "single", Config{Workers: workers, Work: worker.Work{BodyBytes: 16}})
	pids := d.PIDs()
	if len(pids) != 1 {
		t.Fatalf("%d worker processes %v; want one", len(pids), pids)
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pids[0]) + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(string(cmdline), "\x00")
	if i := slices.Index(args, "--threads"); i < 0 || i+1 >= len(args) || args[i+1] != strconv.Itoa(workers) {
		t.Errorf("worker started with %q; want --threads %d (its GOMAXPROCS)", args, workers)
	}
	seen := get(t, d.Addr(), requests)
	rep, err := d.Stop(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Workers) != 1 || rep.Workers[0].Requests != requests || seen["0"] != requests {
		t.Errorf("account %+v, client saw %v; want one process that served all %d requests", rep.Workers, seen, requests)
	}
}

func TestProcesses(t *testing.T) {
	for _, tt := range []struct {
		info    Info
		workers int
		want    int
	}{
		{Info{Name: "shared"}, 8, 8},
		{Info{Name: "single", OneProcess: true}, 8, 1},
		{Info{Name: "single", OneProcess: true}, 1, 1},
	} {
		if got := tt.info.Processes(tt.workers); got != tt.want {
			t.Errorf("%s with %d workers: %d processes; want %d", tt.info.Name, tt.workers, got, tt.want)
		}
	}
}
