package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// serverProcess is a server a test started: exited closes when it ends.
type serverProcess struct {
	exited chan struct{}
	cmd    *exec.Cmd
}

// startServer starts cmd with its output in log, killed with the test
// binary should that die. The caller registers stop as a cleanup.
func startServer(cmd *exec.Cmd, log *os.File) (*serverProcess, error) {
	cmd.Stdout, cmd.Stderr = log, log
	killWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &serverProcess{exited: make(chan struct{}), cmd: cmd}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// stop asks the server to end (SIGTERM) and kills it after 10 s.
func (p *serverProcess) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}
