package main

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/coffer-dev/coffer/internal/manifest"
)

// readMemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit)
// of the one-shot restore and verify commands when GOMEMLIMIT is not set,
// before the backup's chunk list (limitReadMemory adds it). What they hold
// besides is bounded by the chunk reader's fetch budget, not by the
// backup's size: a format 2 restore of a 250 MB database keeps 27 – 33 MiB
// of Go heap live (16 MiB of plain chunks read ahead, the chunks being
// downloaded and opened, pooled buffers), at most about 40 MiB by design
// (stored bytes as large as plain ones). Left to GOGC=100 the heap grows to
// twice that, 60 – 66 MiB of anonymous memory besides the binary's own
// ~45 MiB of resident pages. With 56 MiB it stays near the limit
// (docs/benchmarks.md, 2026-11-30), at the same CPU for that restore and
// +0.1 s per 400 MB read of incompressible chunks: 16 MiB of headroom over
// the largest live heap expected. GOGC=50 instead cost 7 % more RSS and
// 2 – 15 % more CPU. A limit at or under the live heap makes the GC run
// back to back (32 MiB: 1.7 – 2 × the runner's CPU), so the daemon, whose
// live heap grows with its catalog and sweeps, sets none.
const readMemoryLimit = 56 << 20

// chunkRefMemory is what one chunk reference of a manifest in memory may
// take (the hash's string and header, the sizes; about 100 bytes measured
// in TestListHoldsSummaries), rounded up.
const chunkRefMemory = 128

// limitReadMemory, once a backup's manifest is read, sets the soft memory
// limit to readMemoryLimit plus what that manifest's chunk list holds,
// unless GOMEMLIMIT is set: the limit stays above the live heap however
// large the backup (a 750 GB dump lists some 600,000 chunks, 73 MiB more).
func limitReadMemory(m *manifest.Manifest) {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return
	}
	limit := readMemoryLimitFor(m)
	if containerLimit > 0 {
		limit = min(limit, containerLimit)
	}
	debug.SetMemoryLimit(limit)
}

// readMemoryLimitFor is the soft memory limit for reading backup m.
func readMemoryLimitFor(m *manifest.Manifest) int64 {
	var refs int64
	for _, t := range m.Targets {
		refs += int64(len(t.Chunks))
	}
	return readMemoryLimit + refs*chunkRefMemory
}

// cgroupMemoryFiles hold the memory limit of the container the runner runs
// in: cgroup v2, then v1.
var cgroupMemoryFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// limitContainerMemory sets every command's soft memory limit to nine
// tenths of its container's memory limit (a runner pod's
// resources.limits.memory), unless GOMEMLIMIT is set: as its heap nears the
// limit the GC works harder, where left to GOGC the heap could double past
// it and the kernel kill the runner mid-backup. The daemon's restores get
// this limit; restore and verify lower it once they know the backup
// (limitReadMemory).
func limitContainerMemory(files []string) {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return
	}
	containerLimit = 0
	if limit, ok := containerMemoryLimit(files); ok {
		containerLimit = limit / 10 * 9
		debug.SetMemoryLimit(containerLimit)
	}
}

// containerLimit is the soft memory limit limitContainerMemory set (0:
// none), which restore and verify do not raise.
var containerLimit int64

// containerMemoryLimit reads the first of files that exists: a number of
// bytes is the limit; "max" (v2), v1's "unlimited" (a number near 2^63) or
// anything unreadable is none.
func containerMemoryLimit(files []string) (int64, bool) {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || n <= 0 || n >= 1<<62 {
			return 0, false
		}
		return n, true
	}
	return 0, false
}
