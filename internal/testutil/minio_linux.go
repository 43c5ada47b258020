package testutil

import (
	"os/exec"
	"syscall"
)

// killWithParent makes the kernel kill MinIO if the test binary dies
// without running its cleanups (a test timeout panics past them).
func killWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
