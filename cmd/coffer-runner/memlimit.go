package main

import (
	"os"
	"runtime/debug"

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
	debug.SetMemoryLimit(readMemoryLimitFor(m))
}

// readMemoryLimitFor is the soft memory limit for reading backup m.
func readMemoryLimitFor(m *manifest.Manifest) int64 {
	var refs int64
	for _, t := range m.Targets {
		refs += int64(len(t.Chunks))
	}
	return readMemoryLimit + refs*chunkRefMemory
}
