package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"clusterbench/internal/visible"
	"clusterbench/results"
)

// scenarioAnchor is the id Markdown renderers (GitHub, goldmark) give the
// heading "## Scenario", which the Conditions section links to.
const scenarioAnchor = "scenario"

// describePrograms lists the programs a run used with their versions, by
// name: "nginx 1.22.1, vegeta v12.12.0".
func describePrograms(programs map[string]string) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(programs)) {
		parts = append(parts, name+" "+programs[name])
	}
	return strings.Join(parts, ", ")
}

// describeScenario says where a run's scenario came from; r is escaped.
func describeScenario(r *results.Run) string {
	if r.Scenario == "flags" { // scenarios.Single's name for a run built from flags
		return "built from its command line"
	}
	return "the file " + r.Scenario
}

// writeFenced writes text as a fenced code block: its fence is longer
// than any run of backticks in it, so no line of the text can close it,
// and control characters are shown, not obeyed.
func writeFenced(w io.Writer, text string) {
	fence := strings.Repeat("`", max(3, longestRun(text, '`')+1))
	fmt.Fprintf(w, "%s\n", fence)
	for line := range strings.Lines(strings.TrimSuffix(text, "\n")) {
		fmt.Fprintf(w, "%s\n", visible.Text(strings.TrimSuffix(line, "\n")))
	}
	fmt.Fprintf(w, "%s\n\n", fence)
}

// longestRun is the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	longest, n := 0, 0
	for i := range len(s) {
		if s[i] != c {
			n = 0
			continue
		}
		n++
		longest = max(longest, n)
	}
	return longest
}
