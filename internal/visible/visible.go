// Package visible shows control characters instead of obeying them: text
// that is not ours (names from a record, an app's error output) must not
// move the cursor, colour a terminal or start a line of its own.
package visible

import (
	"fmt"
	"strings"
	"unicode"
)

// Text returns s with its control characters shown as Go escapes.
func Text(s string) string {
	var b strings.Builder
	for _, r := range s {
		WriteRune(&b, r)
	}
	return b.String()
}

// WriteRune writes r, or a control character (line breaks, escape codes,
// bidirectional overrides) as its Go escape, e.g. \n or \x1b.
func WriteRune(b *strings.Builder, r rune) {
	if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' || r == unicode.ReplacementChar {
		q := fmt.Sprintf("%+q", string(r))
		b.WriteString(q[1 : len(q)-1])
		return
	}
	b.WriteRune(r)
}
