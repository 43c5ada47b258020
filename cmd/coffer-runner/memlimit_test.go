package main

import (
	"math"
	"os"
	"path/filepath"
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

// TestLimitContainerMemory: with a container memory limit in its cgroup,
// every command's soft memory limit is nine tenths of it, unless GOMEMLIMIT
// is set; no limit, "max", v1's "unlimited" or a file that cannot be read
// leave the runtime's default; restore and verify keep the lower of the two.
func TestLimitContainerMemory(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	t.Cleanup(func() { containerLimit = 0 })
	t.Setenv("GOMEMLIMIT", "")
	os.Unsetenv("GOMEMLIMIT")
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		name  string
		files []string
		want  int64
	}{
		{"v2 limit", []string{file("v2", "268435456\n")}, 268435456 / 10 * 9},
		{"v1 limit after a missing v2 file", []string{missing, file("v1", "134217728\n")}, 134217728 / 10 * 9},
		{"v2 max", []string{file("max", "max\n")}, math.MaxInt64},
		{"v1 unlimited", []string{missing, file("unlimited", "9223372036854771712\n")}, math.MaxInt64},
		{"garbage", []string{file("garbage", "lots\n")}, math.MaxInt64},
		{"no cgroup files", []string{missing}, math.MaxInt64},
	} {
		debug.SetMemoryLimit(math.MaxInt64)
		limitContainerMemory(tc.files)
		if got := debug.SetMemoryLimit(-1); got != tc.want {
			t.Errorf("%s: memory limit %d, want %d", tc.name, got, tc.want)
		}
	}

	// A container limit under restore's own stays.
	debug.SetMemoryLimit(math.MaxInt64)
	limitContainerMemory([]string{file("small", "41943040")}) // 40 MiB
	limitReadMemory(&manifest.Manifest{Targets: []manifest.Target{{Name: "main"}}})
	if got := debug.SetMemoryLimit(-1); got != 41943040/10*9 {
		t.Errorf("a 40 MiB container: restore's memory limit %d, want %d", got, 41943040/10*9)
	}

	debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("GOMEMLIMIT", "1GiB")
	limitContainerMemory([]string{file("v2", "268435456")})
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT set: memory limit changed to %d", got)
	}
}
