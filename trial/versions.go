package trial

import (
	"context"
	"os/exec"
	"regexp"
	"runtime/debug"
	"time"

	"clusterbench/modes"
	"clusterbench/plan"
	"clusterbench/results"
)

// A run records the version of every program its trials used, since a
// proxy or a load generator of another version may measure otherwise.
// Each is asked once per run, when the first trial that uses it starts.

// vegetaModule is the load generator linked into clusterbench: its
// version is the module's, from the build, not a program's answer.
const vegetaModule = "github.com/tsenart/vegeta/v12"

// programVersions says how each program tells its version and how to
// read the answer; their outputs differ (nginx writes to stderr, wrk
// exits 1 after its usage).
var programVersions = map[string]struct {
	args  []string
	parse func(output string) string
}{
	"nginx":   {[]string{"-v"}, versionAfter(`nginx version: (?:nginx/)?(\S+)`)},
	"haproxy": {[]string{"-v"}, versionAfter(`HA-?Proxy version (\S+)`)},
	"node":    {[]string{"--version"}, versionAfter(`^\s*(v\d\S*)`)},
	"wrk":     {[]string{"-v"}, versionAfter(`^\s*wrk (\S+)`)},
}

// versionAfter returns a parser that takes the first submatch of
// pattern, or "" when the output does not match.
func versionAfter(pattern string) func(string) string {
	re := regexp.MustCompile(pattern)
	return func(output string) string {
		if m := re.FindStringSubmatch(output); m != nil {
			return m[1]
		}
		return ""
	}
}

// programsOf names the programs whose versions a trial depends on: the
// mode's own (a proxy, Node.js), a user's app run by one of them from
// PATH (node app.js), and the load generator, unless the load came from
// elsewhere (serve's record).
func programsOf(t plan.Trial) []string {
	var names []string
	if u, ok := t.Mode.Mode.(modes.ProgramUser); ok {
		names = append(names, u.Programs()...)
	}
	if t.App != nil && len(t.App.Command) > 0 {
		if _, known := programVersions[t.App.Command[0]]; known {
			names = append(names, t.App.Command[0])
		}
	}
	if t.Load.Engine == "" {
		return names
	}
	return append(names, t.Load.Engine.String())
}

// notePrograms records in h the version of each program t uses that the
// run has not asked yet.
func notePrograms(h *results.Host, t plan.Trial) {
	for _, name := range programsOf(t) {
		if _, ok := h.Programs[name]; ok {
			continue
		}
		if h.Programs == nil {
			h.Programs = map[string]string{}
		}
		h.Programs[name] = programVersion(name)
	}
}

// unknownVersion is recorded for a program that would not say.
const unknownVersion = "unknown"

// programVersion asks a program in PATH for its version, or reads the
// build's for vegeta.
func programVersion(name string) string {
	if name == plan.Vegeta.String() {
		info, _ := debug.ReadBuildInfo()
		return moduleVersion(info, vegetaModule)
	}
	how, ok := programVersions[name]
	if !ok {
		return unknownVersion
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The exit status says nothing: wrk -v exits 1 after printing it.
	out, _ := exec.CommandContext(ctx, name, how.args...).CombinedOutput()
	if v := how.parse(string(out)); v != "" {
		return v
	}
	return unknownVersion
}

// moduleVersion is the version of the module at path that the build
// linked in, following a replace directive.
func moduleVersion(info *debug.BuildInfo, path string) string {
	if info == nil {
		return unknownVersion
	}
	for _, m := range info.Deps {
		if m.Path != path {
			continue
		}
		if m.Replace != nil {
			m = m.Replace
		}
		if m.Version == "" {
			return unknownVersion
		}
		return m.Version
	}
	return unknownVersion
}

// toolVersion says which clusterbench ran: the commit it was built from
// (+modified for a changed tree), else its module version, else "devel"
// (go test binaries carry no VCS information).
func toolVersion(info *debug.BuildInfo) string {
	if info == nil {
		return "devel"
	}
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	switch {
	case revision != "" && modified == "true":
		return revision + "+modified"
	case revision != "":
		return revision
	case info.Main.Version != "" && info.Main.Version != "(devel)":
		return info.Main.Version
	}
	return "devel"
}
