package report

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"clusterbench/results"
)

// browserRun is the committed reference run the browser opens: one with
// a fault, so its report has every kind of table and plot.
const browserRun = "../results/reference/faults"

// TestHTMLReportInABrowser opens report.html, rendered from a committed
// reference run, in a real headless Chromium (driven by chromedp, the
// maintained Go client of the DevTools protocol), and checks what a
// reader would see: the page renders its headings and tables, and every
// image decodes, as many as the run has plots. In CI (CI=true) a missing
// Chromium fails; elsewhere the test skips and says why.
func TestHTMLReportInABrowser(t *testing.T) {
	browser := findChromium()
	if browser == "" {
		const why = "no Chromium found (chromium, chromium-browser or google-chrome in PATH; make test-deps installs it)"
		if os.Getenv("CI") == "true" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	r, err := results.Read(browserRun)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	plots, err := filepath.Glob(filepath.Join(dir, "*.png"))
	if err != nil || len(plots) == 0 {
		t.Fatalf("no plots rendered (%v)", err)
	}

	profile := t.TempDir() // its own, so its processes can be told from any other Chromium's
	// Without /dev/shm Chromium keeps its shared memory in files under
	// TMPDIR and leaves them there: give it a directory the test removes.
	scratch := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-dev-shm-usage", true), // a container's /dev/shm is small
		chromedp.Env("TMPDIR="+scratch),
	)
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "org.chromium.*"))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to sandbox as root
	}
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	var started []process // the browser and every process it started
	defer func() {
		cancelAlloc() // ends the browser and waits for it
		leftovers(t, profile, started)
		after, _ := filepath.Glob(filepath.Join(os.TempDir(), "org.chromium.*"))
		for _, f := range after {
			if !slices.Contains(before, f) {
				t.Errorf("the browser left %s behind", f)
			}
		}
	}()
	tab, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()

	type image struct {
		Complete     bool   `json:"complete"`
		NaturalWidth int    `json:"naturalWidth"`
		Src          string `json:"src"`
	}
	var (
		title, h1 string
		headings  []string
		tables    int
		decoded   bool
		images    []image
	)
	err = chromedp.Do(tab,
		chromedp.Navigate("file://"+filepath.Join(dir, HTMLFileName)),
		chromedp.WaitReady("body"),
		into(&title, chromedp.Title()),
		into(&h1, chromedp.Evaluate[string](`document.querySelector("h1").textContent`)),
		into(&headings, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("h2"), h => h.textContent)`)),
		// Tables that the browser laid out with rows, not Markdown left as text.
		into(&tables, chromedp.Evaluate[int](`Array.from(document.querySelectorAll("table")).filter(t => t.querySelector("tbody tr") && t.offsetHeight > 0).length`)),
		// decode() waits until each image is decoded, and fails for one that cannot be.
		into(&decoded, chromedp.Evaluate[bool](`Promise.all(Array.from(document.images, i => i.decode())).then(() => true)`, chromedp.EvalAwaitPromise)),
		into(&images, chromedp.Evaluate[[]image](`Array.from(document.images, i => ({complete: i.complete, naturalWidth: i.naturalWidth, src: i.src.slice(0, 22)}))`)),
	)
	if b := chromedp.FromContext(tab).Browser; b != nil && b.Process() != nil {
		started = tree(b.Process().Pid)
	}
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if len(started) == 0 {
		t.Error("the browser's processes were not found")
	}
	if want := "clusterbench report: " + r.Scenario; title != want || h1 != want {
		t.Errorf("title %q, first heading %q; want %q", title, h1, want)
	}
	if len(headings) < 3 || headings[0] != "Answer" || headings[1] != "Conditions" {
		t.Errorf("headings %q; want the Answer, then Conditions, and the experiments", headings)
	}
	if tables == 0 {
		t.Error("no table with rows rendered")
	}
	if !decoded || len(images) != len(plots) {
		t.Errorf("%d images, decoded: %v; want the run's %d plots", len(images), decoded, len(plots))
	}
	for i, img := range images {
		if !img.Complete || img.NaturalWidth <= 0 || img.Src != "data:image/png;base64," {
			t.Errorf("image %d: %+v; want a decoded PNG from a data: URI", i+1, img)
		}
	}
}

// into keeps an action's result in dst, so that actions run in one sequence.
func into[T any](dst *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, t)
		*dst = v
		return chromedp.Void{}, err
	}
}

// findChromium returns the path of a Chromium or Chrome in PATH, or "".
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	return ""
}

// process is a process that a PID names until it is reaped: the PID and
// the process's start time, so that a PID used again is not mistaken for it.
type process struct {
	pid   int
	start string
}

// stat reads a process's parent and start time from /proc/PID/stat; ok is
// false once it is gone or a zombie.
func stat(pid int) (ppid int, start string, ok bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, "", false
	}
	// After "PID (comm) ": state, ppid, ... starttime is field 22.
	rest := string(data[strings.LastIndexByte(string(data), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 20 || f[0] == "Z" {
		return 0, "", false
	}
	ppid, _ = strconv.Atoi(f[1])
	return ppid, f[19], true
}

// tree lists the process pid and all its descendants.
func tree(pid int) []process {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if p, err := strconv.Atoi(e.Name()); err == nil {
			if ppid, _, ok := stat(p); ok {
				children[ppid] = append(children[ppid], p)
			}
		}
	}
	var out []process
	for queue := []int{pid}; len(queue) > 0; queue = queue[1:] {
		if _, start, ok := stat(queue[0]); ok {
			out = append(out, process{queue[0], start})
		}
		queue = append(queue, children[queue[0]]...)
	}
	return out
}

// leftovers fails the test for any of the browser's processes still
// running, or any process with the test's own profile directory on its
// command line, and kills it: no Chromium process may outlive the test.
func leftovers(t *testing.T, profile string, started []process) {
	t.Helper()
	var alive []int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		alive = processesWith(profile)
		for _, p := range started {
			if _, start, ok := stat(p.pid); ok && start == p.start {
				alive = append(alive, p.pid)
			}
		}
		if len(alive) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, pid := range alive {
		syscall.Kill(pid, syscall.SIGKILL) // ours: the browser's, or with our profile directory
	}
	if len(alive) > 0 {
		t.Errorf("Chromium processes outlived the test (PIDs %v)", alive)
	}
}

// processesWith lists the PIDs whose command line mentions s.
func processesWith(s string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), s) {
			pids = append(pids, pid)
		}
	}
	return pids
}
