package trial

import (
	"time"

	"clusterbench/internal/cputime"
)

// cpuMeter reads the server side's CPU time per role from /proc at the
// start and the end of the measured phase, so that the figures cover
// exactly what was measured: no start-up, warm-up or shutdown.
//
// The server is a process tree: serve itself is the master, with a master
// program of its own (Node's cluster primary) if the mode has one; the
// proxy and everything under it is the proxy; a command serve runs
// against the deployment (serve -- CMD) and everything under it is the
// client, not the server; every other process under serve is a worker.
type cpuMeter struct {
	servePID, masterPID, proxyPID, clientPID int
	start, end                               map[int]roleCPU
	startAt, endAt                           time.Time
	err                                      error
}

type role int

const (
	roleMaster role = iota
	roleProxy
	roleWorker
	roleClient
)

type roleCPU struct {
	role role
	cpu  time.Duration
}

// read takes the reading of the phase's start (measuring true) or end.
func (m *cpuMeter) read(measuring bool) {
	readings, err := m.readTree()
	if err != nil && m.err == nil {
		m.err = err
	}
	if measuring {
		m.start, m.startAt = readings, time.Now()
	} else {
		m.end, m.endAt = readings, time.Now()
	}
}

func (m *cpuMeter) readTree() (map[int]roleCPU, error) {
	tree, err := cputime.Tree(m.servePID)
	if err != nil {
		return nil, err
	}
	readings := make(map[int]roleCPU, len(tree))
	for _, p := range tree { // parents before their children
		r := roleWorker
		switch {
		case p.PID == m.servePID || p.PID == m.masterPID:
			r = roleMaster
		case p.PID == m.proxyPID || readings[p.PPID].role == roleProxy:
			r = roleProxy
		case p.PID == m.clientPID || readings[p.PPID].role == roleClient:
			r = roleClient
		}
		readings[p.PID] = roleCPU{r, p.CPU}
	}
	return readings, nil
}

// serverCPU is the server side's CPU time over the measured phase.
type serverCPU struct {
	master, proxy float64
	workers       map[int]float64 // seconds by worker PID
	seconds       float64         // the phase's wall time
}

// used returns what each role used between the two readings. A process
// started meanwhile counts from zero. One that exited meanwhile counts up
// to its lifetime CPU time in exited (by PID), which its parent learnt
// when it reaped it, or else up to its start reading.
func (m *cpuMeter) used(exited map[int]float64) (serverCPU, error) {
	if m.err != nil {
		return serverCPU{}, m.err
	}
	u := serverCPU{workers: map[int]float64{}, seconds: m.endAt.Sub(m.startAt).Seconds()}
	for pid, s := range m.start {
		if _, running := m.end[pid]; !running && s.role == roleWorker {
			if lifetime, ok := exited[pid]; ok {
				u.workers[pid] = max(0, lifetime-s.cpu.Seconds())
			}
		}
	}
	for pid, e := range m.end {
		d := (e.cpu - m.start[pid].cpu).Seconds()
		switch e.role {
		case roleMaster:
			u.master += d
		case roleProxy:
			u.proxy += d
		case roleWorker:
			u.workers[pid] += d
		}
	}
	return u, nil
}
