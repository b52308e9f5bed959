// Package denyns lets tests run a program where network namespaces are not
// allowed, for real rather than by pretending: inside a user namespace
// whose limit on further user namespaces is zero, as root without
// CAP_SYS_ADMIN. Creating a network namespace then fails with EPERM, and
// creating a user namespace to get around it fails with ENOSPC, as on a
// host that forbids both. The host loopback stays reachable.
package denyns

import (
	"fmt"
	"os/exec"
)

// Wrap rewrites cmd to run under those restrictions. It needs unshare and
// setpriv from util-linux.
func Wrap(cmd *exec.Cmd) error {
	for _, tool := range []string{"unshare", "setpriv", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("denyns: %s not found (install util-linux): %w", tool, err)
		}
	}
	const script = `echo 0 > /proc/sys/user/max_user_namespaces && exec setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin "$@"`
	args := append([]string{"unshare", "--user", "--map-root-user", "sh", "-c", script, "denyns"}, cmd.Args...)
	args[len(args)-len(cmd.Args)] = cmd.Path
	wrapped := exec.Command(args[0], args[1:]...)
	cmd.Path, cmd.Args, cmd.Err = wrapped.Path, wrapped.Args, wrapped.Err
	return nil
}
