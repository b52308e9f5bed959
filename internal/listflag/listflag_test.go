package listflag

import (
	"flag"
	"io"
	"slices"
	"testing"
)

func TestLists(t *testing.T) {
	words, ints, bools := Strings(), Ints(0), Bools(true)
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(words, "mode", "")
	fs.Var(ints, "rate", "")
	fs.Var(bools, "keepalive", "")
	if ints.String() != "0" || bools.String() != "true" || words.String() != "" {
		t.Fatalf("defaults: got %q %q %q", words, ints, bools)
	}
	if err := fs.Parse([]string{"--mode", "shared, reuseport,,", "--rate", "100, 2000", "--keepalive=true,false"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"shared", "reuseport"}; !slices.Equal(words.Values, want) {
		t.Errorf("mode: got %q, want %q", words.Values, want)
	}
	if want := []int{100, 2000}; !slices.Equal(ints.Values, want) {
		t.Errorf("rate: got %v, want %v", ints.Values, want)
	}
	if want := []bool{true, false}; !slices.Equal(bools.Values, want) {
		t.Errorf("keepalive: got %v, want %v", bools.Values, want)
	}
	if err := fs.Parse([]string{"--keepalive"}); err != nil || !slices.Equal(bools.Values, []bool{true}) {
		t.Errorf("bare --keepalive: got %v, %v; want [true]", bools.Values, err)
	}
	for _, bad := range []struct{ flag, value, want string }{
		{"rate", "1,x", `"x" is not a whole number`},
		{"rate", "1,", `"" is not a whole number`},
		{"keepalive", "yes", `"yes" is not true or false`},
	} {
		err := fs.Lookup(bad.flag).Value.Set(bad.value)
		if err == nil || err.Error() != bad.want {
			t.Errorf("--%s %s: got %v, want %s", bad.flag, bad.value, err, bad.want)
		}
	}
}
