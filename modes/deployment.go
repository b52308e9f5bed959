package modes

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"clusterbench/worker"
)

// Config describes one deployment: a mode, its workers and their app.
type Config struct {
	Addr     string // public address; port 0 picks a free one
	Workers  int
	Handler  worker.Handler
	Launcher worker.Launcher
}

// readyTimeout bounds how long workers may take to start serving.
const readyTimeout = 10 * time.Second

// Deployment is a mode with its workers running.
type Deployment struct {
	frontend Frontend
	workers  []*worker.Process
}

// WorkerResult is one worker's final account.
type WorkerResult struct {
	worker.Counters
	CPUSeconds float64 `json:"cpu_seconds"`
}

// Deploy opens the mode and starts its workers, and returns once every
// worker serves. On error nothing is left running.
func Deploy(ctx context.Context, m Mode, cfg Config) (d *Deployment, err error) {
	if cfg.Workers < 1 {
		return nil, fmt.Errorf("%s: need at least one worker, got %d", m.Name(), cfg.Workers)
	}
	if err := Available(m); err != nil {
		return nil, fmt.Errorf("%s: not available: %w", m.Name(), err)
	}
	fe, err := m.Open(cfg.Addr, cfg.Workers)
	if err != nil {
		return nil, err
	}
	d = &Deployment{frontend: fe}
	defer func() {
		if err != nil {
			d.kill()
		}
	}()
	spinRate := 0.0
	if cfg.Handler.CPU > 0 {
		// Calibrated once here so that every worker does the same work.
		spinRate = worker.Calibrate()
	}
	for i := range cfg.Workers {
		sock, err := fe.WorkerSocket(i)
		if err != nil {
			return d, err
		}
		p, err := cfg.Launcher.Start(worker.Spec{Index: i, Handler: cfg.Handler, SpinRate: spinRate}, sock)
		sock.Close() // the worker has its own copy now
		if err != nil {
			return d, err
		}
		d.workers = append(d.workers, p)
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for _, p := range d.workers {
		if err := p.WaitReady(ctx); err != nil {
			return d, err
		}
	}
	return d, nil
}

// Addr is the address clients connect to.
func (d *Deployment) Addr() string { return d.frontend.Addr() }

// PIDs lists the worker process ids by index.
func (d *Deployment) PIDs() []int {
	pids := make([]int, len(d.workers))
	for i, p := range d.workers {
		pids[i] = p.PID()
	}
	return pids
}

// Stop stops every worker gracefully (killing those that exceed grace),
// releases the frontend, and returns each worker's final counts by index.
// Workers that ended without final counts are reported in the error, with
// their last counts still returned.
func (d *Deployment) Stop(grace time.Duration) ([]WorkerResult, error) {
	// Stop accepting first, so no new connection queues where nobody will serve it.
	closeErr := d.frontend.Close()
	results := make([]WorkerResult, len(d.workers))
	errs := make([]error, len(d.workers))
	var wg sync.WaitGroup
	for i, p := range d.workers {
		wg.Go(func() {
			c, err := p.Stop(grace)
			results[i] = WorkerResult{Counters: c, CPUSeconds: p.CPU().Seconds()}
			errs[i] = err
		})
	}
	wg.Wait()
	return results, errors.Join(append(errs, closeErr)...)
}

// kill ends everything at once; used when a deployment fails to start.
func (d *Deployment) kill() {
	for _, p := range d.workers {
		p.Kill()
	}
	d.frontend.Close()
}
