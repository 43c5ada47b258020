package testutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

func (e *Etcd) start() error {
	logFile, err := os.OpenFile(e.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }()
	cmd := exec.Command(e.bin, e.args...)
	cmd.Env = withoutEtcdEnv(os.Environ())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	killWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", e.bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	e.cmd, e.exited = cmd, exited
	return nil
}

// waitReady waits until the member answers a status request.
func (e *Etcd) waitReady() error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := e.ping()
		if err == nil {
			return nil
		}
		select {
		case <-e.exited:
			return fmt.Errorf("etcd on %s exited before it was ready: %w\n%s", e.Endpoint, err, e.log())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("etcd on %s not ready after 60s: %w\n%s", e.Endpoint, err, e.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *Etcd) ping() error {
	cli, err := e.newClient()
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = cli.Status(ctx, e.Endpoint)
	return err
}

func (e *Etcd) log() string {
	b, _ := os.ReadFile(e.logPath)
	return tail(string(b), 2000)
}

// Stop stops the server (SIGTERM, then SIGKILL after 10s) and waits for it.
// It does nothing when the server is not running.
func (e *Etcd) Stop() {
	if e.cmd == nil {
		return
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.exited:
	case <-time.After(10 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.exited
	}
	e.cmd = nil
}

// Kill kills the server with SIGKILL, as a crash would, and waits for it.
func (e *Etcd) Kill() error {
	if e.cmd == nil {
		return errors.New("etcd is not running")
	}
	if err := e.cmd.Process.Kill(); err != nil {
		return err
	}
	<-e.exited
	e.cmd = nil
	return nil
}

// Restart starts a stopped or killed server again, on its data directory
// and ports, and waits until it is ready.
func (e *Etcd) Restart() error {
	if e.cmd != nil {
		return errors.New("etcd is running")
	}
	if err := e.start(); err != nil {
		return err
	}
	return e.waitReady()
}

// withoutEtcdEnv drops ETCD_* variables, which etcd and etcdutl read as
// flags, so a developer's settings cannot change the server under test.
func withoutEtcdEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "ETCD_") && !strings.HasPrefix(kv, "ETCDCTL_") {
			out = append(out, kv)
		}
	}
	return out
}
