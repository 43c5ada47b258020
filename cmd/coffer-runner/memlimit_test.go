package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

// TestLimitReadMemory: restore and verify get a soft memory limit of
// readMemoryLimit, unless GOMEMLIMIT says otherwise.
func TestLimitReadMemory(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	t.Setenv("GOMEMLIMIT", "")
	os.Unsetenv("GOMEMLIMIT")
	limitReadMemory()
	if got := debug.SetMemoryLimit(-1); got != readMemoryLimit {
		t.Errorf("GOMEMLIMIT unset: memory limit %d, want %d", got, readMemoryLimit)
	}

	debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("GOMEMLIMIT", "1GiB") // the runtime read it at start; only its presence counts here
	limitReadMemory()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT set: memory limit changed to %d", got)
	}
}
