package scenarios

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"clusterbench/metric"
	"clusterbench/modes"
	"clusterbench/plan"
)

// Error is a mistake in a scenario file, at a line.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// field describes one key of the schema.
type field struct {
	many    bool                   // one value, or a list of them
	section string                 // the value is a mapping of this section
	check   func(*yaml.Node) error // the value is a scalar checked by this
}

// schema lists every key a scenario may use, by section.
var schema = map[string]map[string]field{
	"file": {
		"name":        {check: isString},
		"description": {check: isString},
		"netns":       {check: isBool},
		"experiments": {many: true, section: "experiment"},
		"compare":     {section: "compare"},
		"variants":    {section: "variants"},
	},
	"variants": {
		"base": {section: "variant"},
		"head": {section: "variant"},
	},
	"variant": {
		"app":     {check: isString},
		"listen":  {check: isString},
		"dir":     {check: isString},
		"bin":     {check: isString},
		"handler": {section: "variant_handler"},
	},
	"variant_handler": {
		"cpu":        {check: durationIn(plan.Limits.HandlerCPU)},
		"sleep":      {check: durationIn(plan.Limits.HandlerSleep)},
		"body_bytes": {check: intIn(plan.Limits.BodyBytes)},
	},
	"compare": {
		"reference":  {check: isMode},
		"gate":       {many: true, check: isMetric},
		"thresholds": {section: "thresholds"},
		"alpha":      {check: isFraction},
	},
	"thresholds": thresholdKeys(),
	"experiment": {
		"name":      {check: isName},
		"modes":     {many: true, check: isMode},
		"workers":   {many: true, check: intIn(plan.Limits.Workers)},
		"keepalive": {many: true, check: isBool},
		"handler":   {many: true, section: "handler"},
		"load":      {many: true, section: "load"},
		"reps":      {check: intIn(plan.Limits.Reps)},
		"required":  {many: true, check: isModeName},
		"proxy":     {section: "proxy"},
		"loadgen":   {check: isEngine},
		"cpus":      {section: "cpus"},
		"fault":     {section: "fault"},
		"worker":    {section: "worker"},
	},
	"worker": {
		"name":    {check: isName},
		"command": {many: true, check: isString},
		"listen":  {check: isString},
	},
	"fault": {
		"kill":          {check: isKill},
		"at":            {check: durationIn(plan.Limits.Duration)},
		"signal":        {check: isSignal},
		"respawn":       {check: isBool},
		"respawn_delay": {check: durationIn(plan.Limits.RespawnDelay)},
	},
	"cpus": {
		"loadgen": {check: isCPUList},
		"server":  {check: isCPUList},
	},
	"proxy": {
		"processes":          {check: intIn(plan.Limits.ProxyProcesses)},
		"upstream_keepalive": {check: isBool},
	},
	"handler": {
		"name":       {check: isName},
		"body_bytes": {check: intIn(plan.Limits.BodyBytes)},
		"cpu":        {check: durationIn(plan.Limits.HandlerCPU)},
		"sleep":      {check: durationIn(plan.Limits.HandlerSleep)},
		"tail":       {section: "tail"},
	},
	"tail": {
		"fraction": {check: isFraction},
		"cpu":      {check: durationIn(plan.Limits.HandlerCPU)},
	},
	"load": {
		"name":            {check: isName},
		"loadgen":         {check: isEngine},
		"rate":            {check: intIn(plan.Limits.Rate)},
		"duration":        {check: durationIn(plan.Limits.Duration)},
		"warmup":          {check: durationIn(plan.Limits.Warmup)},
		"concurrency":     {check: intIn(plan.Limits.Concurrency)},
		"max_connections": {check: intIn(plan.Limits.MaxConnections)},
		"timeout":         {check: durationIn(plan.Limits.Timeout)},
	},
}

// Read reads and checks a scenario file.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	return Parse(path, data)
}

// Parse checks and decodes a scenario; path only names it in errors.
func Parse(path string, data []byte) (*File, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(path, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &Error{File: path, Msg: "empty scenario: expected a mapping with experiments"}
	}
	root := doc.Content[0]
	if err := walk(root, "file"); err != nil {
		var le *lineError
		if errors.As(err, &le) {
			return nil, &Error{File: path, Line: le.line, Msg: le.msg}
		}
		return nil, &Error{File: path, Msg: err.Error()}
	}
	f := &File{Path: path, Source: string(data)}
	if err := root.Decode(f); err != nil {
		return nil, yamlError(path, err)
	}
	if len(f.Experiments) == 0 {
		return nil, &Error{File: path, Line: root.Line, Msg: "no experiments"}
	}
	experiments := lookup(root, "experiments")
	seen := map[string]bool{}
	for i := range f.Experiments {
		e := &f.Experiments[i]
		line := experiments.Content[i].Line
		if len(e.Modes) == 0 {
			return nil, &Error{File: path, Line: line, Msg: fmt.Sprintf("experiment %d: modes is required (known: %s)", i+1, strings.Join(modes.Names(), ", "))}
		}
		e.fillDefaults(i + 1)
		node := experiments.Content[i]
		if err := e.checkRequired(); err != nil {
			return nil, &Error{File: path, Line: lookup(node, "required").Line, Msg: err.Error()}
		}
		if seen[e.Name] {
			return nil, &Error{File: path, Line: line, Msg: fmt.Sprintf("experiment name %q used twice", e.Name)}
		}
		if li, err := e.checkLoadNames(); err != nil {
			return nil, &Error{File: path, Line: loadLine(node, li, line), Msg: err.Error()}
		}
		for _, t := range e.trials(1) {
			if err := t.Validate(); err != nil {
				return nil, &Error{File: path, Line: e.lineOf(err, t, node, line), Msg: err.Error()}
			}
		}
		seen[e.Name] = true
	}
	if err := f.parseVariants(path, root); err != nil {
		return nil, err
	}
	if err := f.checkRunTime(); err != nil {
		return nil, &Error{File: path, Line: experiments.Line, Msg: err.Error()}
	}
	if err := f.checkReference(); err != nil {
		line := lookup(root, "compare").Line
		if ref := lookup(lookup(root, "compare"), "reference"); ref != nil {
			line = ref.Line
		}
		return nil, &Error{File: path, Line: line, Msg: err.Error()}
	}
	return f, nil
}

// parseVariants checks the variants section, if any: both variants, each
// of them sound, and every trial they make.
func (f *File) parseVariants(path string, root *yaml.Node) error {
	section := lookup(root, "variants")
	if section == nil {
		return nil
	}
	at := func(name string, err error) error {
		line := section.Line
		if n := lookup(section, name); n != nil {
			line = n.Line
		}
		return &Error{File: path, Line: line, Msg: err.Error()}
	}
	for _, name := range []string{Base, Head} {
		if lookup(section, name) == nil {
			return at("", fmt.Errorf("variants: %s is missing: a comparison needs both base and head", name))
		}
	}
	if name, err := f.checkVariants(); err != nil {
		return at(name, err)
	}
	for i := range f.Experiments {
		for _, t := range f.variantTrials(f.Experiments[i].trials(1)) {
			if err := t.Validate(); err != nil {
				return at(t.Variant, fmt.Errorf("variant %s: %w", t.Variant, err))
			}
		}
	}
	return nil
}

// loadLine is the line of the experiment's load i, or line if it has none.
func loadLine(experiment *yaml.Node, i, line int) int {
	if loads := lookup(experiment, "load"); loads != nil {
		return loads.Content[i].Line // a list, once walked
	}
	return line
}

// lineOf is the line of the part of the experiment that made trial t
// invalid: its load, CPUs, fault or worker app; else the experiment's.
func (e *Experiment) lineOf(err error, t plan.Trial, experiment *yaml.Node, line int) int {
	var inv *plan.Invalid
	if !errors.As(err, &inv) || inv.Part == "" {
		return line
	}
	if inv.Part == plan.PartLoad {
		return loadLine(experiment, slices.IndexFunc(e.Loads, func(l Load) bool { return l.Name == t.Load.Name }), line)
	}
	if n := lookup(experiment, string(inv.Part)); n != nil {
		return n.Line
	}
	return line
}

// checkReference refuses a gate on normalised metrics whose reference mode
// never runs: the comparison could not compute them.
func (f *File) checkReference() error {
	if f.Compare == nil {
		return nil
	}
	var normalised []string
	for _, name := range f.Compare.Gate {
		if m, _ := metric.Lookup(name); m.Normalised { // names checked line by line
			normalised = append(normalised, name)
		}
	}
	if len(normalised) == 0 {
		return nil
	}
	ref := f.Compare.Reference
	if ref == "" {
		ref = metric.DefaultReference
	}
	spec, err := modes.ParseSpec(ref)
	if err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	for _, e := range f.Experiments {
		if len(e.Modes) > 1 && slices.ContainsFunc(e.Modes, func(m modes.Spec) bool { return m.String() == spec.String() }) {
			return nil
		}
	}
	return fmt.Errorf("compare: the gate has %s, normalised by the reference mode %s, but no experiment runs %s beside another mode", strings.Join(normalised, ", "), spec, spec)
}

type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

func errAt(n *yaml.Node, format string, args ...any) error {
	return &lineError{line: n.Line, msg: fmt.Sprintf(format, args...)}
}

// walk checks n against a section of the schema and turns every single
// value of a "many" key into a one-element list, so that decoding sees lists.
func walk(n *yaml.Node, section string) error {
	if n.Kind != yaml.MappingNode {
		return errAt(n, "%s: expected a mapping of keys to values", section)
	}
	keys := schema[section]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f, ok := keys[k.Value]
		if !ok {
			return errAt(k, "unknown field %q in %s (known: %s)", k.Value, section, knownKeys(keys))
		}
		if f.many && v.Kind != yaml.SequenceNode {
			wrapped := *v
			*v = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: v.Line, Column: v.Column, Content: []*yaml.Node{&wrapped}}
		}
		items := []*yaml.Node{v}
		if f.many {
			items = v.Content
			if len(items) == 0 {
				return errAt(v, "%s: empty list", k.Value)
			}
		}
		for _, item := range items {
			var err error
			if f.section != "" {
				err = walk(item, f.section)
			} else {
				err = checkScalar(k.Value, item, f.check)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func checkScalar(key string, n *yaml.Node, check func(*yaml.Node) error) error {
	if n.Kind != yaml.ScalarNode {
		return errAt(n, "%s: expected a single value", key)
	}
	if err := check(n); err != nil {
		return errAt(n, "%s: %v", key, err)
	}
	return nil
}

func knownKeys(keys map[string]field) string {
	var names []string
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func isString(n *yaml.Node) error {
	if n.Tag != "!!str" {
		return fmt.Errorf("%q is not a string", n.Value)
	}
	return nil
}

// isName accepts a name that reaches reports and file names: see plan.CheckName.
func isName(n *yaml.Node) error {
	if err := isString(n); err != nil {
		return err
	}
	return plan.CheckName(n.Value)
}

func isBool(n *yaml.Node) error {
	if n.Tag != "!!bool" {
		return fmt.Errorf("%q is not true or false", n.Value)
	}
	return nil
}

func isMetric(n *yaml.Node) error {
	_, err := metric.Lookup(n.Value)
	return err
}

// thresholdKeys allows one key per metric, each a number or a percentage.
func thresholdKeys() map[string]field {
	keys := map[string]field{}
	for _, m := range metric.All {
		keys[m.Name] = field{check: func(n *yaml.Node) error {
			if n.Tag != "!!str" && n.Tag != "!!int" && n.Tag != "!!float" {
				return fmt.Errorf("%q is not a number or a percentage", n.Value)
			}
			_, err := m.ParseThreshold(n.Value)
			return err
		}}
	}
	return keys
}

func isFraction(n *yaml.Node) error {
	v, err := strconv.ParseFloat(n.Value, 64)
	if (n.Tag != "!!float" && n.Tag != "!!int") || err != nil {
		return fmt.Errorf("%q is not a number", n.Value)
	}
	if v <= 0 || v >= 1 {
		return fmt.Errorf("must be between 0 and 1, got %v", v)
	}
	return nil
}

func isEngine(n *yaml.Node) error {
	_, err := plan.ParseEngine(n.Value)
	return err
}

// isCPUList accepts a CPU list; a bare number is rewritten as a string,
// the type the list is kept in.
func isCPUList(n *yaml.Node) error {
	if n.Tag == "!!int" {
		n.Tag = "!!str"
	}
	if n.Tag != "!!str" {
		return fmt.Errorf("%q is not a CPU list (like 0, 0-3 or 0,2-3)", n.Value)
	}
	_, err := plan.ParseCPUs(n.Value)
	return err
}

func isModeName(n *yaml.Node) error {
	if strings.Contains(n.Value, ":") {
		return fmt.Errorf("name a mode without its policy, got %q", n.Value)
	}
	_, err := modes.Lookup(n.Value)
	return err
}

func isMode(n *yaml.Node) error {
	_, err := modes.ParseSpec(n.Value)
	return err
}

func intIn(limit plan.IntLimit) func(*yaml.Node) error {
	return func(n *yaml.Node) error {
		v, err := strconv.Atoi(n.Value)
		if n.Tag != "!!int" || err != nil {
			return fmt.Errorf("%q is not a whole number", n.Value)
		}
		return limit.Check(v)
	}
}

func durationIn(limit plan.DurationLimit) func(*yaml.Node) error {
	return func(n *yaml.Node) error {
		// A bare 0 needs no unit; it is rewritten as "0s" because the YAML
		// decoder only turns strings into durations (as walk normalises lists).
		if n.Tag == "!!int" && n.Value == "0" {
			n.Tag, n.Value = "!!str", "0s"
		}
		d, err := time.ParseDuration(n.Value)
		if n.Tag != "!!str" || err != nil {
			return fmt.Errorf("%q is not a duration (like 500ms, 5s, 200us)", n.Value)
		}
		return limit.Check(d)
	}
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// yamlError turns the YAML library's message into file:line: message.
func yamlError(path string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: path, Line: line, Msg: strings.SplitN(m[2], "\n", 2)[0]}
	}
	return &Error{File: path, Msg: strings.SplitN(msg, "\n", 2)[0]}
}
