package trial

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"clusterbench/internal/visible"
	"clusterbench/loadgen"
	"clusterbench/plan"
	"clusterbench/results"
)

// progress shows a live line on a terminal and plain periodic lines
// elsewhere (CI logs), where carriage returns would only make noise.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	lastLine time.Time
}

// plainEvery is how often a plain progress line is written during a trial.
const plainEvery = 5 * time.Second

func newProgress(w io.Writer) *progress {
	terminal := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			terminal = true
		}
	}
	return &progress{w: w, terminal: terminal}
}

func trialName(i, n int, t plan.Trial) string {
	ka := "off"
	if t.KeepAlive {
		ka = "on"
	}
	name := fmt.Sprintf("[%d/%d] %s %s workers=%d keep-alive=%s handler=%s load=%s rep %d/%d",
		i+1, n, t.Experiment, t.Mode, t.Workers, ka, t.Handler.Name, t.Load.Name, t.Rep, t.Reps)
	if t.Variant != "" {
		name += " " + t.Variant
	}
	return name
}

func (p *progress) start(i, n int, t plan.Trial) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastLine = time.Now()
	if !p.terminal {
		fmt.Fprintf(p.w, "%s: starting\n", trialName(i, n, t))
	}
}

func (p *progress) skip(i, n int, t plan.Trial, why error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s: skipped: %v\n", trialName(i, n, t), why)
}

func (p *progress) update(i, n int, t plan.Trial, lp loadgen.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	phase := "measuring"
	if lp.Warmup {
		phase = "warming up"
	}
	line := fmt.Sprintf("%s: %s %.1fs/%.0fs", trialName(i, n, t), phase, lp.Elapsed.Seconds(), lp.Duration.Seconds())
	if lp.Counting {
		line += fmt.Sprintf(", %d requests, %d errors", lp.Requests, lp.Errors)
	}
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		return
	}
	if time.Since(p.lastLine) >= plainEvery {
		p.lastLine = time.Now()
		fmt.Fprintln(p.w, line)
	}
}

func (p *progress) done(i, n int, t plan.Trial, tr *results.Trial) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal {
		fmt.Fprint(p.w, "\r\033[K")
	}
	if tr.Failed() {
		fmt.Fprintf(p.w, "%s: failed: %s\n", trialName(i, n, t), visible.Text(tr.Error))
		return
	}
	agree := "counts agree"
	if !tr.CountsAgree {
		agree = fmt.Sprintf("COUNTS DISAGREE (%d)", len(tr.Mismatches))
	}
	fmt.Fprintf(p.w, "%s: %.0f req/s, p99 %.2fms, %d errors, Jain conn %.3f, top-2 conn %.0f%%, %s%s\n",
		trialName(i, n, t), tr.ThroughputRPS, tr.Latency.P99, tr.Errors,
		tr.Fairness.Connections.Jain, 100*tr.Fairness.Connections.Top2Share, agree, damageNote(tr.Fault))
}

// damageNote sums up a fault's damage for the progress line.
func damageNote(f *results.Fault) string {
	if f == nil {
		return ""
	}
	note := fmt.Sprintf("; killed %d: %d lost", f.Kill, f.LostRequests)
	switch {
	case f.RecoverySeconds != nil:
		note += fmt.Sprintf(", a replacement served after %.0f ms", 1000**f.RecoverySeconds)
	case f.PortClosedSeconds != nil:
		note += ", port closed"
	}
	return note
}
