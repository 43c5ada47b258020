package main

import (
	"os"
	"runtime/debug"
)

// readMemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit)
// of the one-shot restore and verify commands when GOMEMLIMIT is not set.
// What they hold is bounded by the chunk reader's fetch budget, not by the
// backup's size: a format 2 restore of a 250 MB database keeps 27 – 33 MiB
// of Go heap live (16 MiB of plain chunks read ahead, the chunks being
// downloaded and opened, pooled buffers), at most about 40 MiB by design
// (stored bytes as large as plain ones). Left to GOGC=100 the heap grows to
// twice that, 60 – 66 MiB of anonymous memory besides the binary's own
// ~45 MiB of resident pages. With 56 MiB it stays near the limit
// (docs/benchmarks.md, 2026-11-30), at the same CPU for that restore and
// +0.1 s per 400 MB read of incompressible chunks: 16 MiB of headroom over
// the largest live heap expected. A limit at or under the live heap makes the
// GC run back to back (32 MiB: 1.7 – 2 × the runner's CPU), so the daemon,
// whose live heap grows with its catalog and sweeps, sets none.
const readMemoryLimit = 56 << 20

// limitReadMemory sets readMemoryLimit unless GOMEMLIMIT is set.
func limitReadMemory() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return
	}
	debug.SetMemoryLimit(readMemoryLimit)
}
