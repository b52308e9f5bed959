package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"

	"clusterbench/analysis"
	"clusterbench/internal/kubecheck"
	"clusterbench/report"
	"clusterbench/results"
	"clusterbench/scenarios"
	"clusterbench/segment"
)

// The documentation's figures come from committed runs: generated blocks
// are rendered from them (go test -run Docs ./cmd/clusterbench -update
// rewrites the blocks), and the figures left in prose are recomputed by
// figureChecks.

var updateDocs = flag.Bool("update", false, "rewrite the generated blocks of README.md and docs/*.md from the committed runs")

const repoRoot = "../.."

// generatedBlock matches `<!-- generated: SECTION RUN [EXPERIMENT] -->`,
// the lines it holds, and `<!-- end generated -->`.
var generatedBlock = regexp.MustCompile(`(?s)<!-- generated: ([^>]*?) -->\n(.*?)<!-- end generated -->`)

// docFiles are the documents whose figures and links are checked, relative
// to the repository.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := []string{"README.md"}
	for _, f := range files {
		rel, err := filepath.Rel(repoRoot, f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rel)
	}
	return out
}

// runs reads each committed run once.
type runs map[string]*results.Run

func (rs runs) get(dir string) (*results.Run, error) {
	if r, ok := rs[dir]; ok {
		return r, nil
	}
	if !strings.HasPrefix(dir, "results/reference/") {
		return nil, fmt.Errorf("%s is not a committed reference run (results/reference/...)", dir)
	}
	r, err := results.Read(filepath.Join(repoRoot, dir))
	if err != nil {
		return nil, err
	}
	rs[dir] = r
	return r, nil
}

// renderBlock renders the block a spec "SECTION RUN [EXPERIMENT]" names.
func (rs runs) renderBlock(spec string) (string, error) {
	words := strings.Fields(spec)
	if len(words) < 2 || len(words) > 3 {
		return "", fmt.Errorf("want SECTION RUN [EXPERIMENT], got %q", spec)
	}
	r, err := rs.get(words[1])
	if err != nil {
		return "", err
	}
	experiment := ""
	if len(words) == 3 {
		experiment = words[2]
	}
	var b bytes.Buffer
	if err := report.WriteSection(&b, words[0], r, experiment); err != nil {
		return "", err
	}
	return b.String(), nil
}

// regenerate returns doc with every generated block rendered anew, and
// the blocks whose text differed or could not be rendered, as "line N: ...".
func regenerate(doc string, render func(spec string) (string, error)) (string, []string) {
	var problems []string
	var out strings.Builder
	last := 0
	for _, m := range generatedBlock.FindAllStringSubmatchIndex(doc, -1) {
		spec, body := doc[m[2]:m[3]], doc[m[4]:m[5]]
		line := 1 + strings.Count(doc[:m[0]], "\n")
		out.WriteString(doc[last:m[4]])
		want, err := render(spec)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("line %d: %s: %v", line, spec, err))
			want = body
		case want != body:
			problems = append(problems, fmt.Sprintf("line %d: %s: differs from the run (go test -run Docs ./cmd/clusterbench -update rewrites it)", line, spec))
		}
		out.WriteString(want)
		last = m[5]
	}
	out.WriteString(doc[last:])
	return out.String(), problems
}

func TestDocsGeneratedBlocksMatchRuns(t *testing.T) {
	rs := runs{}
	blocks := 0
	for _, name := range docFiles(t) {
		path := filepath.Join(repoRoot, name)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		doc := string(data)
		blocks += len(generatedBlock.FindAllString(doc, -1))
		if n, m := strings.Count(doc, "<!-- generated:"), strings.Count(doc, "<!-- end generated -->"); n != m {
			t.Errorf("%s: %d blocks open and %d close", name, n, m)
		}
		fresh, problems := regenerate(doc, rs.renderBlock)
		if *updateDocs {
			if fresh != doc {
				if err := os.WriteFile(path, []byte(fresh), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			problems = slices.DeleteFunc(problems, func(p string) bool { return strings.Contains(p, "differs from the run") })
		}
		for _, p := range problems {
			t.Errorf("%s: %s", name, p)
		}
	}
	if blocks < 10 {
		t.Errorf("found only %d generated blocks; the documentation's tables are meant to be generated", blocks)
	}
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "<!-- generated: answer results/reference/all -->") {
		t.Error("README.md has no generated answer of the reference run (<!-- generated: answer results/reference/all -->)")
	}
}

// TestRegenerateFindsStaleBlocks shows that the check can fail: a block
// edited by hand, and a block naming an unknown section, are reported,
// and regenerating restores the first.
func TestRegenerateFindsStaleBlocks(t *testing.T) {
	render := func(spec string) (string, error) {
		if spec == "summary results/reference/x" {
			return "| a |\n", nil
		}
		return "", fmt.Errorf("no section")
	}
	doc := "intro\n<!-- generated: summary results/reference/x -->\n| b |\n<!-- end generated -->\n" +
		"<!-- generated: nosuch results/reference/x -->\nkept\n<!-- end generated -->\n"
	fresh, problems := regenerate(doc, render)
	if len(problems) != 2 || !strings.HasPrefix(problems[0], "line 2: ") || !strings.HasPrefix(problems[1], "line 5: ") {
		t.Errorf("problems = %q; want one at line 2 and one at line 5", problems)
	}
	want := "intro\n<!-- generated: summary results/reference/x -->\n| a |\n<!-- end generated -->\n" +
		"<!-- generated: nosuch results/reference/x -->\nkept\n<!-- end generated -->\n"
	if fresh != want {
		t.Errorf("regenerated:\n%s\nwant:\n%s", fresh, want)
	}
	if _, again := regenerate(fresh, render); len(again) != 1 {
		t.Errorf("after regenerating, problems = %q; want only the unknown section", again)
	}
}

// TestSectionsOfAReferenceRun renders every section of a committed run
// with a fault, whole and for one experiment, and an unknown section.
func TestSectionsOfAReferenceRun(t *testing.T) {
	r, err := results.Read(filepath.Join(repoRoot, "results/reference/faults"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range report.SectionNames() {
		var whole, one bytes.Buffer
		if err := report.WriteSection(&whole, name, r, ""); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if err := report.WriteSection(&one, name, r, "slow-respawn"); err != nil {
			t.Errorf("%s of slow-respawn: %v", name, err)
		}
		if whole.Len() == 0 {
			t.Errorf("%s rendered nothing", name)
		}
		if name == "summary" && one.Len() >= whole.Len() {
			t.Errorf("summary: %d bytes for one experiment, %d for the run; want fewer", one.Len(), whole.Len())
		}
		if strings.HasPrefix(whole.String(), "#") {
			t.Errorf("%s starts with a heading: %q", name, whole.String()[:20])
		}
	}
	var b bytes.Buffer
	if err := report.WriteSection(&b, "nosuch", r, ""); err == nil {
		t.Error("an unknown section rendered without error")
	}
	if err := report.WriteSection(&b, "summary", r, "nosuch"); err == nil {
		t.Error("an unknown experiment rendered without error")
	}
}

func TestReadmeIsShort(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n > 250 {
		t.Errorf("README.md has %d lines; at most 250, the rest belongs in docs/", n)
	}
}

// markdownLink matches a Markdown link or image target: ](target).
var markdownLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocsLinksResolve checks every relative link of README.md and
// docs/*.md: the file exists, and so does the heading an anchor names.
func TestDocsLinksResolve(t *testing.T) {
	checked := 0
	for _, name := range docFiles(t) {
		data, err := os.ReadFile(filepath.Join(repoRoot, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range markdownLink.FindAllStringSubmatch(withoutCode(string(data)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			checked++
			file, anchor, _ := strings.Cut(target, "#")
			path := filepath.Join(repoRoot, filepath.Dir(name), file)
			if file == "" {
				path = filepath.Join(repoRoot, name)
			}
			linked, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("%s: link %s: %v", name, target, err)
				continue
			}
			if anchor != "" && !anchors(string(linked))[anchor] {
				t.Errorf("%s: link %s: no heading with anchor #%s in %s", name, target, anchor, file)
			}
		}
	}
	if checked < 20 {
		t.Errorf("checked only %d links; the parsing is broken", checked)
	}
}

// withoutCode drops fenced code blocks, whose brackets are not links.
func withoutCode(doc string) string {
	var out []string
	fenced := false
	for _, l := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// anchors lists the anchors GitHub gives a document's headings: lower
// case, punctuation dropped, spaces as hyphens, repeats numbered.
func anchors(doc string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, l := range strings.Split(withoutCode(doc), "\n") {
		if !strings.HasPrefix(l, "#") {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(strings.TrimLeft(l, "#"))) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
				b.WriteRune(r)
			}
		}
		slug := b.String()
		if n := seen[slug]; n > 0 {
			out[fmt.Sprintf("%s-%d", slug, n)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	return out
}

func TestAnchorsAsGitHubMakesThem(t *testing.T) {
	got := anchors("# clusterbench\n## Is the load generator the limit?\n### `run`\n## Node.js cluster beside its Go siblings\n## results.json\n## Notes\n## Notes\n```\n# not a heading\n```\n")
	for _, want := range []string{"clusterbench", "is-the-load-generator-the-limit", "run", "nodejs-cluster-beside-its-go-siblings", "resultsjson", "notes", "notes-1"} {
		if !got[want] {
			t.Errorf("no anchor %q in %v", want, got)
		}
	}
	if got["not-a-heading"] {
		t.Error("a comment in a code block became an anchor")
	}
}

// figureCheck is a figure the documentation quotes in prose: text
// computes, from the run it quotes, the exact words the document must
// contain, so a quoted figure cannot drift from its run.
type figureCheck struct {
	doc, run string
	text     func(r *results.Run) (string, error)
}

var figureChecks = []figureCheck{
	{"docs/reference-runs.md", "results/reference/all", func(r *results.Run) (string, error) {
		ratio, reps, err := medianRatio(r, "node-vs-go-pinned", "roundrobin:free", "node-rr", throughput)
		return fmt.Sprintf("Go's master (`roundrobin:free`) served %s the throughput of `node-rr` (the ratio of the medians; per repetition %s)", times(ratio), reps), err
	}},
	{"docs/reference-runs.md", "results/reference/all", func(r *results.Run) (string, error) {
		ratio, reps, err := medianRatio(r, "node-vs-go", "roundrobin:free", "node-rr", throughput)
		return fmt.Sprintf("Go served %s the throughput of `node-rr` (the ratio of the medians; per repetition %s)", times(ratio), reps), err
	}},
	{"docs/reference-runs.md", "results/reference/roundrobin-cost", func(r *results.Run) (string, error) {
		return costRow(r, "roundrobin:rotate")
	}},
	{"docs/reference-runs.md", "results/reference/roundrobin-cost", func(r *results.Run) (string, error) {
		return costRow(r, "roundrobin:free")
	}},
	{"docs/reference-runs.md", "results/reference/roundrobin-cost", func(r *results.Run) (string, error) {
		ratios, err := repRatios(r, "flags", "roundrobin:rotate", "reuseport", throughput)
		return fmt.Sprintf("(for `rotate` from %.2f× to %.2f×)", slices.Min(ratios), slices.Max(ratios)), err
	}},
	{"docs/methodology.md", "results/reference/engines", func(r *results.Run) (string, error) {
		thr := func(load string) float64 {
			var xs []float64
			for _, t := range r.Trials {
				if t.Load.Name == load {
					xs = append(xs, t.ThroughputRPS)
				}
			}
			return median(xs)
		}
		return fmt.Sprintf("vegeta reached %.2f× of the wrk engine's throughput (the ratio of the medians)", thr("max-c32")/thr("wrk-max-c32")), nil
	}},
	{"docs/methodology.md", "results/reference/engines", func(r *results.Run) (string, error) {
		cpu := func(load string) float64 {
			var xs []float64
			for _, t := range r.Trials {
				if t.Load.Name == load && t.Label() == "reuseport" {
					xs = append(xs, t.ServerCPUPerRequestUs)
				}
			}
			return median(xs)
		}
		return fmt.Sprintf("(%.1f against %.1f µs for `reuseport` in", cpu("wrk-max-c32"), cpu("max-c32")), nil
	}},
}

func throughput(t *results.Trial) float64 { return t.ThroughputRPS }

func times(x float64) string { return fmt.Sprintf("%.1f×", x) }

// repRatios divides a figure of mode by that of ref in the same
// repetition of experiment, in the order of the repetitions.
func repRatios(r *results.Run, experiment, mode, ref string, figure func(*results.Trial) float64) ([]float64, error) {
	of := func(label string) map[int]float64 {
		out := map[int]float64{}
		for i := range r.Trials {
			if t := &r.Trials[i]; t.Experiment == experiment && t.Label() == label && t.Error == "" {
				out[t.Rep] = figure(t)
			}
		}
		return out
	}
	a, b := of(mode), of(ref)
	var ratios []float64
	for rep := 1; rep <= len(a); rep++ {
		if _, ok := b[rep]; !ok {
			return nil, fmt.Errorf("%s: repetition %d of %s has no %s beside it", experiment, rep, mode, ref)
		}
		ratios = append(ratios, a[rep]/b[rep])
	}
	if len(ratios) == 0 {
		return nil, fmt.Errorf("%s: no trial of %s", experiment, mode)
	}
	return ratios, nil
}

// medianRatio is the ratio of the medians of a figure, and the ratios
// per repetition with their median, as "7.4×, 5.6×, 5.9×, whose median is 5.9×".
func medianRatio(r *results.Run, experiment, mode, ref string, figure func(*results.Trial) float64) (float64, string, error) {
	ratios, err := repRatios(r, experiment, mode, ref, figure)
	if err != nil {
		return 0, "", err
	}
	var a, b []float64
	for i := range r.Trials {
		t := &r.Trials[i]
		if t.Experiment == experiment && t.Label() == mode {
			a = append(a, figure(t))
		}
		if t.Experiment == experiment && t.Label() == ref {
			b = append(b, figure(t))
		}
	}
	each := make([]string, len(ratios))
	for i, x := range ratios {
		each[i] = times(x)
	}
	return median(a) / median(b), strings.Join(each, ", ") + ", whose median is " + times(median(ratios)), nil
}

// costRow is a row of the round-robin cost table: throughput and CPU per
// request against reuseport's in the same repetition (medians), and the
// master's CPU per connection it handed over.
func costRow(r *results.Run, mode string) (string, error) {
	thr, err := repRatios(r, "flags", mode, "reuseport", throughput)
	if err != nil {
		return "", err
	}
	cpu, err := repRatios(r, "flags", mode, "reuseport", func(t *results.Trial) float64 { return t.ServerCPUPerRequestUs })
	if err != nil {
		return "", err
	}
	var perConn []float64
	for _, t := range r.Trials {
		if t.Label() == mode && t.ClientDials > 0 {
			perConn = append(perConn, 1e6*t.CPU.MasterSeconds/float64(t.ClientDials))
		}
	}
	return fmt.Sprintf("| `%s` | %.2f× | %.2f× | %.1f µs |", mode, median(thr), median(cpu), median(perConn)), nil
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s) == 0 {
		return math.NaN()
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func TestDocsQuoteFiguresOfTheirRuns(t *testing.T) {
	rs := runs{}
	for _, c := range figureChecks {
		r, err := rs.get(c.run)
		if err != nil {
			t.Fatal(err)
		}
		want, err := c.text(r)
		if err != nil {
			t.Errorf("%s: %v", c.doc, err)
			continue
		}
		doc, err := os.ReadFile(filepath.Join(repoRoot, c.doc))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc), want) {
			t.Errorf("%s does not say what %s gives:\n%s", c.doc, c.run, want)
		}
	}
}

// ruleCheck is a rule of the analysis that a document states in prose:
// text gives, from the constant or function that makes the rule, the
// words the document must contain (compared with its lines joined, so
// that wrapping does not matter). A threshold changed in the code then
// fails here until the documentation says the same.
type ruleCheck struct {
	doc  string
	text func() string
}

// ruleChecks are the rules docs/reports.md and docs/methodology.md state.
var ruleChecks = []ruleCheck{
	{"docs/reports.md", func() string { return fmt.Sprintf("**even** from %g", analysis.EvenJain) }},
	{"docs/reports.md", func() string { return fmt.Sprintf("**near-even** from %g", analysis.NearEvenJain) }},
	{"docs/reports.md", func() string {
		return fmt.Sprintf("A spread that chance gives less than %g%% of the time is **beyond chance**", 100*analysis.BeyondChance)
	}},
	{"docs/reports.md", func() string {
		return fmt.Sprintf("below %g%% the mode skews beyond chance", 100*analysis.BeyondChance)
	}},
	{"docs/reports.md", func() string {
		return fmt.Sprintf("otherwise it is %s random splits", thousands(analysis.ChanceDraws))
	}},
	{"docs/reports.md", func() string {
		return fmt.Sprintf("whether the two busiest workers took more than %g%% of the connections", 100*analysis.TopTwoClaim)
	}},
	{"docs/reports.md", func() string {
		return fmt.Sprintf("only those with at least %d connections per worker", analysis.MinConnectionsPerWorker)
	}},
	{"docs/reports.md", func() string {
		return fmt.Sprintf("at most %d, so that it fits the first screen", report.MaxAnswerLines)
	}},
	{"docs/reports.md", func() string {
		return fmt.Sprintf("from %s repetitions on, a %g%% interval", numberWord(fullConfidenceFrom()), 100*analysis.Confidence)
	}},
	{"docs/reports.md", func() string {
		return fmt.Sprintf("(%g%%)` for three repetitions, %g%% for two",
			100*analysis.Summarize([]float64{1, 2, 3}).Confidence, 100*analysis.Summarize([]float64{1, 2}).Confidence)
	}},
	{"docs/reports.md", func() string {
		c := analysis.Chance(32, 8)
		return fmt.Sprintf("32 connections placed on 8 workers uniformly at random come out even in %.2g%% of spreads and at least near-even in %.2g%%, and their Jain index is %.2f or less half the time",
			100*c.Jain.AtLeast(analysis.EvenJain), 100*c.Jain.AtLeast(analysis.NearEvenJain), c.Jain.Quantile(0.5))
	}},
	{"docs/methodology.md", func() string {
		return fmt.Sprintf("even from %g, near-even from %g, uneven below", analysis.EvenJain, analysis.NearEvenJain)
	}},
	{"docs/methodology.md", func() string {
		return fmt.Sprintf("A spread that chance gives less than %g%% of the time is beyond chance", 100*analysis.BeyondChance)
	}},
	{"docs/methodology.md", func() string {
		return fmt.Sprintf("%g%% from %s repetitions on", 100*analysis.Confidence, numberWord(fullConfidenceFrom()))
	}},
	{"docs/methodology.md", func() string {
		return fmt.Sprintf("Trials with fewer than %d connections per worker", analysis.MinConnectionsPerWorker)
	}},
}

// fullConfidenceFrom is the fewest repetitions whose interval reaches
// analysis.Confidence.
func fullConfidenceFrom() int {
	for n := 2; n < 100; n++ {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(i)
		}
		if analysis.Summarize(xs).Confidence >= analysis.Confidence {
			return n
		}
	}
	return 0
}

func numberWord(n int) string {
	if words := []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}; n >= 0 && n < len(words) {
		return words[n]
	}
	return strconv.Itoa(n)
}

// thousands writes 20000 as "20,000".
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func TestDocsStateTheRulesOfTheAnalysis(t *testing.T) {
	for _, c := range ruleChecks {
		doc, err := os.ReadFile(filepath.Join(repoRoot, c.doc))
		if err != nil {
			t.Fatal(err)
		}
		if want := c.text(); !strings.Contains(strings.Join(strings.Fields(string(doc)), " "), want) {
			t.Errorf("%s does not state the rule as the code has it:\n%s", c.doc, want)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{7: "7", 999: "999", 1000: "1,000", 20000: "20,000", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q; want %q", n, got, want)
		}
	}
}

// TestMedianRatioIsNotAMedianOfRatios pins the difference the README once
// got wrong: the ratio of medians and the median of per-repetition ratios.
func TestMedianRatioIsNotAMedianOfRatios(t *testing.T) {
	r := &results.Run{}
	for rep, pair := range [][2]float64{{740, 100}, {560, 100}, {590, 100}} {
		r.Trials = append(r.Trials,
			results.Trial{Experiment: "e", Rep: rep + 1, Mode: "go", ThroughputRPS: pair[0]},
			results.Trial{Experiment: "e", Rep: rep + 1, Mode: "node", ThroughputRPS: pair[1]})
	}
	ratio, reps, err := medianRatio(r, "e", "go", "node", throughput)
	if err != nil {
		t.Fatal(err)
	}
	if ratio != 5.9 || reps != "7.4×, 5.6×, 5.9×, whose median is 5.9×" {
		t.Errorf("medianRatio = %v, %q; want 5.9, the ratios and their median 5.9×", ratio, reps)
	}
}

// TestResultsJSONDocNamesEveryField keeps docs/results-json.md complete:
// every JSON field of the record's exported types must be named there.
func TestResultsJSONDocNamesEveryField(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "results-json.md"))
	if err != nil {
		t.Fatal(err)
	}
	fields := recordFields(t, filepath.Join(repoRoot, "results"))
	if len(fields) < 100 {
		t.Fatalf("found only %d fields in package results; the parsing is broken", len(fields))
	}
	for _, f := range fields {
		if !strings.Contains(string(doc), "`"+f+"`") {
			t.Errorf("docs/results-json.md does not name the field `%s` of results.json", f)
		}
	}
}

// recordFields lists the JSON names of the fields of the exported struct
// types declared in dir.
func recordFields(t *testing.T, dir string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	fset := token.NewFileSet()
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || !ts.Name.IsExported() {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, field := range st.Fields.List {
				if field.Tag == nil {
					continue
				}
				tag, _ := strconv.Unquote(field.Tag.Value)
				name, _, _ := strings.Cut(reflect.StructTag(tag).Get("json"), ",")
				if name != "" && name != "-" {
					names = append(names, name)
				}
			}
			return true
		})
	}
	return names
}

// shippedScenario matches a row of the table of shipped scenarios: the
// file in the first column, the trial count in the last.
var shippedScenario = regexp.MustCompile("(?m)^\\| `(scenarios/[^`]+\\.yaml)` \\|.*\\| (\\d+) \\|$")

// TestDocsCountTrialsOfShippedScenarios checks the trial counts that
// docs/scenarios.md gives against the scenario files, and that every
// shipped scenario is listed.
func TestDocsCountTrialsOfShippedScenarios(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "scenarios.md"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, m := range shippedScenario.FindAllStringSubmatch(string(doc), -1) {
		listed[m[1]] = true
		f, err := scenarios.Read(filepath.Join(repoRoot, m[1]))
		if err != nil {
			t.Errorf("%s: %v", m[1], err)
			continue
		}
		if got := strconv.Itoa(len(f.Trials())); got != m[2] {
			t.Errorf("docs/scenarios.md says %s has %s trials; it has %s", m[1], m[2], got)
		}
	}
	files, err := filepath.Glob(filepath.Join(repoRoot, "scenarios", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if name := "scenarios/" + filepath.Base(f); !listed[name] {
			t.Errorf("docs/scenarios.md does not list %s with its trials", name)
		}
	}
}

// TestDocsQuoteCommandOutputs checks the outputs docs/ci.md quotes from
// benchstat and compare on the reference runs ci-base and ci-head: every
// line it shows (but "…") is a line the command prints today, and the
// count of significant changes it states is benchstat's.
func TestDocsQuoteCommandOutputs(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "ci.md"))
	if err != nil {
		t.Fatal(err)
	}
	base, head := filepath.Join(repoRoot, "results/reference/ci-base"), filepath.Join(repoRoot, "results/reference/ci-head")
	code, compared, stderr := runCLI(t, "compare", base, head)
	if code != exitOK {
		t.Fatalf("compare: exit %d: %s", code, stderr)
	}
	cmd := exec.Command("go", "tool", "benchstat", "-filter", ".unit:req/s",
		"results/reference/ci-base/bench.txt", "results/reference/ci-head/bench.txt")
	cmd.Dir = repoRoot
	benchstat, err := cmd.Output()
	if err != nil {
		t.Fatalf("go tool benchstat: %v", err)
	}
	quoted := 0
	for _, block := range fencedBlocks(string(doc)) {
		var output string
		switch {
		case strings.Contains(block, "\ngeomean"):
			output = string(benchstat)
		case strings.Contains(block, "\nno regression:"):
			output = compared
		default:
			continue
		}
		lines := map[string]bool{}
		for _, l := range strings.Split(output, "\n") {
			lines[strings.TrimRight(l, " ")] = true
		}
		for _, l := range strings.Split(block, "\n") {
			if l = strings.TrimRight(l, " "); l != "" && l != "…" {
				quoted++
				if !lines[l] {
					t.Errorf("docs/ci.md quotes a line the command does not print:\n%s", l)
				}
			}
		}
	}
	if quoted < 20 {
		t.Errorf("found only %d quoted lines of benchstat and compare", quoted)
	}
	faster, significant, points := 0, 0, 0
	for _, l := range strings.Split(string(benchstat), "\n") {
		f := strings.Fields(l)
		if !strings.HasPrefix(l, "ci/") || len(f) < 8 {
			continue
		}
		points++
		if rate(f[1]) < rate(f[4]) {
			faster++
		}
		if strings.HasPrefix(f[7], "+") || strings.HasPrefix(f[7], "-") {
			significant++
		}
	}
	if want := fmt.Sprintf("sees every point faster in the second, %d of them \"significantly\"", significant); faster != points || points == 0 || !strings.Contains(string(doc), want) {
		t.Errorf("benchstat: %d of %d points faster, %d significant; docs/ci.md should say %q", faster, points, significant, want)
	}
	largest, inTable := 0.0, false
	for _, l := range strings.Split(compared, "\n") {
		switch {
		case strings.HasPrefix(l, "throughput_vs_ref:"):
			inTable = true
		case strings.TrimSpace(l) == "":
			inTable = false
		case inTable && strings.HasPrefix(l, "│ ci "):
			cells := strings.Split(l, "│")
			change, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(cells[6]), "%"), 64)
			if err != nil {
				t.Fatalf("compare: change %q: %v", cells[6], err)
			}
			largest = max(largest, math.Abs(change))
		}
	}
	if want := fmt.Sprintf("The ratios still move by up to %.0f%% between these two runs", largest); !strings.Contains(string(doc), want) {
		t.Errorf("docs/ci.md should say %q", want)
	}
}

// rate reads benchstat's "6.884k".
func rate(s string) float64 {
	scale := 1.0
	if strings.HasSuffix(s, "k") {
		s, scale = strings.TrimSuffix(s, "k"), 1e3
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN()
	}
	return x * scale
}

// fencedBlocks returns the text of each fenced code block of a document.
func fencedBlocks(doc string) []string {
	var blocks []string
	var cur []string
	fenced := false
	for _, l := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			if fenced {
				blocks = append(blocks, strings.Join(cur, "\n"))
				cur = nil
			}
			fenced = !fenced
			continue
		}
		if fenced {
			cur = append(cur, l)
		}
	}
	return blocks
}

// benchQuote is a figure docs/roundrobin.md quotes from the committed
// benchmark outputs of results/reference/roundrobin-cost: pattern matches
// the doc's words with one group per figure, and each figure names the
// output ("before" or "after"), the benchmark and the unit it comes from.
type benchQuote struct {
	pattern string
	figures [][3]string
}

func tableRow(label string, unit func(policy string) (bench, unit string)) benchQuote {
	q := benchQuote{pattern: `\| ` + regexp.QuoteMeta(label) + ` \| (\d+(?:\.\d+)?) \| (\d+(?:\.\d+)?) \| (\d+(?:\.\d+)?) \| (\d+(?:\.\d+)?) \|`}
	for _, policy := range []string{"rotate", "free"} {
		for _, when := range []string{"before", "after"} {
			b, u := unit(policy)
			q.figures = append(q.figures, [3]string{when, b, u})
		}
	}
	return q
}

var roundRobinQuotes = []benchQuote{
	tableRow("throughput / `reuseport`", func(p string) (string, string) { return "throughput", p + "/reuseport-req/s" }),
	tableRow("server CPU per request / `reuseport`", func(p string) (string, string) { return "throughput", p + "/reuseport-cpu/req" }),
	tableRow("master CPU µs per connection", func(p string) (string, string) { return "throughput", p + "-master-us/conn" }),
	tableRow("master system calls per connection", func(p string) (string, string) {
		return "syscalls/roundrobin:" + p, "master-syscalls/conn"
	}),
	tableRow("worker system calls per connection", func(p string) (string, string) {
		return "syscalls/roundrobin:" + p, "worker-syscalls/conn"
	}),
	{`A .reuseport. worker makes (\d+(?:\.\d+)?) system calls per connection \(before; (\d+(?:\.\d+)?) after\)`,
		[][3]string{{"before", "syscalls/reuseport", "worker-syscalls/conn"}, {"after", "syscalls/reuseport", "worker-syscalls/conn"}}},
	{`\(.rotate., (\d+(?:\.\d+)?) → (\d+(?:\.\d+)?)\):\s+- gone`,
		[][3]string{{"before", "syscalls/roundrobin:rotate", "worker-syscalls/conn"}, {"after", "syscalls/roundrobin:rotate", "worker-syscalls/conn"}}},
	{`\*\*Master\*\* \(.rotate., (\d+(?:\.\d+)?) → (\d+(?:\.\d+)?)\)`,
		[][3]string{{"before", "syscalls/roundrobin:rotate", "master-syscalls/conn"}, {"after", "syscalls/roundrobin:rotate", "master-syscalls/conn"}}},
	{`cut .epoll_pwait. from (\d+(?:\.\d+)?) to (\d+(?:\.\d+)?) per connection`,
		[][3]string{{"before", "syscalls/roundrobin:rotate", "master-epoll_pwait/conn"}, {"after", "syscalls/roundrobin:rotate", "master-epoll_pwait/conn"}}},
	{`(\d+(?:\.\d+)?) .accept4. calls per connection`, [][3]string{{"after", "syscalls/roundrobin:rotate", "master-accept4/conn"}}},
	{`.nanosleep. from\s+(\d+(?:\.\d+)?) to (\d+(?:\.\d+)?)`,
		[][3]string{{"before", "syscalls/roundrobin:rotate", "master-nanosleep/conn"}, {"after", "syscalls/roundrobin:rotate", "master-nanosleep/conn"}}},
	{`\(.epoll_pwait. (\d+(?:\.\d+)?) against\s+(\d+(?:\.\d+)?)\)`,
		[][3]string{{"after", "syscalls/roundrobin:free", "master-epoll_pwait/conn"}, {"after", "syscalls/roundrobin:rotate", "master-epoll_pwait/conn"}}},
	{`\((\d+(?:\.\d+)?)\s+against (\d+(?:\.\d+)?) µs\)`,
		[][3]string{{"after", "throughput", "free-master-us/conn"}, {"after", "throughput", "rotate-master-us/conn"}}},
}

// TestRoundRobinDocQuotesItsBenchmarks checks every figure docs/roundrobin.md
// takes from the committed benchmark outputs, to the precision it shows.
func TestRoundRobinDocQuotesItsBenchmarks(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "roundrobin.md"))
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]map[string]float64{}
	for _, when := range []string{"before", "after"} {
		data, err := os.ReadFile(filepath.Join(repoRoot, "results/reference/roundrobin-cost/benchmark-"+when+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		outputs[when] = benchmarkValues(string(data))
	}
	for _, q := range roundRobinQuotes {
		m := regexp.MustCompile(q.pattern).FindStringSubmatch(string(doc))
		if m == nil {
			t.Errorf("docs/roundrobin.md has no %s", q.pattern)
			continue
		}
		for i, f := range q.figures {
			want, ok := outputs[f[0]]["BenchmarkRoundRobin/"+f[1]+"-2 "+f[2]]
			if !ok {
				t.Errorf("benchmark-%s.txt has no %s in %s", f[0], f[2], f[1])
				continue
			}
			if !sameAtPrecision(m[i+1], want) {
				t.Errorf("docs/roundrobin.md says %s for %s %s %s; benchmark-%s.txt says %g", m[i+1], f[0], f[1], f[2], f[0], want)
			}
		}
	}
}

// benchmarkValues reads Go benchmark lines into "name unit" → value.
func benchmarkValues(text string) map[string]float64 {
	values := map[string]float64{}
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if !strings.HasPrefix(l, "Benchmark") || len(f) < 4 {
			continue
		}
		for i := 2; i+1 < len(f); i += 2 {
			if x, err := strconv.ParseFloat(f[i], 64); err == nil {
				values[f[0]+" "+f[i+1]] = x
			}
		}
	}
	return values
}

// sameAtPrecision tells whether shown is x rounded to the decimals shown.
func sameAtPrecision(shown string, x float64) bool {
	v, err := strconv.ParseFloat(shown, 64)
	if err != nil {
		return false
	}
	decimals := 0
	if _, frac, ok := strings.Cut(shown, "."); ok {
		decimals = len(frac)
	}
	return math.Abs(v-x) <= 0.5*math.Pow(10, -float64(decimals))+1e-9
}

// TestCommandsDocNamesEveryFlag keeps docs/commands.md complete: every
// flag that run, serve, split, merge and compare list in --help is
// described there.
func TestCommandsDocNamesEveryFlag(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "commands.md"))
	if err != nil {
		t.Fatal(err)
	}
	flagLine := regexp.MustCompile(`(?m)^  -([a-z][a-z-]*)`)
	for _, command := range []string{"run", "serve", "split", "merge", "compare"} {
		_, stdout, stderr := runCLI(t, command, "--help")
		flags := flagLine.FindAllStringSubmatch(stdout+stderr, -1)
		if len(flags) < 4 {
			t.Errorf("%s --help lists only %d flags; the parsing is broken", command, len(flags))
		}
		for _, f := range flags {
			name := "-" + f[1]
			if f[1] != "o" {
				name = "--" + f[1]
			}
			if !regexp.MustCompile("`" + regexp.QuoteMeta(name) + "[` =]").Match(doc) {
				t.Errorf("docs/commands.md does not describe %s %s", command, name)
			}
		}
	}
}

// TestCIDocQuotesItsPowerRun keeps docs/ci.md's power table true to the
// committed output of scripts/power.sh: the output is quoted whole, and
// each row's count of regressions, durations and range of estimated
// changes is recomputed from it.
func TestCIDocQuotesItsPowerRun(t *testing.T) {
	out, err := os.ReadFile("../../results/reference/ab-power/power.txt")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/ci.md")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(fencedBlocks(string(doc)), strings.TrimRight(string(out), "\n")) {
		t.Error("docs/ci.md does not quote results/reference/ab-power/power.txt whole in a fenced block")
	}
	type row struct {
		runs, alarms     int
		fastest, slowest int
		lowest, highest  float64
	}
	rows := map[string]*row{}
	line := regexp.MustCompile(`^(regressed|identical)\s+\d+\s+(\d+)\s+(\d+)\s+(.*)$`)
	change := regexp.MustCompile(`: (-?[0-9.]+)% \[`)
	for _, l := range strings.Split(string(out), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		r := rows[m[1]]
		if r == nil {
			r = &row{fastest: math.MaxInt, lowest: math.Inf(1), highest: math.Inf(-1)}
			rows[m[1]] = r
		}
		seconds, _ := strconv.Atoi(m[2])
		r.runs++
		r.fastest, r.slowest = min(r.fastest, seconds), max(r.slowest, seconds)
		if m[3] == "1" {
			r.alarms++
		}
		for _, c := range change.FindAllStringSubmatch(m[4], -1) {
			x, _ := strconv.ParseFloat(c[1], 64)
			r.lowest, r.highest = math.Min(r.lowest, x), math.Max(r.highest, x)
		}
	}
	for kind, r := range rows {
		want := fmt.Sprintf("| %d | %d of %d | %d–%d s | %+.1f%% to %+.1f%% |", r.runs, r.alarms, r.runs, r.fastest, r.slowest, r.lowest, r.highest)
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/ci.md: the %s row should end %q", kind, want)
		}
	}
	if len(rows) != 2 {
		t.Errorf("power.txt has runs of %d kinds; want regressed and identical", len(rows))
	}
}

// TestDistributedDocQuotesSplit: the parts docs/distributed.md shows are
// the ones split prints for the command it shows, and the parts its prose
// names are among them.
func TestDistributedDocQuotesSplit(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "distributed.md"))
	if err != nil {
		t.Fatal(err)
	}
	const command = "clusterbench split --hosts 3 --url http://10.0.0.1:8080/ --rate 1000 --duration 30s --concurrency 32 -o split"
	if !strings.Contains(string(doc), command) {
		t.Fatalf("docs/distributed.md does not show %q", command)
	}
	args := strings.Fields(strings.TrimPrefix(command, "clusterbench "))
	args[len(args)-1] = filepath.Join(t.TempDir(), "split")
	code, stdout, stderr := runCLI(t, args...)
	if code != exitOK {
		t.Fatalf("split: exit %d: %s", code, stderr)
	}
	printed := map[string]bool{}
	for _, l := range strings.Split(stdout, "\n") {
		printed[strings.TrimRight(l, " ")] = true
	}
	quoted := 0
	for _, block := range fencedBlocks(string(doc)) {
		if !strings.Contains(block, "│ host │") {
			continue
		}
		for _, l := range strings.Split(block, "\n") {
			if l = strings.TrimRight(l, " "); l != "" {
				quoted++
				if !printed[l] {
					t.Errorf("docs/distributed.md quotes a line split does not print:\n%s\nit prints:\n%s", l, stdout)
				}
			}
		}
	}
	if quoted != 4 {
		t.Errorf("found %d quoted lines of split's table; want its header and 3 hosts", quoted)
	}
	// The prose names the parts the striping gives.
	prose := strings.Join(strings.Fields(string(doc)), " ")
	words := func(parts []int) string {
		return fmt.Sprintf("%d, %d and %d", parts[0], parts[1], parts[2])
	}
	for _, want := range []string{
		"1,000 req/s over three hosts is " + words(segment.Even(3).Scale(1000)),
		"32 concurrent requests " + words(segment.Even(3).Scale(32)),
	} {
		if !strings.Contains(prose, want) {
			t.Errorf("docs/distributed.md does not say %q", want)
		}
	}
}

// TestDistributedDocClaims: what docs/distributed.md says of the
// reference run's clocks is what its record holds, and the vegeta it
// tells load hosts to install is the version clusterbench links.
func TestDistributedDocClaims(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "distributed.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(strings.Fields(string(doc)), " "), "in the reference run, a millisecond or so either way of zero") {
		t.Fatal("docs/distributed.md no longer says how far the reference run's clocks lay apart; keep this test with it")
	}
	r, err := results.Read(filepath.Join(repoRoot, "results/reference/distributed/merged"))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range r.Trials[0].LoadHosts {
		if h.ClockOffsetMs == nil || math.Abs(*h.ClockOffsetMs) > 2 || h.ClockErrorMs > 2 {
			t.Errorf("load host %s: clock offset %v ms ±%.2f; the doc says a millisecond or so either way of zero", h.Name, h.ClockOffsetMs, h.ClockErrorMs)
		}
	}
	// The reference run's shape, as the prose of both documents names it.
	p, err := segment.ReadPlan(filepath.Join(repoRoot, "results/reference/distributed/split"))
	if err != nil {
		t.Fatal(err)
	}
	tr := r.Trials[0]
	shape := fmt.Sprintf("%d workers racing to accept on one socket, three load hosts sending %s requests a second in all, each on a new connection",
		tr.Workers, thousands(p.Rate))
	if tr.Label() != "shared:race" || len(p.Hosts) != 3 || p.KeepAlive || !strings.Contains(strings.Join(strings.Fields(string(doc)), " "), shape) {
		t.Errorf("docs/distributed.md should say %q of %s with %d hosts, keep-alive %v", shape, tr.Label(), len(p.Hosts), p.KeepAlive)
	}
	refs, err := os.ReadFile(filepath.Join(repoRoot, "docs", "reference-runs.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("`serve -o` with %d workers of `shared`, `split` into three parts of %d req/s", tr.Workers, p.Hosts[0].Rate); !strings.Contains(strings.Join(strings.Fields(string(refs)), " "), want) {
		t.Errorf("docs/reference-runs.md should say %q", want)
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		t.Skip("no build info to read vegeta's version from")
	}
	version := ""
	for _, m := range info.Deps {
		if m.Path == "github.com/tsenart/vegeta/v12" {
			version = m.Version
		}
	}
	installs := regexp.MustCompile(`tsenart/vegeta/v12@(v[0-9.]+)`).FindAllStringSubmatch(string(doc), -1)
	if len(installs) == 0 {
		t.Fatal("docs/distributed.md says nothing of installing vegeta")
	}
	for _, m := range installs {
		if m[1] != version {
			t.Errorf("docs/distributed.md installs vegeta %s; clusterbench links %s", m[1], version)
		}
	}
}

// TestDocsManifestsAreKubernetes decodes every YAML block of the docs
// strictly with Kubernetes' own types (see internal/kubecheck), as
// segment's test decodes the Job that split writes.
func TestDocsManifestsAreKubernetes(t *testing.T) {
	decoded := 0
	for _, path := range docFiles(t) {
		doc, err := os.ReadFile(filepath.Join(repoRoot, path))
		if err != nil {
			t.Fatal(err)
		}
		for _, block := range yamlBlocks(string(doc)) {
			if !strings.Contains(block, "apiVersion:") {
				continue
			}
			if _, err := kubecheck.Decode([]byte(block)); err != nil {
				t.Errorf("%s: a manifest Kubernetes would refuse: %v\n%s", path, err, block)
			}
			decoded++
		}
	}
	if decoded < 2 {
		t.Errorf("decoded %d manifests; docs/distributed.md shows a claim and a pod", decoded)
	}
}

// yamlBlocks returns the text of each ```yaml block of a document.
func yamlBlocks(doc string) []string {
	var blocks []string
	var cur []string
	indent := ""
	in := false
	for _, l := range strings.Split(doc, "\n") {
		trimmed := strings.TrimSpace(l)
		switch {
		case !in && trimmed == "```yaml":
			in, indent, cur = true, l[:strings.Index(l, "```")], nil
		case in && trimmed == "```":
			blocks = append(blocks, strings.Join(cur, "\n"))
			in = false
		case in:
			cur = append(cur, strings.TrimPrefix(l, indent))
		}
	}
	return blocks
}
