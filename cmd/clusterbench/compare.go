package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"clusterbench/compare"
	"clusterbench/internal/listflag"
	"clusterbench/results"
)

// exitRegression is compare's verdict that HEAD is worse than BASE.
const exitRegression = 1

func cmdCompare(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("compare", "compare [flags] BASE HEAD\n       compare [flags] DIR\n\n"+
		"Compares two runs (results.json files or run directories) point by point:\n"+
		"for every metric, the medians, the change, the Mann-Whitney U p-value and a verdict.\n"+
		"A regression is a significant change beyond the metric's threshold in the worse\n"+
		"direction, in a gated metric. The gate, thresholds and reference mode come from\n"+
		"these flags, else from BASE's scenario (its compare section), else the defaults.\n"+
		"With one run (DIR) that measured two variants (base and head, interleaved), it\n"+
		"judges head against base with a paired t-test on the log ratios of each round's\n"+
		"pair, for cpu_per_request, throughput and p99, Holm-corrected; the other metrics\n"+
		"as between two runs.\n"+
		"Exit codes: 0 no regression, 1 regression, 2 bad input or nothing to compare.\n\n"+
		"Metrics (default threshold, direction):\n"+metricList(), stderr)
	var flags results.CompareSettings
	gate, thresholds := listflag.Strings(), listflag.Strings()
	fs.Var(gate, "gate", "comma-separated metrics whose regression fails the comparison (default: BASE's, else "+strings.Join(compare.DefaultGate, ",")+")")
	fs.Var(thresholds, "threshold", "comma-separated METRIC=VALUE, e.g. throughput=5%,jain_connections=0.02")
	fs.StringVar(&flags.Reference, "reference", "", "the mode normalised metrics divide by (default: BASE's, else "+compare.DefaultReference+")")
	fs.Float64Var(&flags.Alpha, "alpha", 0, fmt.Sprintf("significance level of the Mann-Whitney U test (default: BASE's, else %g)", compare.DefaultAlpha))
	confidence := fs.Float64("confidence", compare.DefaultConfidence, "confidence level of the intervals shown")
	markdown := fs.String("export-markdown", "", "also write the Markdown summary (for a CI job summary or a pull request comment) to this file")
	jsonOut := fs.String("export-json", "", "also write the comparison as JSON to this file")
	paths, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(paths) != 1 && len(paths) != 2 {
		return usagef("compare: want BASE and HEAD, or one run with variants, got %d arguments", len(paths))
	}
	if *confidence <= 0 || *confidence >= 1 {
		return usagef("compare: --confidence: must be between 0 and 1, got %v", *confidence)
	}
	flags.Gate = gate.Values
	if flags.Thresholds, err = parseThresholds(thresholds.Values); err != nil {
		return usageError{err}
	}
	if len(paths) == 1 {
		return comparePaired(paths[0], &flags, *confidence, *markdown, *jsonOut, stdout)
	}
	base, err := results.Read(paths[0])
	if err != nil {
		return usagef("compare: BASE: %v", err)
	}
	head, err := results.Read(paths[1])
	if err != nil {
		return usagef("compare: HEAD: %v", err)
	}
	settings, err := compare.Resolve(base.Compare, &flags)
	if err != nil {
		return usagef("compare: %v", err)
	}
	settings.Confidence = *confidence
	verdict, err := compare.Compare(paths[0], base, paths[1], head, settings)
	if err != nil {
		return usagef("compare: %v", err)
	}

	if err := export(verdict, *markdown, *jsonOut); err != nil {
		return err
	}
	if err := verdict.WriteText(stdout); err != nil {
		return err
	}
	if verdict.Regressions > 0 {
		return exitStatus(exitRegression)
	}
	return nil
}

// comparePaired judges head against base within one run of two variants.
func comparePaired(path string, flags *results.CompareSettings, confidence float64, markdown, jsonOut string, stdout io.Writer) error {
	run, err := results.Read(path)
	if err != nil {
		return usagef("compare: %v", err)
	}
	settings, err := compare.Resolve(run.Compare, flags)
	if err != nil {
		return usagef("compare: %v", err)
	}
	settings.Confidence = confidence
	verdict, err := compare.Paired(path, run, settings)
	if err != nil {
		return usagef("compare: %v", err)
	}
	if err := export(verdict, markdown, jsonOut); err != nil {
		return err
	}
	if err := verdict.WriteText(stdout); err != nil {
		return err
	}
	if verdict.Regressions > 0 {
		return exitStatus(exitRegression)
	}
	return nil
}

// exported is a verdict that renders itself for other programs.
type exported interface {
	WriteMarkdown(io.Writer) error
	WriteJSON(io.Writer) error
}

// export writes the verdict's Markdown and JSON where asked.
func export(verdict exported, markdown, jsonOut string) error {
	// Render everything before writing anything, and undo a write if a
	// later one fails, so a bad output path leaves nothing half-done.
	var md, js bytes.Buffer
	if err := verdict.WriteMarkdown(&md); err != nil {
		return err
	}
	if err := verdict.WriteJSON(&js); err != nil {
		return err
	}
	var written []string
	for _, out := range []struct {
		path string
		data []byte
	}{{markdown, md.Bytes()}, {jsonOut, js.Bytes()}} {
		if out.path == "" {
			continue
		}
		if err := os.WriteFile(out.path, out.data, 0o644); err != nil {
			for _, path := range written {
				os.Remove(path)
			}
			return usagef("compare: %v", err)
		}
		written = append(written, out.path)
	}
	return nil
}

// parseThresholds reads METRIC=VALUE pairs.
func parseThresholds(pairs []string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, pair := range pairs {
		name, value, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, fmt.Errorf("--threshold: want METRIC=VALUE, got %q", pair)
		}
		m, err := compare.Lookup(name)
		if err != nil {
			return nil, fmt.Errorf("--threshold: %w", err)
		}
		v, err := m.ParseThreshold(value)
		if err != nil {
			return nil, fmt.Errorf("--threshold %s: %w", name, err)
		}
		out[name] = v
	}
	return out, nil
}

func metricList() string {
	var b strings.Builder
	for _, m := range compare.Metrics {
		kind := "relative"
		if m.Absolute {
			kind = "absolute"
		}
		fmt.Fprintf(&b, "  %-23s %s (%s %s, %s is better)\n", m.Name, m.Doc, kind, m.FormatThreshold(m.Threshold), m.Better())
	}
	return b.String()
}
