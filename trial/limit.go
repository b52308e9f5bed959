package trial

import (
	"fmt"

	"clusterbench/results"
)

// loadgenLimit says why the load generator, and not the server, limited
// a trial, or returns "" if it did not. An open loop is limited when it
// sent less than its rate. A closed loop is limited when the load
// generator kept nearly all the cores it could use busy, or, sharing the
// machine with the server, when the machine was busy and the load
// generator took a third or more of it: with that CPU the server could
// have served at least half as much again.
func loadgenLimit(rec *results.Trial, loadgenCPUs, machineCPUs int) string {
	if rate := rec.Load.Rate; rate > 0 {
		if rec.RateRPS < 0.95*float64(rate) {
			return fmt.Sprintf("it sent %.0f req/s of the %d requested", rec.RateRPS, rate)
		}
		return ""
	}
	engine := rec.Load.Engine
	lg, server := rec.CPU.LoadgenCores(), rec.CPU.ServerCores()
	usable := float64(loadgenCPUs)
	if rec.Load.Threads > 0 {
		usable = min(usable, float64(rec.Load.Threads))
	}
	if lg >= 0.9*usable {
		return fmt.Sprintf("%s kept %.2f of the %g cores it could use busy", engine, lg, usable)
	}
	if busy := lg + server; rec.Placement == nil && busy >= 0.85*float64(machineCPUs) && lg >= busy/3 && server > 0 {
		return fmt.Sprintf("the %d CPUs were busy and %s took %.2f cores of them (%.0f%%), the server %.2f: with them the server could have served up to %.1f× as much",
			machineCPUs, engine, lg, 100*lg/busy, server, busy/server)
	}
	return ""
}
