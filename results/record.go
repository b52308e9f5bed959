// Package results is the run record, the source of truth of a run, and
// its Read and Save: the on-disk contract results.json.
//
// results.json is a contract read by other tools and by the CI job: fields
// are only ever added, and Schema changes when a field changes meaning.
// The record holds what was measured, never a judgement of it: package
// analysis judges it and package report renders it, from the record alone,
// so a report can be rendered again later. Trials are saved as they finish,
// so an interrupted run keeps what it measured. This package imports no
// other package of clusterbench.
package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Schema is the version of the results.json format this clusterbench
// writes. Schema 2 measures CPU over the measured phase only (schema 1:
// over the deployment's life) and adds loadgen_bound, placement and the
// load generator's peak memory.
const Schema = 2

// OldestSchema is the oldest version Read still accepts: what changed
// since is documented on Schema, and reports render both.
const OldestSchema = 1

// Run is everything one `clusterbench run` measured.
type Run struct {
	Schema   int    `json:"schema"`
	Scenario string `json:"scenario"`
	// ScenarioText is the scenario as it was run: the file's full text, or
	// for a run built from flags its command line, so a report says what
	// was measured without the file; "" in older records.
	ScenarioText string `json:"scenario_text,omitempty"`
	// ScenarioDigest fingerprints the scenario's trials, so that a run is
	// continued only by the same scenario.
	ScenarioDigest string    `json:"scenario_digest,omitempty"`
	Started        time.Time `json:"started"`
	Finished       time.Time `json:"finished,omitzero"`
	// Complete is false while the run goes on, and stays false if it was interrupted.
	Complete bool    `json:"complete"`
	Host     Host    `json:"host"`
	Trials   []Trial `json:"trials"`
	// Skipped lists modes that could not run on this host, and why.
	Skipped []Skipped `json:"skipped,omitempty"`
	// Compare is how `clusterbench compare` judges a later run against this
	// one, its baseline: the scenario's compare section.
	Compare *CompareSettings `json:"compare,omitempty"`
}

// CompareSettings say which metrics a comparison against this run gates
// on and how large a change must be to count; what is left out takes
// the defaults of `clusterbench compare`.
type CompareSettings struct {
	// Reference is the mode that normalised metrics divide by.
	Reference string `json:"reference,omitempty"`
	// Gate names the metrics whose regression fails the comparison.
	Gate []string `json:"gate,omitempty"`
	// Thresholds is the smallest change that counts, per metric: a
	// fraction of the baseline (0.1 = 10%) or, for fairness and error
	// rate, an absolute difference.
	Thresholds map[string]float64 `json:"thresholds,omitempty"`
	// Alpha is the significance level of the Mann-Whitney U test.
	Alpha float64 `json:"alpha,omitempty"`
}

// Skipped is a mode whose trials were not run.
type Skipped struct {
	Experiment string `json:"experiment"`
	Mode       string `json:"mode"` // MODE or MODE:POLICY
	Reason     string `json:"reason"`
	Trials     int    `json:"trials"`
	// Required is true when the scenario required the mode: the run failed.
	Required bool `json:"required"`
}

// Host describes the machine and conditions of a run.
type Host struct {
	CPUModel  string `json:"cpu_model"`
	CPUs      int    `json:"cpus"`
	Kernel    string `json:"kernel"`
	GoVersion string `json:"go_version"`
	// WorkerApp names the app under test, because accept behaviour differs by runtime.
	WorkerApp string `json:"worker_app"`
	// Isolation says where trials ran, e.g. "host loopback".
	Isolation string `json:"isolation"`
	// MemoryBytes is the machine's memory (MemTotal); 0 when unknown.
	MemoryBytes uint64 `json:"memory_bytes,omitempty"`
	// Programs is the version of each program the run's trials used, by
	// name: nginx, haproxy, node, wrk, vegeta (linked in); a program no
	// trial used is absent, and one that would not say is "unknown".
	Programs map[string]string `json:"programs,omitempty"`
	// Tool is the clusterbench that ran: its module version, or its
	// commit with "+modified" when built from a changed tree; "devel"
	// when the build does not say (go test, go run without VCS).
	Tool string `json:"tool,omitempty"`
}

// Trial is one deployment under one load.
type Trial struct {
	// Variant is the build the trial measured, "base" or "head", in a run
	// that compares two, interleaved; "" in other runs.
	Variant    string `json:"variant,omitempty"`
	Experiment string `json:"experiment"`
	Rep        int    `json:"rep"`
	Mode       string `json:"mode"`
	Policy     string `json:"policy,omitempty"` // how the mode picks a worker, for modes with a choice
	Workers    int    `json:"workers"`
	// Threads is set by a mode that serves from one process (single): it
	// is that process's GOMAXPROCS, equal to Workers, which then counts
	// threads, not processes. PerWorker holds the one process, and
	// Fairness is left zero: per-worker shares do not apply. 0 otherwise.
	Threads   int     `json:"threads,omitempty"`
	KeepAlive bool    `json:"keepalive"`
	Handler   Handler `json:"handler"`
	Load      Load    `json:"load"`
	// Proxy is how a proxy mode's proxy was set up; nil in other modes.
	Proxy *Proxy `json:"proxy,omitempty"`
	// NetNS is true when the trial ran in a private network namespace.
	NetNS bool `json:"netns"`
	// WorkerApp names the app the mode ran, when it is not the run's
	// (Host.WorkerApp): accept behaviour differs by runtime.
	WorkerApp string `json:"worker_app,omitempty"`
	// Placement is the CPUs the load generator and the server were pinned
	// to; nil when they shared every CPU.
	Placement *Placement `json:"placement,omitempty"`
	Started   time.Time  `json:"started"`

	Requests        uint64            `json:"requests"`
	Successes       uint64            `json:"successes"`
	Errors          uint64            `json:"errors"`
	ErrorKinds      map[string]uint64 `json:"error_kinds,omitempty"`
	DurationSeconds float64           `json:"duration_seconds"`
	RateRPS         float64           `json:"rate_rps"`
	ThroughputRPS   float64           `json:"throughput_rps"`
	Latency         Latency           `json:"latency_ms"`
	// LatencyHistogram is the latency of successful requests in
	// microseconds, an HDR histogram in its compressed V2 encoding
	// (base64), so percentile plots re-render from the record alone;
	// empty in records from before it was kept. It covers the measured
	// phase only. With wrk it is wrk's own distribution, from which Latency
	// comes: it includes the requests wrk's coordinated-omission
	// correction adds, so it may count more than Successes.
	LatencyHistogram string `json:"latency_histogram,omitempty"`

	PerWorker []WorkerCounts `json:"per_worker"`
	Fairness  FairnessPair   `json:"fairness"`
	CPU       CPU            `json:"cpu"`
	// ServerCPUPerRequestUs is the server side's CPU time (master, proxy
	// and workers) per successful request while measuring, in
	// microseconds. It hardly depends on the load generator or on how busy
	// the machine is, so it ranks modes by efficiency even where
	// throughput is noisy or the load generator was the limit. 0 when
	// unknown. (Schema 1: over the deployment's life, warm-up included.)
	ServerCPUPerRequestUs float64 `json:"server_cpu_us_per_request"`
	// LoadgenBound is true when the load generator, not the server, was
	// the limit: an open-loop load sent less than its rate, or a closed
	// loop's load generator was out of CPU (see LoadgenBoundReason).
	LoadgenBound       bool   `json:"loadgen_bound"`
	LoadgenBoundReason string `json:"loadgen_bound_reason,omitempty"`
	// LoadgenPeakRSSBytes is the most memory the load generator's process
	// held: the trial process for vegeta, the wrk process for wrk.
	LoadgenPeakRSSBytes uint64 `json:"loadgen_peak_rss_bytes,omitempty"`
	// Frontend is what the master (or proxy) counted, e.g. hand-overs.
	Frontend map[string]uint64 `json:"frontend,omitempty"`
	// Restarts lists workers that exited during the trial, and their replacements.
	Restarts []Restart `json:"restarts,omitempty"`
	// Fault is what was done to the workers while measuring and the damage
	// the client saw; nil for none.
	Fault *Fault `json:"fault,omitempty"`
	// Series is the measured load second by second (vegeta only), as the
	// client saw it: in a merge, all load hosts' together on one time axis.
	Series []Second `json:"series,omitempty"`
	// Origin says where the trial's figures come from: "" for a trial of
	// clusterbench run, which drove the load and counted both sides;
	// OriginServe for the record of clusterbench serve -o, whose load came
	// from elsewhere; OriginMerge when the results of the load hosts that
	// drove it were merged into that record.
	Origin string `json:"origin,omitempty"`
	// Served is the workers' own account second by second, on the
	// server's clock; nil in a trial of clusterbench run.
	Served *Served `json:"served,omitempty"`
	// LoadHosts are the load generators whose results a merge combined,
	// one each; nil unless Origin is OriginMerge.
	LoadHosts []LoadHost `json:"load_hosts,omitempty"`
	// ClientDials is how many connections the client opened while measuring.
	ClientDials uint64 `json:"client_dials"`
	// Unattributed counts successful responses without an X-Worker header.
	Unattributed uint64 `json:"unattributed"`
	// CountsAgree is true when every worker's own counts equal the
	// client's, for every process that gave its final counts.
	CountsAgree bool     `json:"counts_agree"`
	Mismatches  []string `json:"mismatches,omitempty"`
	// CountsAuthority says whose counts the figures stand on: both sides
	// when they agree, the client's for processes that died without final
	// counts (Unreported says what each missed).
	CountsAuthority string `json:"counts_authority,omitempty"`
	// Counting says who counted each worker's share, for the user's own
	// app, which reports no counts: the client (from its X-Worker
	// headers), the kernel (per worker process), or both.
	Counting   string   `json:"counting,omitempty"`
	Unreported []string `json:"unreported,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
	// Error is set when the trial could not be measured.
	Error string `json:"error,omitempty"`
}

// Origins of a trial's figures (see Trial.Origin).
const (
	// OriginServe is the server's side alone: Requests and Successes are
	// what the workers counted, the client's per-worker counts are 0, and
	// latency and errors are unknown.
	OriginServe = "serve"
	// OriginMerge is the server's side with the load hosts' results merged
	// in: the client's figures are theirs, checked against the workers'.
	OriginMerge = "merge"
)

// Served is what the workers counted while clusterbench serve ran, and
// the server's CPU time, second by second. The seconds cover the window,
// from the first second in which a worker counted a request to the last.
type Served struct {
	// Start is the first second's start, on the server's clock.
	Start time.Time `json:"start"`
	// WindowStart and WindowEnd bound the counted requests more finely
	// than the seconds, to a tenth of a second: the throughput and the CPU
	// per request are over this window.
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	// Seconds are the bins; when a window has more seconds than
	// MaxServedBins allows, neighbours are merged and each bin is longer.
	Seconds []ServedSecond `json:"seconds"`
}

// MaxServedSeconds and MaxServedCells bound the bins of Served: past
// either (a bin holds a cell per worker), a long window's bins are merged
// in pairs, so that a server that serves for days keeps a record Read
// accepts and a memory that does not grow with the days.
const (
	MaxServedSeconds = 50_000
	MaxServedCells   = 2_000_000
)

// MaxServedBins is how many bins Served keeps of a deployment of workers.
func MaxServedBins(workers int) int {
	return max(100, min(MaxServedSeconds, MaxServedCells/max(1, workers)))
}

// ServedSecond is what the workers counted in one bin of Served.
type ServedSecond struct {
	// T is the bin's start from Served.Start; Seconds its length.
	T       float64 `json:"t"`
	Seconds float64 `json:"seconds"`
	// Requests and Connections are per worker index: the requests served
	// (warm-up left out) and the connections that carried their first
	// counted request in the bin.
	Requests    []uint64 `json:"requests"`
	Connections []uint64 `json:"connections"`
	// CPUSeconds is the server's CPU time in the bin: master, proxy and
	// workers.
	CPUSeconds float64 `json:"cpu_seconds"`
}

// LoadHost is one load generator's part of a merged trial, as its results
// file holds it. Its times are on its own clock.
type LoadHost struct {
	Name string `json:"name"`
	File string `json:"file"`
	// Segment is its part of the plan (k6's notation, "1/3:2/3"), with the
	// rate and the concurrency the plan gave it; empty without a plan.
	Segment            string `json:"segment,omitempty"`
	PlannedRate        int    `json:"planned_rate,omitempty"`
	PlannedConcurrency int    `json:"planned_concurrency,omitempty"`
	Requests           uint64 `json:"requests"`
	Successes          uint64 `json:"successes"`
	Errors             uint64 `json:"errors"`
	// First is when it sent its first request, LastSent its last, and
	// Last when its last result came; zero without results.
	First    time.Time `json:"first,omitzero"`
	LastSent time.Time `json:"last_sent,omitzero"`
	Last     time.Time `json:"last,omitzero"`
	// RateRPS is requests sent per second from First to LastSent.
	RateRPS float64 `json:"rate_rps"`
	// P99Ms is the 99th percentile latency of its successful requests.
	P99Ms float64 `json:"p99_ms"`
	// PerSecond is its results that came in each whole second of the
	// clock, from the one in which the trial's Started falls (the start of
	// all hosts' span), as Served's seconds are whole seconds too.
	PerSecond []uint64 `json:"per_second,omitempty"`
	// Unrecorded is requests it sent whose results its file lacks, as far
	// as vegeta's sequence numbers tell: those they skip. Those in flight
	// when a host stopped, after its last recorded one, they cannot tell.
	Unrecorded uint64 `json:"unrecorded,omitempty"`
	// ClockOffsetMs is how far the server's clock was ahead of the host's,
	// as the Date headers of its responses bound it, within ClockErrorMs
	// either way; nil when its responses had none.
	ClockOffsetMs *float64 `json:"clock_offset_ms,omitempty"`
	ClockErrorMs  float64  `json:"clock_error_ms,omitempty"`
	// Targets are the requests its results are of ("GET URL"), a few at most.
	Targets []string `json:"targets,omitempty"`
	// Missing says what of its part its results lack: none, a file cut
	// short, or an end before the others' or the plan's; "" when whole.
	Missing string `json:"missing,omitempty"`
}

// Placement is a trial's CPU sets, as CPU lists ("0", "1-3").
type Placement struct {
	LoadgenCPUs string `json:"loadgen_cpus"`
	ServerCPUs  string `json:"server_cpus"`
}

// Proxy is a proxy program's setup.
type Proxy struct {
	Processes         int  `json:"processes"` // its worker processes or threads
	UpstreamKeepAlive bool `json:"upstream_keepalive"`
}

// Handler is the worker app's per-request work.
type Handler struct {
	Name      string  `json:"name"`
	BodyBytes int     `json:"body_bytes"`
	CPUMicros float64 `json:"cpu_us"`
	SleepMs   float64 `json:"sleep_ms"`
	// Tail is the slow requests of a heavy-tailed handler; absent for none.
	Tail HandlerTail `json:"tail,omitzero"`
}

// HandlerTail is the fraction of requests that cost CPUMicros of CPU
// instead of the handler's usual CPU.
type HandlerTail struct {
	Fraction  float64 `json:"fraction"`
	CPUMicros float64 `json:"cpu_us"`
}

// Load is how the trial was driven. Rate 0 is maximum rate (closed loop).
type Load struct {
	Name string `json:"name"`
	// Engine is the load generator: vegeta or wrk.
	Engine string `json:"engine"`
	// Threads is how many threads wrk ran; 0 for vegeta.
	Threads         int     `json:"threads,omitempty"`
	Rate            int     `json:"rate"`
	DurationSeconds float64 `json:"duration_seconds"`
	WarmupSeconds   float64 `json:"warmup_seconds"`
	Concurrency     int     `json:"concurrency"`
	MaxConnections  int     `json:"max_connections"`
	TimeoutSeconds  float64 `json:"timeout_seconds"`
}

// Latency percentiles of successful requests, in milliseconds.
type Latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	// Stddev is the standard deviation; nil in records from before it
	// was measured, which the report renders as it did then.
	Stddev *float64 `json:"stddev,omitempty"`
}

// WorkerCounts is one worker's load, seen by the client and by the worker.
type WorkerCounts struct {
	Index int `json:"index"`
	PID   int `json:"pid"`
	// From the client: responses naming this worker, and distinct connections among them.
	Requests    uint64 `json:"requests"`
	Connections uint64 `json:"connections"`
	// From the worker's own counters.
	WorkerRequests    uint64 `json:"worker_requests"`
	WorkerConnections uint64 `json:"worker_connections"`
	WorkerAccepted    uint64 `json:"worker_accepted"`
	// CPUSeconds is the worker's CPU time while measuring, from /proc
	// (schema 1: over its life); LifetimeCPUSeconds is over its whole
	// life, start-up and warm-up included, as the kernel reported it when
	// the process was reaped.
	CPUSeconds         float64 `json:"cpu_seconds"`
	LifetimeCPUSeconds float64 `json:"lifetime_cpu_seconds,omitempty"`
	// Restarts is how many times this worker was replaced; its counts are
	// summed over its processes.
	Restarts int `json:"restarts,omitempty"`
	// Processes is each process's account, both sides, when the worker
	// had more than one or its process died.
	Processes []ProcessCounts `json:"processes,omitempty"`
}

// ProcessCounts is one worker process's load, seen by both sides.
type ProcessCounts struct {
	PID               int    `json:"pid"`
	Requests          uint64 `json:"requests"`
	Connections       uint64 `json:"connections"`
	WorkerRequests    uint64 `json:"worker_requests"`
	WorkerConnections uint64 `json:"worker_connections"`
	// Final is false when it died and its counts are its last periodic report.
	Final bool `json:"final"`
	// Killed is true when the fault killed it.
	Killed bool `json:"killed,omitempty"`
}

// Fault is workers killed while measuring, and the damage the client saw.
type Fault struct {
	Kill                int     `json:"kill"` // workers killed
	Signal              string  `json:"signal"`
	Respawn             bool    `json:"respawn"`
	RespawnDelaySeconds float64 `json:"respawn_delay_seconds"`
	// AtSeconds is when they were killed, from the start of the measured load.
	AtSeconds float64 `json:"at_seconds"`
	Workers   []int   `json:"workers"` // indexes
	PIDs      []int   `json:"pids"`
	// Before is what completed before the kill, After from the kill on.
	Before Window `json:"before"`
	After  Window `json:"after"`
	// LostRequests is the requests that failed from the kill on.
	LostRequests uint64 `json:"lost_requests"`
	// ErrorsForSeconds is from the kill to the last error; 0 without errors.
	ErrorsForSeconds float64 `json:"errors_for_seconds"`
	// RecoverySeconds is from the kill to the first response served by a
	// replacement (the last of them to serve, if several were killed);
	// nil when no replacement served within the trial.
	RecoverySeconds *float64 `json:"recovery_seconds"`
	// ReplacementReadySeconds is from the kill until the deployment saw
	// the last replacement ready to serve; nil without replacements.
	ReplacementReadySeconds *float64 `json:"replacement_ready_seconds,omitempty"`
	// PortClosedSeconds is from the kill until the deployment closed its
	// port because no worker was left; nil if it stayed open.
	PortClosedSeconds *float64 `json:"port_closed_seconds,omitempty"`
	// Timeline is what completed millisecond by millisecond around the
	// kill, fine enough to show a gap of a few milliseconds; nil in records
	// from before it was kept.
	Timeline *Timeline `json:"timeline,omitempty"`
}

// Timeline is what the client saw complete in each bin of a span around
// a kill: from about 100 ms before it to 100 ms after the later of the
// last error and the first response of a replacement, at most 2,000 bins.
type Timeline struct {
	// StartMs is the first bin's start, in milliseconds from the kill
	// (negative: before it); BinMs is the width of every bin.
	StartMs float64 `json:"start_ms"`
	BinMs   float64 `json:"bin_ms"`
	// Successes and Errors are the responses and failed requests that
	// completed in each bin.
	Successes []uint32 `json:"successes"`
	Errors    []uint32 `json:"errors"`
}

// Window is what the client saw in part of a trial.
type Window struct {
	Seconds       float64           `json:"seconds"`
	Requests      uint64            `json:"requests"`
	Successes     uint64            `json:"successes"`
	Errors        uint64            `json:"errors"`
	ErrorKinds    map[string]uint64 `json:"error_kinds,omitempty"`
	ThroughputRPS float64           `json:"throughput_rps"`
}

// Second is what completed in one second of the measured load.
type Second struct {
	// T is the second's start from the start of the measured load;
	// Seconds its length (the last may be shorter).
	T          float64           `json:"t"`
	Seconds    float64           `json:"seconds"`
	Requests   uint64            `json:"requests"`
	Successes  uint64            `json:"successes"`
	Errors     uint64            `json:"errors"`
	ErrorKinds map[string]uint64 `json:"error_kinds,omitempty"`
}

// Restart records a worker that exited while the deployment ran, as the
// deployment reported it.
type Restart struct {
	Worker int    `json:"worker"`
	PID    int    `json:"pid"`
	Exit   string `json:"exit"` // how it ended, e.g. "signal: killed"
	// ExitedAt is seconds since the deployment was ready.
	ExitedAt       float64 `json:"exited_at_seconds"`
	ReplacementPID int     `json:"replacement_pid,omitempty"`
	// ReadyAfter is seconds from the exit until the replacement served,
	// at ReadyAt.
	ReadyAfter float64   `json:"ready_after_seconds,omitempty"`
	ReadyAt    time.Time `json:"ready_at,omitzero"`
	// Error says why there is no serving replacement.
	Error string `json:"error,omitempty"`
	// Killed is true when a fault injection killed it.
	Killed bool `json:"killed,omitempty"`
}

// FairnessPair is fairness per request and per connection.
type FairnessPair struct {
	Requests    Fairness `json:"requests"`
	Connections Fairness `json:"connections"`
}

// Fairness is how evenly counts were spread over workers: Jain's index
// and shares of the total. Package analysis computes it.
type Fairness struct {
	Jain      float64 `json:"jain"`
	Top2Share float64 `json:"top2_share"`
	MaxShare  float64 `json:"max_share"`
	MinShare  float64 `json:"min_share"`
}

// CPU is CPU time per process role while measuring, in seconds, read
// from /proc at the start and the end of the measured phase: the load
// generator (this process for vegeta, the wrk process for wrk), the master
// (the serving process, which accepts and hands over every connection in
// roundrobin mode), the proxy (nginx or HAProxy, all its processes) and
// the workers. A process that exits while measuring is counted up to
// its last reading. (Schema 1: the master's over the serving time and
// the workers' over their lives.)
type CPU struct {
	LoadgenSeconds float64 `json:"loadgen_seconds"`
	MasterSeconds  float64 `json:"master_seconds"`
	// ProxySeconds is the proxy program's CPU time (nginx, HAProxy), in proxy modes.
	ProxySeconds   float64 `json:"proxy_seconds"`
	WorkersSeconds float64 `json:"workers_seconds"`
	// ServingSeconds is the wall time these figures cover: the measured
	// phase (schema 1: the deployment's serving time).
	ServingSeconds float64 `json:"serving_seconds"`
}

// ServerSeconds is the server side's CPU time: master, proxy and workers.
func (c CPU) ServerSeconds() float64 { return c.MasterSeconds + c.ProxySeconds + c.WorkersSeconds }

// LoadgenCores is the load generator's average CPU use in cores.
func (c CPU) LoadgenCores() float64 { return perSecond(c.LoadgenSeconds, c.ServingSeconds) }

// ServerCores is the server side's average CPU use in cores.
func (c CPU) ServerCores() float64 { return perSecond(c.ServerSeconds(), c.ServingSeconds) }

// MasterCores is the master's average CPU use in cores while it served.
func (c CPU) MasterCores() float64 { return perSecond(c.MasterSeconds, c.ServingSeconds) }

// ProxyCores is the proxy's average CPU use in cores while it served.
func (c CPU) ProxyCores() float64 { return perSecond(c.ProxySeconds, c.ServingSeconds) }

// WorkersCores is the workers' average CPU use in cores while they served.
func (c CPU) WorkersCores() float64 { return perSecond(c.WorkersSeconds, c.ServingSeconds) }

// fillServingSeconds gives a schema-1 trial from before serving_seconds
// was kept the time its CPU figures cover, so that its cores are not
// read as zero: they were taken over the deployment's life, so the
// warm-up and the measured load are the nearest time the record knows.
func (t *Trial) fillServingSeconds() {
	if t.CPU.ServingSeconds <= 0 && !t.Failed() {
		t.CPU.ServingSeconds = t.Load.WarmupSeconds + t.DurationSeconds
	}
}

func perSecond(x, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return x / seconds
}

// Label names the trial's mode with its policy: "roundrobin:free".
func (t *Trial) Label() string {
	if t.Policy == "" {
		return t.Mode
	}
	return t.Mode + ":" + t.Policy
}

// Processes is how many worker processes served: one for a mode that
// serves from one process (see Threads), else one per worker.
func (t *Trial) Processes() int {
	if t.Threads > 0 {
		return 1
	}
	return t.Workers
}

// CountsDisagree reports whether the two sides' counts differ: the flag
// says so, or any mismatch is recorded (a record may be hand-edited).
func (t *Trial) CountsDisagree() bool { return !t.CountsAgree || len(t.Mismatches) > 0 }

// Failed reports whether the trial produced no measurement.
func (t *Trial) Failed() bool { return t.Error != "" }

// ClientSide reports whether a client counted the trial: false for the
// server's record alone (OriginServe), whose figures are the workers'.
func (t *Trial) ClientSide() bool { return t.Origin != OriginServe }

// RequestCounts returns the requests per worker the figures stand on: the
// client's, or in the server's record alone the workers' own.
func (t *Trial) RequestCounts() []uint64 {
	counts := make([]uint64, len(t.PerWorker))
	for i, w := range t.PerWorker {
		counts[i] = w.Requests
		if !t.ClientSide() {
			counts[i] = w.WorkerRequests
		}
	}
	return counts
}

// ConnectionCounts returns the connections per worker the figures stand
// on: the client's, or in the server's record alone the workers' own.
func (t *Trial) ConnectionCounts() []uint64 {
	counts := make([]uint64, len(t.PerWorker))
	for i, w := range t.PerWorker {
		counts[i] = w.Connections
		if !t.ClientSide() {
			counts[i] = w.WorkerConnections
		}
	}
	return counts
}

// FileName is the record's name inside a run directory.
const FileName = "results.json"

// Save writes the record to dir/results.json, replacing it atomically so a
// reader never sees half a file.
func Save(dir string, r *Run) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return WriteFile(filepath.Join(dir, FileName), append(data, '\n'))
}

// Bounds on a record that Read accepts, so that a corrupt or hostile file
// is refused before it takes the machine's memory: a real run of a
// thousand repetitions stays far below them.
const (
	MaxFileBytes = 256 << 20
	MaxTrials    = 100_000
	// MaxWorkers is plan's limit on the workers of a trial.
	MaxWorkers = 1024
	// MaxValues bounds the objects and arrays of the whole file: per
	// worker and per process counts, seconds of a series, restarts.
	MaxValues = 1_000_000
)

// Read loads a record from a results.json file or a run directory, and
// checks it: a trial without its figures is an error naming the file and
// the trial, never a report of zeros.
func Read(path string) (*Run, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, FileName)
	}
	data, err := readBounded(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	if err := checkShape(data); err != nil {
		return nil, fmt.Errorf("results: %s: %w", path, err)
	}
	var r Run
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("results: %s: %w", path, err)
	}
	if r.Schema < OldestSchema || r.Schema > Schema {
		return nil, fmt.Errorf("results: %s: schema %d, this clusterbench reads schemas %d to %d", path, r.Schema, OldestSchema, Schema)
	}
	for i := range r.Trials {
		if err := r.Trials[i].check(); err != nil {
			return nil, fmt.Errorf("results: %s: trial %d: %w", path, i+1, err)
		}
		if r.Schema == 1 {
			r.Trials[i].fillServingSeconds()
		}
	}
	return &r, nil
}

// readBounded reads a file of at most MaxFileBytes.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d MiB, more than any run records", path, MaxFileBytes>>20)
	}
	return data, nil
}

// checkShape walks the JSON's tokens, in constant memory, and refuses a
// record with more trials or values than Read will decode.
func checkShape(data []byte) error {
	type frame struct {
		object, wantKey bool
		key             string // the key whose value is being read
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var open []frame
	values, trials := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var parent *frame
		if len(open) > 0 {
			parent = &open[len(open)-1]
		}
		if s, ok := tok.(string); ok && parent != nil && parent.object && parent.wantKey {
			parent.key, parent.wantKey = s, false
			continue
		}
		switch tok {
		case json.Delim('}'), json.Delim(']'):
			open = open[:len(open)-1]
			continue
		case json.Delim('{'), json.Delim('['):
			if values++; values > MaxValues {
				return fmt.Errorf("more than %d objects and arrays, more than any run records", MaxValues)
			}
			// A trial is an object in the array under the top-level "trials".
			if len(open) == 2 && !parent.object && open[0].key == "trials" {
				if trials++; trials > MaxTrials {
					return fmt.Errorf("more than %d trials, more than any run records", MaxTrials)
				}
			}
			if parent != nil && parent.object {
				parent.wantKey = true // the value begins; a key follows it
			}
			open = append(open, frame{object: tok == json.Delim('{'), wantKey: true})
			continue
		}
		if parent != nil && parent.object {
			parent.wantKey = true
		}
	}
}

// check refuses a trial that holds no figures and no error: hand-edited,
// truncated or not a record at all. Rendered, it would be a report of
// zeros; compared, a verdict on nothing.
func (t *Trial) check() error {
	switch {
	case t.Mode == "":
		return errors.New("no mode")
	case t.Experiment == "":
		return errors.New("no experiment")
	case t.Workers < 1 || t.Workers > MaxWorkers:
		return fmt.Errorf("%d workers, want 1 to %d", t.Workers, MaxWorkers)
	case len(t.PerWorker) > MaxWorkers:
		return fmt.Errorf("counts of %d workers, want at most %d", len(t.PerWorker), MaxWorkers)
	case t.Failed():
		return nil // a failed trial has no figures, and says why
	}
	if s := t.Served; s != nil {
		for i, sec := range s.Seconds {
			switch {
			case !(sec.Seconds > 0):
				return fmt.Errorf("served second %d lasts %g s, want more than 0", i+1, sec.Seconds)
			case len(sec.Requests) > MaxWorkers || len(sec.Connections) > MaxWorkers:
				return fmt.Errorf("served second %d counts more than %d workers", i+1, MaxWorkers)
			}
		}
	}
	if t.Requests == 0 && t.Successes == 0 && t.Errors == 0 && t.ThroughputRPS == 0 {
		return errors.New("neither an error nor any figure: no requests, no throughput")
	}
	return nil
}

// WriteFile replaces a file of a run directory atomically, so that a
// reader never sees half a file: the record, and the report rendered from it.
func WriteFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("results: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	// CreateTemp makes the file private; a report is meant to be shared.
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return nil
}
