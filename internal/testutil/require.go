// Package testutil gives tests real servers: PostgreSQL, MariaDB and MinIO on
// loopback. A missing server skips the test on a laptop, and fails it when
// CI=true, so CI can never go green by skipping.
package testutil

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Unavailable reports a service the test needs but cannot reach.
func Unavailable(t testing.TB, service string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required when CI=true: %v", service, err)
	}
	t.Skipf("%s not available: %v (run hack/deps.sh test, or make deps)", service, err)
}

// NeedsServer marks a test that talks to a real server (or starts one):
// `go test -short` (make test-unit) skips it, so the unit tier runs with
// no server at all.
func NeedsServer(t testing.TB, service string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs %s: skipped under -short", service)
	}
}

// RepoRoot is the repository root, found from this source file.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}
