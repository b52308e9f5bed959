// Package netns starts processes in private network namespaces: a fresh
// loopback per trial, no port clashes with the host, no TIME_WAIT carried
// from one trial to the next, and firewall rules that vanish with the last
// process inside. The host's own network, firewall and sysctls are never
// touched.
//
// A process started with Isolate calls Init first thing; Init brings the new
// loopback up and marks the namespace in the environment, so that the
// process and its descendants can tell (with Private) that they are inside
// a namespace clusterbench made, and may change its firewall.
package netns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// envVar marks a private namespace: "new from NS" from Isolate (NS being
// the creator's namespace) until Init sets it up, then the namespace's own
// identity as in /proc/self/ns/net, e.g. "net:[4026532281]".
const envVar = "CLUSTERBENCH_NETNS"

const fresh = "new from "

// how is the way this host lets us make a namespace, found once.
type how struct {
	flags    uintptr // clone flags
	pidns    bool    // also a PID namespace (and a mount namespace for its /proc)
	userns   bool    // also a user namespace that maps us to root, for non-root users
	notAllow error   // why neither works
}

// contained adds a PID namespace, and a mount namespace to mount its /proc
// in: the process started is its PID 1, and when it ends the kernel kills
// everything inside, however it detached (setsid, double fork).
const contained = syscall.CLONE_NEWPID | syscall.CLONE_NEWNS

var probe = sync.OnceValue(func() how {
	for _, h := range []how{
		{flags: syscall.CLONE_NEWNET | contained, pidns: true},
		{flags: syscall.CLONE_NEWNET | syscall.CLONE_NEWUSER | contained, userns: true, pidns: true},
	} {
		if try(h) == nil {
			return h
		}
	}
	plain := try(how{flags: syscall.CLONE_NEWNET})
	if plain == nil {
		return how{flags: syscall.CLONE_NEWNET}
	}
	user := how{flags: syscall.CLONE_NEWNET | syscall.CLONE_NEWUSER, userns: true}
	viaUser := try(user)
	if viaUser == nil {
		return user
	}
	return how{notAllow: fmt.Errorf("cannot create a network namespace (%v), nor one inside a new user namespace (%v)", plain, viaUser)}
})

// try starts a trivial program the way h says and reports what went wrong.
func try(h how) error {
	path, err := exec.LookPath("true")
	if err != nil {
		return fmt.Errorf("no 'true' program to probe with: %w", err)
	}
	cmd := exec.Command(path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	apply(cmd, h)
	if err := cmd.Run(); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return pe.Err // the errno of clone or of the uid map, without "fork/exec true"
		}
		return err
	}
	return nil
}

func apply(cmd *exec.Cmd, h how) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	a := cmd.SysProcAttr
	a.Cloneflags |= h.flags
	if h.userns {
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
		a.GidMappingsEnableSetgroups = false
	}
}

// Available returns nil if this process can start others in a private
// network namespace, or why not.
func Available() error { return probe().notAllow }

// Isolate makes cmd start in a new private network namespace and, where
// allowed, as PID 1 of a new PID namespace, so that nothing it starts
// outlives it. A clusterbench child calls Init when it starts; any other
// program sees a namespace whose loopback is down.
func Isolate(cmd *exec.Cmd) error {
	h := probe()
	if h.notAllow != nil {
		return h.notAllow
	}
	creator, err := current()
	if err != nil {
		return err
	}
	apply(cmd, h)
	cmd.Env = append(cmd.Environ(), envVar+"="+fresh+creator)
	return nil
}

// Init sets up the namespace of a process started by Isolate: loopback up,
// and the mark that Private checks. It does nothing in other processes.
func Init() error {
	creator, ok := strings.CutPrefix(os.Getenv(envVar), fresh)
	if !ok {
		return nil
	}
	self, err := current()
	if err != nil {
		return err
	}
	if self == creator || isHost(self) {
		return errors.New("netns: started as if in a private network namespace, but this is not a new one")
	}
	if err := loopbackUp(); err != nil {
		return fmt.Errorf("netns: bring loopback up: %w", err)
	}
	if os.Getpid() == 1 { // PID 1 of a PID namespace of our own: /proc must show it
		if err := mountProc(); err != nil {
			return fmt.Errorf("netns: mount /proc of the new PID namespace: %w", err)
		}
	}
	return os.Setenv(envVar, self)
}

// Private reports whether this process runs in a private network namespace
// that clusterbench made (by this process or an ancestor).
func Private() bool {
	self, err := current()
	return err == nil && os.Getenv(envVar) == self && !isHost(self)
}

// isHost reports whether ns is PID 1's, where PID 1 lets us look and is
// not a process clusterbench started in a namespace of its own (the PID 1
// of a trial's PID namespace).
func isHost(ns string) bool {
	host, err := readNS(1)
	if err != nil || host != ns {
		return false
	}
	env, err := os.ReadFile("/proc/1/environ")
	return err != nil || !strings.Contains(string(env), envVar+"="+fresh)
}

// current names this process's network namespace; /proc/self is right
// even before Init mounts the /proc of a new PID namespace.
func current() (string, error) { return os.Readlink("/proc/self/ns/net") }

// mountProc shows this PID namespace in /proc, in this process's own mount
// namespace: made private first, so that nothing reaches the host's.
func mountProc() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return err
	}
	return unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
}

// readNS names a process's network namespace, e.g. "net:[4026531833]".
func readNS(pid int) (string, error) {
	return os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
}

func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}
