package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"clusterbench/internal/netns"
	"clusterbench/scenarios"
	"clusterbench/trial"
	"clusterbench/worker"
)

// Exit codes, part of the CLI contract.
const (
	exitOK     = 0
	exitUsage  = 2
	exitFailed = 3
)

// usageError is bad input: exit code 2, nothing written.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitStatus is an exit code whose reason has already been said: a child
// clusterbench's, or compare's verdict.
type exitStatus = trial.ExitStatus

const usage = `clusterbench: how should a multi-process server spread connections over its workers?

Usage:
  clusterbench run [flags] [FILE]        run a scenario file, or one experiment from flags
  clusterbench serve [flags]             run one deployment until interrupted
  clusterbench serve [flags] -- CMD...   run one deployment while CMD (e.g. wrk) runs against it
  clusterbench serve -o DIR [flags]      ... and record what its workers served (a load from elsewhere)
  clusterbench split [flags]             divide one trial's load between load hosts (vegeta, Kubernetes)
  clusterbench merge [flags] DIR FILE... merge the load hosts' vegeta results into serve's record DIR
  clusterbench report DIR                re-render DIR/report.md, the plots and bench.txt from DIR/results.json
  clusterbench compare [flags] BASE HEAD judge HEAD against BASE: exit 1 on a regression
  clusterbench compare [flags] DIR       judge variant head against base within one run (paired)
  clusterbench modes                     list distribution modes and whether they run here

Run "clusterbench COMMAND --help" for a command's flags.
Exit codes: 0 success, 1 a regression (compare), 2 bad input or usage, 3 a run that could not complete.
`

// run is the whole command line; main only calls it, so tests can too.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := netns.Init() // first: a process started in a new namespace sets it up
	if err == nil {
		err = dispatch(ctx, args, stdout, stderr)
	}
	var child exitStatus
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &child):
		return int(child)
	case isUsage(err):
		fmt.Fprintf(stderr, "clusterbench: %v\n", err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "clusterbench: %v\n", err)
		return exitFailed
	}
}

func isUsage(err error) bool {
	var u usageError
	var s *scenarios.Error
	return errors.As(err, &u) || errors.As(err, &s)
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usagef("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return cmdRun(ctx, rest, stdout, stderr)
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "report":
		return cmdReport(rest, stdout, stderr)
	case "split":
		return cmdSplit(rest, stdout, stderr)
	case "merge":
		return cmdMerge(rest, stdout, stderr)
	case "compare":
		return cmdCompare(rest, stdout, stderr)
	case "modes":
		return cmdModes(rest, stdout, stderr)
	case trial.Command:
		// Hidden: how run measures one trial in a process of its own.
		return cmdTrial(ctx, os.Stdin, stdout, stderr)
	case trial.WorkerCommand:
		// Hidden: how a deployment starts the worker app (this binary, re-run).
		return worker.Main(rest)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usagef("unknown command %q", cmd)
}

// cmdTrial is the trial process: the trial comes as JSON on stdin.
func cmdTrial(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	var req trial.Request
	if err := json.NewDecoder(stdin).Decode(&req); err != nil {
		return usagef("%s: bad request on stdin: %v", trial.Command, err)
	}
	command, err := self()
	if err != nil {
		return err
	}
	return trial.Child(ctx, command, req, stdout, stderr)
}

// newFlagSet returns a flag set whose errors are usage errors.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: clusterbench %s\n", synopsis)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintf(stderr, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses flags wherever they stand, before or after the
// positional arguments (as in `run FILE -o DIR`), and returns the positional
// ones. "--" ends the flags.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// self is the command that re-runs this executable, e.g. as a worker.
func self() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find my own executable: %w", err)
	}
	return []string{exe}, nil
}
