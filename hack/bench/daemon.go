package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/coffer-dev/coffer/internal/layout"
)

// benchDaemon runs `coffer-runner run` with a definition scheduled every
// minute for a little over a minute and reports its RSS and CPU use.
func benchDaemon(runnerBin string, seconds int) error {
	const small = "coffer_bench_small"
	psqlValue("postgres", "DROP DATABASE IF EXISTS "+small+" WITH (FORCE)")
	psqlValue("postgres", "CREATE DATABASE "+small)
	psqlValue(small, "CREATE TABLE t AS SELECT i, md5(i::text) AS s FROM generate_series(1, 10000) AS i")
	defer psqlValue("postgres", "DROP DATABASE IF EXISTS "+small+" WITH (FORCE)")
	work, err := os.MkdirTemp("", "coffer-bench-daemon-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := os.Mkdir(filepath.Join(work, "storage"), 0o700); err != nil {
		return err
	}
	cfg := fmt.Sprintf(`apiVersion: coffer.dev/v1alpha1
kind: BackupStorage
metadata: {name: bench}
spec: {filesystem: {path: %q}}
---
apiVersion: coffer.dev/v1alpha1
kind: BackupDefinition
metadata: {name: idle, namespace: bench}
spec:
  storageRef: {name: bench}
  schedule: "* * * * *"
  retention: {hourly: 2}
  targets:
  - name: main
    postgres: {host: 127.0.0.1, port: 5432, database: %s, user: postgres}
---
apiVersion: v1
kind: Secret
metadata: {name: coffer-api-token}
stringData: {token: bench-token}
`, filepath.Join(work, "storage"), small)
	path := filepath.Join(work, "coffer.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(runnerBin, "run", "-f", path, "--listen", addr, "--log-level", "warn")
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	time.Sleep(2 * time.Second) // start-up is not idle
	pid := cmd.Process.Pid
	cpu0, _ := cpuTicks(pid)
	var maxRSS int64
	for range seconds {
		time.Sleep(time.Second)
		if rss := statusKiB(pid, "VmRSS:"); rss > maxRSS {
			maxRSS = rss
		}
	}
	cpu1, _ := cpuTicks(pid)
	const ticksPerSecond = 100 // USER_HZ on Linux
	cpuSeconds := float64(cpu1-cpu0) / ticksPerSecond
	fmt.Printf("runner daemon over %ds, schedule every minute (%s): RSS max %.1f MiB (peak %.1f MiB), CPU %.2fs = %.2f%% of a core (goals: RSS < 40 MiB, CPU < 1%%)\n",
		seconds, backupsTaken(work), float64(maxRSS)/1024, float64(statusKiB(pid, "VmHWM:"))/1024, cpuSeconds, 100*cpuSeconds/float64(seconds))
	return nil
}

func backupsTaken(work string) string {
	n := 0
	_ = filepath.Walk(filepath.Join(work, "storage"), func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Name() == layout.ManifestFile {
			n++
		}
		return nil
	})
	return fmt.Sprintf("%d backup(s) taken", n)
}

// cpuTicks is utime+stime of a process, in clock ticks.
func cpuTicks(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesised command name; utime and stime are 14 and 15.
	rest := string(data[strings.LastIndexByte(string(data), ')')+2:])
	f := strings.Fields(rest)
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s, nil
}

func statusKiB(pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field) {
			v, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return v
		}
	}
	return 0
}
