package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"clusterbench/modes"
)

// App is the user's own worker app, run in place of the Go worker: any
// program that serves HTTP on the listening socket it inherits at fd 3
// (listen: fd, the LISTEN_FDS convention) or on the port in $PORT
// (listen: port). Its index is in WORKER_INDEX.
type App struct {
	Name    string   `yaml:"name" json:"name,omitempty"`
	Command []string `yaml:"command" json:"command"`
	Listen  string   `yaml:"listen" json:"listen"` // modes.ListenFD (the default) or modes.ListenPort
	// Dir is where the command runs, e.g. the checkout of one build; ""
	// for the current directory. A relative command (./server) is found there.
	Dir string `yaml:"-" json:"dir,omitempty"`
}

// Label names the app in reports: its name, or its command.
func (a *App) Label() string {
	if a.Name != "" {
		return a.Name
	}
	return strings.Join(a.Command, " ")
}

// ParseCommand reads a command from a flag: a JSON array of strings, or
// words separated by spaces.
func ParseCommand(s string) ([]string, error) {
	if strings.HasPrefix(strings.TrimSpace(s), "[") {
		var words []string
		if err := json.Unmarshal([]byte(s), &words); err != nil {
			return nil, fmt.Errorf("not a JSON array of strings: %v", err)
		}
		return words, nil
	}
	return strings.Fields(s), nil
}

// check refuses an app that cannot run: no command, a program not found,
// or a mode that cannot give it its socket.
func (a *App) check(spec modes.Spec) error {
	switch {
	case len(a.Command) == 0 || a.Command[0] == "":
		return errors.New("worker: command is required, e.g. [python3, examples/python/app.py]")
	case a.Listen != modes.ListenFD && a.Listen != modes.ListenPort:
		return fmt.Errorf("worker: listen must be %s or %s, got %q", modes.ListenFD, modes.ListenPort, a.Listen)
	}
	if _, err := exec.LookPath(a.program()); err != nil {
		return fmt.Errorf("worker: command: %v", err)
	}
	info := spec.Mode.Info()
	listens := info.AppListens
	if !slices.Contains(listens, a.Listen) {
		return fmt.Errorf("worker: mode %s cannot run an app that listens on %s (%s)", info.Name, a.Listen, canRun(listens))
	}
	if info.AppPolicies != nil && !slices.Contains(info.AppPolicies, spec.Policy) {
		return fmt.Errorf("worker: %s steers how the Go worker accepts, which your app does its own way; run it under %s",
			spec, appSpecs(info))
	}
	return nil
}

// program is the command's program as the app's directory sees it.
func (a *App) program() string {
	p := a.Command[0]
	if a.Dir != "" && strings.Contains(p, "/") && !filepath.IsAbs(p) {
		return filepath.Join(a.Dir, p)
	}
	return p
}

// appSpecs names the mode's policies a user's app can run under.
func appSpecs(info modes.Info) string {
	specs := make([]string, len(info.AppPolicies))
	for i, p := range info.AppPolicies {
		specs[i] = info.Name + ":" + p
	}
	return strings.Join(specs, " or ")
}

// canRun says which apps a mode can run.
func canRun(listens []string) string {
	if len(listens) == 0 {
		return "it runs only its own worker app"
	}
	return "it can give an app: " + strings.Join(listens, " or ")
}
