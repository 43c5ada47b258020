package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"

	"github.com/coffer-dev/coffer/internal/manifest"
)

// TestLimitReadMemory: restore and verify get a soft memory limit of
// readMemoryLimit plus the backup's chunk list, unless GOMEMLIMIT says
// otherwise.
func TestLimitReadMemory(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	t.Setenv("GOMEMLIMIT", "")
	os.Unsetenv("GOMEMLIMIT")
	stream := &manifest.Manifest{Targets: []manifest.Target{{Name: "main"}}}
	chunked := &manifest.Manifest{Targets: []manifest.Target{{Name: "a", Chunks: make([]manifest.Chunk, 600_000)}, {Name: "b", Chunks: make([]manifest.Chunk, 1000)}}}
	for m, want := range map[*manifest.Manifest]int64{stream: readMemoryLimit, chunked: readMemoryLimit + 601_000*chunkRefMemory} {
		limitReadMemory(m)
		if got := debug.SetMemoryLimit(-1); got != want {
			t.Errorf("GOMEMLIMIT unset, %d targets: memory limit %d, want %d", len(m.Targets), got, want)
		}
	}

	debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("GOMEMLIMIT", "1GiB") // the runtime read it at start; only its presence counts here
	limitReadMemory(chunked)
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT set: memory limit changed to %d", got)
	}
}
