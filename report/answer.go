package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"clusterbench/analysis"
)

// MaxAnswerLines bounds the answer, so that it fits the first screen.
const MaxAnswerLines = 12

// subLine starts a line that details the one before it.
const subLine = "  "

// maxEffectModes is how many modes with the 70% effect the answer names.
const maxEffectModes = 3

// WriteAnswer writes the answer: a "## Answer" section of Markdown, or
// plain lines for a terminal.
func WriteAnswer(w io.Writer, a analysis.Answer, markdown bool) error {
	lines := answerLines(a, style{markdown})
	if len(lines) == 0 {
		return nil
	}
	heading, prefix := "answer:\n", "  "
	if markdown {
		heading, prefix = "## Answer\n\n", "- "
	}
	var b strings.Builder
	b.WriteString(heading)
	for _, l := range lines {
		if sub, ok := strings.CutPrefix(l, subLine); ok {
			b.WriteString(subLine + prefix + sub + "\n") // nested under the line before
			continue
		}
		b.WriteString(prefix + l + "\n")
	}
	if markdown {
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// answerLines states the answer in at most MaxAnswerLines lines: one per
// group, then the 70% effect.
func answerLines(a analysis.Answer, s style) []string {
	effect := effectLines(a.Effect, s)
	room := MaxAnswerLines - len(effect)
	var out []string
	effect = append([]string{evenestLine(a, s)}, effect...)
	room--
	for i, g := range a.Groups {
		if len(out) == room-1 && len(a.Groups)-i > 1 {
			out = append(out, fmt.Sprintf("… and %d more: see the findings.", len(a.Groups)-i))
			break
		}
		out = append(out, groupLine(g, s))
	}
	out = append(out, effect...)
	for i, l := range out {
		width := answerColumns
		if strings.HasPrefix(l, subLine) {
			width -= len(subLine)
		}
		out[i] = fitted(l, width, s)
	}
	return out
}

// groupLine is one group's recommendation in at most terminalColumns:
// "max-rate, keep-alive on: `shared`: best in 1 of 2 conditions, within 8% elsewhere; p99
// 5.5–18 ms; uneven beyond chance; ≈ `reuseport` within noise".
func groupLine(g analysis.AnswerGroup, s style) string {
	modes := codesOf(g.Recommended, s)
	if len(modes) > 2 {
		modes = append(modes[:2:2], fmt.Sprintf("%d more", len(g.Recommended)-2))
	}
	parts := []string{basisText(g)}
	if (g.Basis != analysis.ByP99 || g.MixedBasis) && g.P99High > 0 { // 0: no client measured latency
		parts = append(parts, fmt.Sprintf("p99 %s ms", rangeText(g.P99Low, g.P99High)))
	}
	if f := g.Fault; f != nil {
		var fault []string
		if g.Basis != analysis.ByLostRequests || g.MixedBasis {
			fault = append(fault, fmt.Sprintf("%.0f lost", f.LostRequests))
		}
		if f.Recovered && f.RecoverySeconds > 0 {
			fault = append(fault, "replaced in "+short(1000*f.RecoverySeconds)+" ms")
		}
		if len(fault) > 0 {
			parts = append(parts, strings.Join(fault, ", "))
		}
	}
	switch {
	case !g.SharesApply:
		parts = append(parts, "one process")
	case g.Class == analysis.Even:
		parts = append(parts, "even")
	case g.BeyondChance:
		parts = append(parts, g.Class.String()+" beyond chance")
	default:
		parts = append(parts, g.Class.String()+" within chance")
	}
	head := fmt.Sprintf("%s, keep-alive %s: %s: ", g.Experiment, onOff(g.KeepAlive), strings.Join(modes, " or "))
	// Shorter forms, tried in turn until the line fits a terminal: the
	// runner-up without "within noise", then without the details between
	// the basis and the evenness (p99, then the fault), last cut short.
	fairness := parts[len(parts)-1]
	details := parts[1 : len(parts)-1]
	for _, long := range []bool{true, false} {
		for drop := 0; drop <= len(details); drop++ {
			kept := slices.Concat([]string{parts[0]}, details[drop:], []string{fairness, certaintyText(g, s, long)})
			if line := head + strings.Join(kept, "; "); visibleWidth(line, s) <= answerColumns || drop == len(details) && !long {
				return line
			}
			if long {
				break // first without "within noise", then drop details
			}
		}
	}
	panic("unreachable")
}

// fitted cuts a line that is still wider than width, without its marks,
// a last resort that the reference runs never need.
func fitted(line string, width int, s style) string {
	if visibleWidth(line, s) <= width {
		return line
	}
	if s.markdown {
		line = markless.Replace(line)
	}
	return string([]rune(line)[:width-1]) + "…"
}

var markless = strings.NewReplacer("`", "", "**", "")

// terminalColumns is the width the terminal summary fits in.
const terminalColumns = 120

// answerColumns is the width of an answer line after its two-column
// indent or "- ".
const answerColumns = terminalColumns - 2

// visibleWidth is how many columns a line takes on a terminal, without the
// Markdown marks.
func visibleWidth(line string, s style) int {
	if s.markdown {
		line = markless.Replace(line)
	}
	return utf8.RuneCountInString(line)
}

func codesOf(names []string, s style) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = s.code(n)
	}
	return out
}

// basisText says why: the figure of a single condition, or in how many
// conditions the mode was first and how far behind it was elsewhere.
func basisText(g analysis.AnswerGroup) string {
	var what, value string
	switch g.Basis {
	case analysis.ByThroughput:
		what, value = "fastest", short(g.Value)+" req/s"
	case analysis.ByServerCPU:
		what, value = "least CPU", short(g.Value)+" µs/req †"
	case analysis.ByP99:
		what, value = "lowest p99", short(g.Value)+" ms"
	case analysis.ByLostRequests:
		what, value = "fewest lost", short(g.Value)
	}
	n := len(g.Choices)
	switch {
	case n == 1 && g.Wins == 1:
		return what + " " + value
	case n == 1:
		return fmt.Sprintf("%s %s, within %.0f%% of the best", what, value, math.Ceil(100*g.Shortfall))
	case g.MixedBasis:
		what = "best"
	}
	switch {
	case g.Wins == n && n == 2:
		return what + " in both conditions"
	case g.Wins == n:
		return fmt.Sprintf("%s in all %d conditions", what, n)
	}
	return fmt.Sprintf("%s in %d of %d conditions, within %.0f%% elsewhere", what, g.Wins, n, math.Ceil(100*g.Shortfall))
}

// short is a figure to two significant digits, whole from 100 on.
func short(x float64) string {
	if math.Abs(x) >= 100 {
		return fmt.Sprintf("%.0f", x)
	}
	return strconv.FormatFloat(x, 'g', 2, 64)
}

// rangeText is "4.3" or "4.3–15".
func rangeText(lo, hi float64) string {
	if short(lo) == short(hi) {
		return short(lo)
	}
	return short(lo) + "–" + short(hi)
}

func certaintyText(g analysis.AnswerGroup, s style, long bool) string {
	switch {
	case g.Certainty == analysis.Indicative && long:
		return "n=1: indicative"
	case g.Certainty == analysis.Indicative:
		return "n=1"
	case g.Certainty == analysis.WithinNoise && long:
		return "≈ " + s.code(g.RunnerUp) + " within noise"
	case g.Certainty == analysis.WithinNoise:
		return "≈ " + s.code(g.RunnerUp)
	case len(g.Choices) == 1 && g.Choices[0].Next.Mode == "":
		return "only mode run"
	case long:
		return "CIs do not overlap"
	}
	return "CIs apart"
}

// evenestLine names the modes even most often.
func evenestLine(a analysis.Answer, s style) string {
	if len(a.Evenest) == 0 {
		return fmt.Sprintf("No mode spread connections evenly (Jain ≥ %.2f) in any condition.", analysis.EvenJain)
	}
	modes := codesOf(a.Evenest, s)
	if len(modes) > 3 {
		modes = append(modes[:3:3], fmt.Sprintf("%d more", len(a.Evenest)-3))
	}
	they := "it"
	if len(a.Evenest) > 1 {
		they = "they"
	}
	if a.EvenIn == a.In {
		return fmt.Sprintf("Even (Jain ≥ %.2f) in every condition %s ran in: %s.", analysis.EvenJain, they, strings.Join(modes, ", "))
	}
	return fmt.Sprintf("Even (Jain ≥ %.2f) most often: %s (in %d of %d conditions).", analysis.EvenJain, strings.Join(modes, ", "), a.EvenIn, a.In)
}

// effectLines state where two workers took more than 70% of the
// connections, k of n repetitions per mode, against chance.
func effectLines(e *analysis.Effect, s style) []string {
	claim := fmt.Sprintf("%.0f%%", 100*analysis.TopTwoClaim)
	switch {
	case e == nil:
		return []string{fmt.Sprintf("%s: no trial had enough connections to tell.", s.strong("Two workers taking "+claim))}
	case e.Above == 0:
		line := fmt.Sprintf("%s (%s)", s.strong("Two workers never took more than "+claim+" of connections"), plural(e.Eligible, "trial"))
		if h := e.HighestTrial; h != nil {
			line += fmt.Sprintf("; highest %.0f%% (%s, keep-alive %s)", 100*e.Highest, s.code(h.Label()), onOff(h.KeepAlive))
		}
		return []string{line + "."}
	}
	out := []string{fmt.Sprintf("%s in %d of %s:", s.strong("Two workers took more than "+claim+" of connections"), e.Above, plural(e.Eligible, "trial"))}
	for i, m := range e.Modes {
		if i == maxEffectModes {
			out = append(out, fmt.Sprintf(subLine+"and %d more modes: see the findings.", len(e.Modes)-i))
			break
		}
		p := m.Proportion
		out = append(out, fmt.Sprintf(subLine+"%s, keep-alive %s: %d of %d reps (95%% CI %s–%s); chance alone: %s (%d conns over %d workers)",
			s.code(m.Mode), onOff(m.KeepAlive), p.K, p.N, percent(p.Lo), percent(p.Hi), shortChance(m.ChanceAbove, m.Chance.TopTwo), m.Chance.Connections, m.Chance.Workers))
	}
	return out
}

// shortChance is chanceFrequency for a narrow line: "0.3%", "<1e-6".
func shortChance(p float64, d analysis.Distribution) string {
	switch {
	case p == 0 && d.Resolution > 0:
		return fmt.Sprintf("<%s", percent(d.Resolution))
	case p < 1e-6:
		return "<1e-6"
	}
	return percent(p)
}
