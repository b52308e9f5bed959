package scenarios

import (
	"strings"
	"testing"
	"time"
)

const variantsHead = `name: ab
experiments:
  - name: ab
    modes: [reuseport]
    keepalive: [true, false]
    handler: {name: app, cpu: 200us}
    load: {duration: 1s, warmup: 0s}
    reps: 2
`

// Every point and round runs once per variant, base first in odd rounds
// and head first in even ones, with the variant's handler and the
// experiment's handler name.
func TestVariantsInterleave(t *testing.T) {
	f, err := Parse("ab.yaml", []byte(variantsHead+"variants:\n  base: {}\n  head: {handler: {cpu: 220us}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, tr := range f.Trials() {
		order = append(order, tr.Variant)
		want := 200 * time.Microsecond
		if tr.Variant == Head {
			want = 220 * time.Microsecond
		}
		if tr.Handler.CPU != want || tr.Handler.Name != "app" {
			t.Errorf("%s round %d: handler %s %v; want app %v", tr.Variant, tr.Rep, tr.Handler.Name, tr.Handler.CPU, want)
		}
	}
	want := "base head base head head base head base"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("order: got %s; want %s", got, want)
	}
}

func TestVariantsErrors(t *testing.T) {
	for _, c := range []struct{ name, variants, want string }{
		{"unknown key", "variants:\n  base: {}\n  head: {cpu: 1ms}\n", `ab.yaml:11: unknown field "cpu" in variant`},
		{"unknown variant", "variants:\n  base: {}\n  other: {}\n", `ab.yaml:11: unknown field "other" in variants`},
		{"head missing", "variants:\n  base: {}\n", "ab.yaml:10: variants: head is missing"},
		{"no such dir", "variants:\n  base: {}\n  head: {app: ./server, dir: /nonexistent/x}\n", "ab.yaml:11: variants: head: dir /nonexistent/x is not a directory"},
		{"no such bin", "variants:\n  base: {bin: /nonexistent/clusterbench}\n  head: {}\n", "ab.yaml:10: variants: base: bin /nonexistent/clusterbench is not an executable file"},
		{"app and bin", "variants:\n  base: {app: ./server, bin: /bin/sh}\n  head: {}\n", "ab.yaml:10: variants: base: give app"},
		{"dir without app", "variants:\n  base: {dir: /tmp}\n  head: {}\n", "ab.yaml:10: variants: base: dir is where an app runs"},
		{"bad listen", "variants:\n  base: {app: ./server, listen: socket}\n  head: {}\n", "ab.yaml:10: variants: base: listen must be"},
		{"bad handler", "variants:\n  base: {handler: {cpu: 20s}}\n  head: {}\n", "ab.yaml:10: cpu: must be at most 10s"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("ab.yaml", []byte(variantsHead+c.variants))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v; want %s", err, c.want)
			}
		})
	}
}
