//go:build unix

package tool

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// ownGroup starts the tool in a process group of its own, and makes
// cancellation kill the whole group: a tool that forks (or a wrapper
// script around it) must not leave a child behind holding the pipes.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return kill(cmd) }
}

// kill sends SIGKILL to the tool's process group.
func kill(cmd *exec.Cmd) error {
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}
