package plan

import (
	"strings"
	"testing"

	"clusterbench/modes"
)

func TestCheckName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"max-rate", true},
		{"cpu-200µs-sleep-5ms", true},
		{"node_vs.go+1", true},
		{"2workers", true},
		{strings.Repeat("a", MaxNameLen), true},
		{"", false},
		{strings.Repeat("a", MaxNameLen+1), false},
		{strings.Repeat("a", 5000), false},
		{"-leading-dash", false},
		{".hidden", false},
		{"two words", false},
		{"new\nline", false},
		{"a|b", false},
		{"![x](http://example.invalid/a.png)", false},
		{"red\x1b[31m", false},
		{"a/b", false},
		{"a=b", false},
		{"back`tick", false},
		{"right\u202eleft", false},
		{"caf\xe9", false}, // not UTF-8
	} {
		if err := CheckName(tt.name); (err == nil) != tt.ok {
			t.Errorf("CheckName(%q) = %v; want ok %v", tt.name, err, tt.ok)
		}
	}
}

func TestValidateChecksEveryName(t *testing.T) {
	shared, err := modes.ParseSpec("shared")
	if err != nil {
		t.Fatal(err)
	}
	valid := func() Trial {
		return Trial{Experiment: "e", Deployment: Deployment{Mode: shared, Workers: 1, Handler: DefaultHandler}, Load: Load{Name: "l", Engine: Vegeta, Duration: 1e9, Concurrency: 1, Timeout: 1e9}}
	}
	base := valid()
	if err := base.Validate(); err != nil {
		t.Fatalf("valid trial: %v", err)
	}
	for _, tt := range []struct {
		what  string
		spoil func(*Trial)
		part  Part
	}{
		{"experiment", func(tr *Trial) { tr.Experiment = "a\nb" }, ""},
		{"load", func(tr *Trial) { tr.Load.Name = "a|b" }, PartLoad},
		{"handler", func(tr *Trial) { tr.Handler.Name = strings.Repeat("h", 5000) }, PartHandler},
	} {
		tr := valid()
		tt.spoil(&tr)
		err := tr.Validate()
		inv, ok := err.(*Invalid)
		if !ok || inv.Part != tt.part || !strings.HasPrefix(err.Error(), tt.what+": ") {
			t.Errorf("bad %s name: Validate = %v; want an error of part %q naming it", tt.what, err, tt.part)
		}
	}
}
