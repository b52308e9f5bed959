package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// abScenario is a short A/B scenario: enough rounds for the paired test
// (Holm over 3 tests at α = 0.01 needs a clear change with 4 pairs).
const abScenario = `name: ab-test
experiments:
  - name: ab
    modes: [reuseport]
    workers: 2
    keepalive: true
    load: {concurrency: 4, duration: 1s, warmup: 200ms}
    reps: 4
compare:
  gate: [cpu_per_request, errors]
  thresholds: {cpu_per_request: 10%}
  alpha: 0.01
`

// slowHandler makes the Python app's head build burn CPU on every request,
// several times what the app costs per request.
const slowHandler = `    def do_GET(self):
        deadline = time.process_time() + 0.004
        while time.process_time() < deadline:
            pass
`

// TestABScriptJudgesTwoBuilds runs ci/ab.sh, the A/B job's logic, for
// real: a git repository of a tiny app (examples/python/app.py) with a
// base commit and a head commit, the base checked out into a worktree by
// the script, both built, measured in one run and compared. An unchanged
// head passes (exit 0); a head whose handler burns 4 ms of CPU more per
// request fails (exit 1); both write the verdict and the GitHub outputs,
// and the base's worktree is gone afterwards.
func TestABScriptJudgesTwoBuilds(t *testing.T) {
	for _, tool := range []string{"git", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing: %v", tool, err)
			}
			t.Skipf("%s is missing: %v", tool, err)
		}
	}
	app, err := os.ReadFile(filepath.Join(repoRoot, "examples", "python", "app.py"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		head string
		want int
	}{
		{"same app", string(app), exitOK},
		{"slower app", strings.Replace(strings.Replace(string(app), "import os\n", "import os\nimport time\n", 1),
			"    def do_GET(self):\n", slowHandler, 1), exitRegression},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.head == string(app) && c.want != exitOK {
				t.Fatal("the slower app is the same app: the edit did not apply")
			}
			repo := t.TempDir()
			git := func(args ...string) string {
				t.Helper()
				cmd := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("git %v: %v: %s", args, err, out)
				}
				return string(out)
			}
			git("init", "--quiet")
			writeIn(t, repo, "app.py", string(app))
			git("add", "app.py")
			git("commit", "--quiet", "-m", "base")
			writeIn(t, repo, "app.py", c.head)
			git("commit", "--quiet", "--allow-empty", "-am", "head")
			out := filepath.Join(repo, "perf")
			summary, outputs := filepath.Join(t.TempDir(), "summary"), filepath.Join(t.TempDir(), "output")
			script, err := filepath.Abs(filepath.Join(repoRoot, "ci", "ab.sh"))
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(script)
			cmd.Dir = repo
			cmd.Env = append(os.Environ(), "CLUSTERBENCH="+os.Args[0], "AB_BUILD=python3 -m py_compile app.py",
				"AB_WORKER=python3 app.py", "AB_LISTEN=fd", "AB_BASE_REF=HEAD~1", "AB_OUT="+out,
				"AB_SCENARIO="+writeFile(t, "ab.yaml", abScenario), "GITHUB_STEP_SUMMARY="+summary, "GITHUB_OUTPUT="+outputs)
			logs, err := cmd.CombinedOutput()
			code := cmd.ProcessState.ExitCode()
			if code != c.want {
				t.Fatalf("ci/ab.sh: exit %d (%v); want %d:\n%s", code, err, c.want, logs)
			}
			t.Logf("ci/ab.sh:\n%s", logs)
			for _, f := range []string{filepath.Join(out, "compare.md"), filepath.Join(out, "compare.json"), filepath.Join(out, "run", "results.json")} {
				if _, err := os.Stat(f); err != nil {
					t.Errorf("the job did not write %s: %v", f, err)
				}
			}
			if got, _ := os.ReadFile(outputs); !strings.Contains(string(got), "exit="+string(rune('0'+c.want))) {
				t.Errorf("GITHUB_OUTPUT: got %q; want exit=%d", got, c.want)
			}
			if got, _ := os.ReadFile(summary); !strings.Contains(string(got), "## clusterbench compare") {
				t.Errorf("the job summary lacks the verdict: %q", got)
			}
			if list := git("worktree", "list"); strings.Count(list, "\n") != 1 {
				t.Errorf("the base's worktree was left behind:\n%s", list)
			}
		})
	}
}

// TestActionPassesEveryInput checks that action.yml parses, that its job
// step hands every input to ci/ab.sh, and that the script reads each one.
func TestActionPassesEveryInput(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Inputs map[string]any `yaml:"inputs"`
		Runs   struct {
			Using string `yaml:"using"`
			Steps []struct {
				ID  string            `yaml:"id"`
				Env map[string]string `yaml:"env"`
				Run string            `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(data, &action); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	script, err := os.ReadFile(filepath.Join(repoRoot, "ci", "ab.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if action.Runs.Using != "composite" {
		t.Errorf("runs.using: got %q; want composite", action.Runs.Using)
	}
	passed := map[string]bool{}
	for _, step := range action.Runs.Steps {
		if step.ID != "ab" {
			continue
		}
		if !strings.Contains(step.Run, "ci/ab.sh") {
			t.Errorf("step ab does not run ci/ab.sh: %s", step.Run)
		}
		input := regexp.MustCompile(`^\$\{\{ inputs\.([a-z-]+) \}\}$`)
		for name, value := range step.Env {
			if !regexp.MustCompile(`\$\{` + name + `[:}]`).Match(script) {
				t.Errorf("action.yml sets %s, which ci/ab.sh does not read", name)
			}
			if m := input.FindStringSubmatch(value); m != nil {
				passed[m[1]] = true
			}
		}
	}
	for name := range action.Inputs {
		if name != "comment" && !passed[name] {
			t.Errorf("input %s does not reach ci/ab.sh", name)
		}
	}
	for _, f := range []string{".github/workflows/perf.yml", "examples/workflows/perf.yml"} {
		data, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		var wf map[string]any
		if err := yaml.Unmarshal(data, &wf); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func writeIn(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestVariantInputErrors: variants that cannot run are refused before
// anything is written (exit 2), and a record that holds no two variants
// is nothing to compare (exit 2), never "no regression".
func TestVariantInputErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--mode", "reuseport", "--base-bin", "/nonexistent/clusterbench", "-o", out}, "bin /nonexistent/clusterbench is not an executable file"},
		{[]string{"run", "--base-dir", t.TempDir(), "-o", out, filepath.Join(repoRoot, "scenarios", "ab.yaml")}, "dir is where an app runs"},
		{[]string{"run", "--head-listen", "socket", "--head-app", "./server", "-o", out, filepath.Join(repoRoot, "scenarios", "ab.yaml")}, "listen must be fd or port"},
		{[]string{"compare", filepath.Join(repoRoot, "results", "reference", "ci-base")}, "nothing to compare"},
		{[]string{"compare", writeFile(t, "results.json", `{"schema": 2, "trials": []}`)}, "nothing to compare"},
		{[]string{"compare", writeFile(t, "results.json", `{"schema": 2, "trials": [`)}, "compare: "},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want exit %d and %q", c.args, code, stderr, exitUsage, c.want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused run wrote %s", out)
	}
}

// TestVariantBinMeasuresItsTrials: a variant's bin measures that
// variant's trials, and only those: here a wrapper that logs how it was
// called and runs this very tool, as another build would.
func TestVariantBinMeasuresItsTrials(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	bin := filepath.Join(dir, "clusterbench")
	wrapper := "#!/bin/sh\necho \"$1\" >> " + log + "\nexec " + os.Args[0] + " \"$@\"\n"
	if err := os.WriteFile(bin, []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "run")
	code, stdout, stderr := runCLI(t, "run", "--mode", "reuseport", "--workers", "2", "--duration", "300ms", "--warmup", "0s",
		"--concurrency", "2", "--reps", "3", "--base-bin", bin, "-o", out)
	if code != exitOK {
		t.Fatalf("run: exit %d: %s\n%s", code, stderr, stdout)
	}
	calls, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(calls)); len(got) != 3 || strings.Join(got, " ") != "trial trial trial" {
		t.Errorf("the base's bin was called as %q; want once per base trial: trial trial trial", got)
	}
	code, compared, stderr := runCLI(t, "compare", out)
	if code != exitOK && code != exitRegression {
		t.Fatalf("compare: exit %d: %s", code, stderr)
	}
	if !regexp.MustCompile(`cpu_per_request .*│ 3 +│`).MatchString(compared) {
		t.Errorf("compare did not judge the 3 pairs:\n%s", compared)
	}
}
