package report

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"time"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"clusterbench/analysis"
	"clusterbench/results"
)

// A record of serve has the workers' own count second by second, and a
// merged one each load host's results too: drawn on one time axis, they
// show the load the hosts sent as the workers served it, and a host that
// stopped early as a line that ends.

// servedTrials are the trials of conds with the workers' own series.
func servedTrials(conds []*analysis.Condition) []*results.Trial {
	var out []*results.Trial
	for _, c := range conds {
		for _, p := range c.Points {
			for _, t := range p.Trials {
				if t.Served != nil {
					out = append(out, t)
				}
			}
		}
	}
	return out
}

// hostColours are the load hosts' lines, after the workers' black.
var hostColours = []color.Color{rgb(0x4e79a7), rgb(0xf28e2b), rgb(0x59a14f), rgb(0xe15759), rgb(0xb07aa1), rgb(0x76b7b2), rgb(0xedc948), rgb(0x9c755f)}

// maxHostLines bounds the hosts drawn one by one; past it only their sum is.
var maxHostLines = len(hostColours)

// servedFigure draws, per trial, the requests the workers counted in each
// second on the server's clock, and the results each load host got in
// each second on its own, from the earlier of the two starts.
func servedFigure(exp string, trials []*results.Trial) *figure {
	f := &figure{title: exp + ": requests per second, as the workers counted them and as the load hosts got them", cols: panelCols(len(trials))}
	f.legend = append(f.legend, legendEntry{label: "workers (server's clock)", color: color.Black})
	hostsDrawn := 0
	for _, t := range trials {
		hostsDrawn = max(hostsDrawn, len(t.LoadHosts))
	}
	if hostsDrawn > 0 {
		f.legend = append(f.legend, legendEntry{label: "all load hosts", color: rgb(0x9d9d9d), dashes: []vg.Length{vg.Points(5), vg.Points(3)}})
	}
	for _, t := range trials {
		for i, h := range t.LoadHosts[:min(len(t.LoadHosts), maxHostLines)] {
			if i >= len(f.legend)-2 {
				f.legend = append(f.legend, legendEntry{label: "load host " + h.Name, color: hostColours[i]})
			}
		}
	}
	for _, t := range trials {
		origin := t.Served.Start // a whole second, as the hosts' bins start at one
		if start := t.Started.Truncate(time.Second); len(t.LoadHosts) > 0 && start.Before(origin) {
			origin = start
		}
		p := newPanel(fmt.Sprintf("%s rep %d: seconds from %s UTC", t.Label(), t.Rep, origin.UTC().Format("15:04:05")), "seconds", "requests per second", false)
		highest := 0.0
		// Steps, each a second's count over that second; the last point
		// closes the last second.
		addLine := func(xys plotter.XYs, c color.Color, dashes []vg.Length, width float64) {
			if len(xys) == 0 {
				return
			}
			last := xys[len(xys)-1]
			line, err := plotter.NewLine(append(xys, plotter.XY{X: last.X + 1, Y: last.Y}))
			if err != nil {
				return
			}
			line.StepStyle = plotter.PostStep
			line.Color, line.Dashes, line.Width = c, dashes, vg.Points(width)
			p.Add(line)
			for _, xy := range xys {
				highest = math.Max(highest, xy.Y)
			}
		}
		shift := t.Served.Start.Sub(origin).Seconds()
		var workers plotter.XYs
		for _, s := range t.Served.Seconds {
			var n uint64
			for _, c := range s.Requests {
				n += c
			}
			workers = append(workers, plotter.XY{X: shift + s.T, Y: float64(n) / s.Seconds})
		}
		addLine(workers, color.Black, nil, 2)
		if len(t.LoadHosts) > 0 {
			shift := t.Started.Truncate(time.Second).Sub(origin).Seconds()
			var all []float64
			for i, h := range t.LoadHosts {
				var xys plotter.XYs
				for sec, n := range h.PerSecond {
					xys = append(xys, plotter.XY{X: shift + float64(sec), Y: float64(n)})
					for len(all) <= sec {
						all = append(all, 0)
					}
					all[sec] += float64(n)
				}
				if i < maxHostLines {
					addLine(xys, hostColours[i], nil, 1.2)
				}
			}
			var sum plotter.XYs
			for sec, n := range all {
				sum = append(sum, plotter.XY{X: shift + float64(sec), Y: n})
			}
			addLine(sum, rgb(0x9d9d9d), []vg.Length{vg.Points(5), vg.Points(3)}, 1.5)
		}
		headroom(p, highest)
		p.Y.Min = 0
		f.panels = append(f.panels, p)
	}
	return f
}

// loadHostsNote explains the load hosts table.
const loadHostsNote = "Each load host's part of the merged trial, as its vegeta results hold it. Times are seconds from the first request any host sent, " +
	"each on its host's own clock. Sent is requests sent per second from its first to its last. The server's clock ahead is how far it was ahead of the host's, " +
	"as the Date headers of the host's responses bound it, and within how much either way. A host whose part is missing is named, with what is missing; " +
	"its requests that reached the server are in the workers' counts but in no host's results."

// writeLoadHosts writes the table of each merged trial's load hosts.
func writeLoadHosts(w io.Writer, trials []*results.Trial) error {
	for _, t := range trials {
		if len(t.LoadHosts) == 0 {
			continue
		}
		fmt.Fprintf(w, "### Load hosts\n\n%s\n\n", loadHostsNote)
		table := NewTable(w, true)
		table.Header("host", "file", "segment", "planned req/s", "sent req/s", "requests", "errors", "p99 ms", "first s", "last sent s", "server's clock ahead ms", "missing")
		seconds := func(at time.Time) string {
			if at.IsZero() {
				return unknown
			}
			return fmt.Sprintf("%.3f", at.Sub(t.Started).Seconds())
		}
		for _, h := range t.LoadHosts {
			planned := unknown
			if h.PlannedRate > 0 {
				planned = fmt.Sprint(h.PlannedRate)
			} else if h.Segment != "" {
				planned = "max"
			}
			missing := h.Missing
			if missing == "" {
				missing = "none"
			}
			clock := unknown
			if h.ClockOffsetMs != nil {
				clock = fmt.Sprintf("%+.1f ±%.1f", *h.ClockOffsetMs, h.ClockErrorMs)
			}
			if err := table.Append(h.Name, cmpOrUnknown(h.File), cmpOrUnknown(h.Segment), planned, fmt.Sprintf("%.0f", h.RateRPS),
				fmt.Sprint(h.Requests), fmt.Sprint(h.Errors), fmt.Sprintf("%.2f", h.P99Ms), seconds(h.First), seconds(h.LastSent), clock, missing); err != nil {
				return err
			}
		}
		if err := table.Render(); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	return nil
}

func cmpOrUnknown(s string) string {
	if s == "" {
		return unknown
	}
	return s
}

// workerCountsNote explains the table of counts per worker.
const workerCountsNote = "Each worker's count of a merged trial from both sides: the responses and connections the load hosts' results hold, " +
	"and what the worker counted itself over the hosts' window (warm-up left out on both sides). They must be equal; the mismatches say where they are not, and why."

// writeWorkerCounts writes, for each merged trial, both sides' counts
// worker by worker.
func writeWorkerCounts(w io.Writer, trials []*results.Trial) error {
	for _, t := range trials {
		if t.Origin != results.OriginMerge {
			continue
		}
		fmt.Fprintf(w, "### Counts per worker\n\n%s\n\n", workerCountsNote)
		table := NewTable(w, true)
		table.Header("worker", "requests: load hosts", "requests: worker", "connections: load hosts", "connections: worker")
		var hostsReq, workerReq, hostsConn, workerConn uint64
		for _, c := range t.PerWorker {
			hostsReq, workerReq, hostsConn, workerConn = hostsReq+c.Requests, workerReq+c.WorkerRequests, hostsConn+c.Connections, workerConn+c.WorkerConnections
			if err := table.Append(fmt.Sprint(c.Index), fmt.Sprint(c.Requests), fmt.Sprint(c.WorkerRequests), fmt.Sprint(c.Connections), fmt.Sprint(c.WorkerConnections)); err != nil {
				return err
			}
		}
		table.Footer("all", fmt.Sprint(hostsReq), fmt.Sprint(workerReq), fmt.Sprint(hostsConn), fmt.Sprint(workerConn))
		if err := table.Render(); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	return nil
}
