//go:build !linux

package testutil

import "os/exec"

// killWithParent has no portable equivalent of Linux's parent-death
// signal; t.Cleanup still stops MinIO in every ordinary exit.
func killWithParent(cmd *exec.Cmd) {}
