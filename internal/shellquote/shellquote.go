// Package shellquote writes words as a POSIX shell reads them back: the
// command line a record keeps, and the scripts clusterbench writes for
// other machines to run.
package shellquote

import "strings"

// Join is args as one command line, each quoted where it needs it.
func Join(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = Quote(a)
	}
	return strings.Join(quoted, " ")
}

// Quote quotes s for a POSIX shell when it needs it: in single quotes,
// where nothing is special but the quote itself.
func Quote(s string) string {
	const plain = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=+,.:/@%"
	if s != "" && strings.Trim(s, plain) == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
