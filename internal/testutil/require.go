// Package testutil gives tests real servers: PostgreSQL, MariaDB and MinIO on
// loopback. A missing server skips the test on a laptop, and fails it when
// CI=true, so CI can never go green by skipping.
package testutil

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
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

// Eventually polls cond until it holds, failing t after within. It polls
// often at first and backs off to every 200 ms, so a condition that holds
// at once costs nothing and a slow one does not spin. It is the one way
// tests wait: no sleeps as synchronisation.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	wait := 5 * time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(wait)
		wait = min(wait*2, 200*time.Millisecond)
	}
}
