package trial

import (
	"errors"
	"testing"
	"time"
)

func TestCPUMeterUsed(t *testing.T) {
	start := time.Unix(1000, 0)
	at := func(r role, ms int) roleCPU { return roleCPU{role: r, cpu: time.Duration(ms) * time.Millisecond} }
	for _, tt := range []struct {
		name       string
		start, end map[int]roleCPU
		exited     map[int]float64
		want       serverCPU
	}{
		{"each role between the readings",
			map[int]roleCPU{1: at(roleMaster, 100), 2: at(roleProxy, 50), 3: at(roleWorker, 200), 4: at(roleWorker, 300)},
			map[int]roleCPU{1: at(roleMaster, 300), 2: at(roleProxy, 150), 3: at(roleWorker, 1200), 4: at(roleWorker, 1300)},
			nil,
			serverCPU{master: 0.2, proxy: 0.1, workers: map[int]float64{3: 1, 4: 1}, seconds: 2}},
		{"a worker started meanwhile counts from zero",
			map[int]roleCPU{1: at(roleMaster, 0)},
			map[int]roleCPU{1: at(roleMaster, 0), 5: at(roleWorker, 400)},
			nil,
			serverCPU{workers: map[int]float64{5: 0.4}, seconds: 2}},
		{"a worker that exited counts up to its lifetime",
			map[int]roleCPU{1: at(roleMaster, 0), 3: at(roleWorker, 200)},
			map[int]roleCPU{1: at(roleMaster, 0)},
			map[int]float64{3: 0.7},
			serverCPU{workers: map[int]float64{3: 0.5}, seconds: 2}},
		{"one whose lifetime is unknown counts nothing",
			map[int]roleCPU{1: at(roleMaster, 0), 3: at(roleWorker, 200)},
			map[int]roleCPU{1: at(roleMaster, 0)},
			nil,
			serverCPU{workers: map[int]float64{}, seconds: 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := &cpuMeter{start: tt.start, end: tt.end, startAt: start, endAt: start.Add(2 * time.Second)}
			got, err := m.used(tt.exited)
			if err != nil {
				t.Fatal(err)
			}
			if !approxCPU(got, tt.want) {
				t.Errorf("used %+v; want %+v", got, tt.want)
			}
		})
	}
	failed := &cpuMeter{err: errors.New("no /proc")}
	if _, err := failed.used(nil); err == nil {
		t.Error("a meter that could not read: no error")
	}
}

func approxCPU(a, b serverCPU) bool {
	near := func(x, y float64) bool { return x-y < 1e-9 && y-x < 1e-9 }
	if !near(a.master, b.master) || !near(a.proxy, b.proxy) || !near(a.seconds, b.seconds) || len(a.workers) != len(b.workers) {
		return false
	}
	for pid, s := range a.workers {
		if w, ok := b.workers[pid]; !ok || !near(s, w) {
			return false
		}
	}
	return true
}
