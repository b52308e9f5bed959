// Package listflag is a flag.Value for comma-separated lists, such as
// --workers 2,8 or --keepalive true,false: one experiment from flags
// sweeps a condition as a scenario file's list does.
package listflag

import (
	"fmt"
	"strconv"
	"strings"
)

// List is a comma-separated list of T. Setting it replaces its defaults.
type List[T any] struct {
	Values []T
	parse  func(string) (T, error)
	format func(T) string
	// skipEmpty drops empty items ("a,,b") instead of refusing them.
	skipEmpty bool
	isBool    bool
}

// Strings is a list of words; empty items are dropped.
func Strings(defaults ...string) *List[string] {
	return &List[string]{Values: defaults, skipEmpty: true,
		parse: func(s string) (string, error) { return strings.TrimSpace(s), nil }, format: func(s string) string { return s }}
}

// Ints is a list of whole numbers.
func Ints(defaults ...int) *List[int] {
	return &List[int]{Values: defaults, format: strconv.Itoa, parse: func(s string) (int, error) {
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return 0, fmt.Errorf("%q is not a whole number", s)
		}
		return v, nil
	}}
}

// Bools is a list of booleans; the flag given bare means true.
func Bools(defaults ...bool) *List[bool] {
	return &List[bool]{Values: defaults, isBool: true, format: strconv.FormatBool, parse: func(s string) (bool, error) {
		v, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return false, fmt.Errorf("%q is not true or false", s)
		}
		return v, nil
	}}
}

// IsBoolFlag lets a list of booleans be given bare, as --keepalive.
func (l *List[T]) IsBoolFlag() bool { return l.isBool }

func (l *List[T]) String() string {
	if l == nil || l.format == nil { // the flag package's zero value, for --help
		return ""
	}
	parts := make([]string, len(l.Values))
	for i, v := range l.Values {
		parts[i] = l.format(v)
	}
	return strings.Join(parts, ",")
}

func (l *List[T]) Set(s string) error {
	l.Values = nil
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" && l.skipEmpty {
			continue
		}
		v, err := l.parse(part)
		if err != nil {
			return err
		}
		l.Values = append(l.Values, v)
	}
	return nil
}
