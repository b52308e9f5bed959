package report

import (
	"encoding/json"
	"reflect"
	"strings"

	"clusterbench/internal/visible"
	"clusterbench/results"
)

// A record's text is the user's (names, paths, an app's error output) and
// may be hand-edited, so every destination escapes it in one place: the
// record is copied with each of its strings escaped for where it goes
// (escaped), bench.txt names go through benchKey and plot files through
// fileSafe.

// markdownSpecial are the characters that would make Markdown of a name:
// links and images, HTML, code spans, emphasis, headings and table cells.
// '_' is left alone: it only emphasises at a word's edge, never reshapes
// a document, and the record's own words (http_502, least_conn) carry it.
const markdownSpecial = "\\`*[]<>|#"

// markdownText escapes s for Markdown text, a table cell or a list item,
// and shows its control characters instead of obeying them, so that it
// stays one line of text.
func markdownText(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(markdownSpecial, r) {
			b.WriteByte('\\')
		}
		visible.WriteRune(&b, r)
	}
	return b.String()
}

// escaped returns a copy of r with every string in it, map keys included,
// passed through escape: the one place a renderer makes the record's text
// safe for its destination.
func escaped(r *results.Run, escape func(string) string) (*results.Run, error) {
	// A copy through JSON, the record's own form, shares nothing with r.
	data, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	var c results.Run
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, err
	}
	escapeStrings(reflect.ValueOf(&c).Elem(), escape)
	return &c, nil
}

func escapeStrings(v reflect.Value, escape func(string) string) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			v.SetString(escape(v.String()))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			escapeStrings(v.Elem(), escape)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				escapeStrings(v.Field(i), escape)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			escapeStrings(v.Index(i), escape)
		}
	case reflect.Map:
		if v.IsNil() || v.Type().Key().Kind() != reflect.String {
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			val := reflect.New(v.Type().Elem()).Elem()
			val.Set(it.Value())
			escapeStrings(val, escape)
			m.SetMapIndex(reflect.ValueOf(escape(it.Key().String())).Convert(v.Type().Key()), val)
		}
		v.Set(m)
	}
}

// EscapeMarkdown is this package's Markdown escaping of a
// record's text, for the other renderer of records, compare.
func EscapeMarkdown(s string) string { return markdownText(s) }
