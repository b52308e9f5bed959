package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"clusterbench/internal/netns"
)

// splitCommand splits serve's arguments at the first "--": flags before,
// the client command after.
func splitCommand(args []string) (flags, command []string) {
	for i, a := range args {
		if a == "--" {
			return args[:i], args[i+1:]
		}
	}
	return args, nil
}

// clientGrace bounds how long the client may take to finish after it was
// asked to stop, as wrk and vegeta do on SIGINT by printing their results.
const clientGrace = 10 * time.Second

// runClient runs the user's command against the deployment at addr and
// returns when it exits. A stop signal to serve reaches the command as
// SIGINT, once; stop is called then, so a second signal ends serve at once.
func runClient(ctx context.Context, stop func(), command []string, addr string, stdout, stderr io.Writer) error {
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Env = append(os.Environ(), "CLUSTERBENCH_ADDR="+addr, "CLUSTERBENCH_URL=http://"+addr+"/")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	// Its own process group, so that a Ctrl-C reaches it once, from us;
	// killed if serve dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("serve: command: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		stop()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case err = <-done:
		case <-time.After(clientGrace):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			err = <-done
		}
		if interruptedBy(err, syscall.SIGINT) {
			err = nil // it ended as asked
		}
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // anything it left in its group
	if err != nil {
		return fmt.Errorf("serve: command %s: %w", command[0], err)
	}
	return nil
}

// serveIsolated runs serve again in a private network namespace with the
// same arguments, passes on stop signals and returns its exit code. The
// namespace, and any firewall rules in it, end with the last process inside.
func serveIsolated(ctx context.Context, command, args []string, stdout, stderr io.Writer) error {
	cmd := exec.Command(command[0], append(append(command[1:], "serve"), args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := netns.Isolate(cmd); err != nil {
		return fmt.Errorf("serve: private network namespace: %w", err)
	}
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(signals)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	forwarded := false
	for {
		select {
		case err := <-done:
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				return exitStatus(exit.ExitCode()) // it has said why
			}
			return err
		case sig := <-signals:
			if sig == syscall.SIGUSR1 { // a fault's trigger, not a stop
				_ = cmd.Process.Signal(sig)
				continue
			}
			if forwarded {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // a second Ctrl-C: at once
				continue
			}
			forwarded = true
			_ = cmd.Process.Signal(sig)
		case <-ctx.Done():
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			return ctx.Err()
		}
	}
}

// interruptedBy reports whether err is a process ending by signal sig.
func interruptedBy(err error, sig syscall.Signal) bool {
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return false
	}
	status, ok := exit.Sys().(syscall.WaitStatus)
	return ok && status.Signaled() && status.Signal() == sig
}
