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

// RepoRoot is the repository root, found from this source file.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}
