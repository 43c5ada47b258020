package enginetest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// killChildren sends SIGKILL to this process's children whose command is
// one of tools, and fails when there was none.
func killChildren(tools []string) error {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return err
	}
	killed := 0
	for _, path := range stats {
		pid, comm, ppid, ok := readStat(path)
		if !ok || ppid != os.Getpid() || !isTool(comm, tools) {
			continue
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return fmt.Errorf("kill %d (%s): %w", pid, comm, err)
		}
		killed++
	}
	if killed == 0 {
		return fmt.Errorf("no child process running one of %v", tools)
	}
	return nil
}

// readStat parses "pid (comm) state ppid ..." of /proc/<pid>/stat.
func readStat(path string) (pid int, comm string, ppid int, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, "", 0, false
	}
	s := string(b)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return 0, "", 0, false
	}
	fields := strings.Fields(s[closing+1:])
	if len(fields) < 2 {
		return 0, "", 0, false
	}
	pid, err1 := strconv.Atoi(strings.TrimSpace(s[:open]))
	ppid, err2 := strconv.Atoi(fields[1])
	return pid, s[open+1 : closing], ppid, err1 == nil && err2 == nil
}

// isTool compares with the kernel's command name, cut to 15 bytes.
func isTool(comm string, tools []string) bool {
	for _, tool := range tools {
		if len(tool) > 15 {
			tool = tool[:15]
		}
		if comm == tool {
			return true
		}
	}
	return false
}
