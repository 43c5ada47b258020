package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/config"
	"github.com/coffer-dev/coffer/internal/scheduler"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestScheduledRestoreTestOfAFilesystemTarget: the daemon's restore test
// of a filesystem target reports through the same status and metrics as
// a database's: the scratch directory, the compared counts and the proven
// backup. (The restore's duration is measured with the injected clock,
// which stands still here; the runner's tests check it.)
func TestScheduledRestoreTestOfAFilesystemTarget(t *testing.T) {
	src, store, scratch := t.TempDir(), t.TempDir(), t.TempDir()
	for name, data := range map[string]string{"a.txt": "hello", "sub/b.txt": "world!"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(src, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	yaml := fmt.Sprintf(`apiVersion: coffer.dev/v1alpha1
kind: BackupStorage
metadata: {name: local}
spec: {filesystem: {path: %q}}
---
apiVersion: coffer.dev/v1alpha1
kind: BackupDefinition
metadata: {name: shop, namespace: test}
spec:
  storageRef: {name: local}
  schedule: "0 * * * *"
  suspend: true
  targets:
  - name: files
    filesystem: {path: %q}
  restoreTest: {schedule: "0 4 * * *", targets: [{name: files, scratchDirectory: %q}]}
`, store, src, scratch)
	path := filepath.Join(t.TempDir(), "coffer.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	clock := scheduler.NewFakeClock(time.Date(2026, 11, 21, 3, 30, 0, 0, time.UTC))
	r := startDaemon(t, cfg, Options{Clock: clock})
	b := r.backup(t)

	waitTimer(t, clock)
	clock.AdvanceTo(time.Date(2026, 11, 21, 4, 0, 0, 0, time.UTC))
	testutil.Eventually(t, 60*time.Second, "the restore test", func() bool {
		rt := r.status(t).RestoreTest
		return rt != nil && rt.Last != nil && rt.Last.Status != string(catalog.RestoreTestRunning)
	})
	rt := r.status(t).RestoreTest
	if rt.Last.Status != string(catalog.RestoreTestPassed) || rt.ProvenBackupID != b.ID {
		t.Fatalf("restore test %+v", rt.Last)
	}
	got := rt.Last.Targets[0]
	if filepath.Dir(got.Directory) != scratch || !got.Dropped || len(got.Counts) != 4 {
		t.Fatalf("target %+v", got)
	}
	want := map[string]int64{"files": 2, "directories": 1, "symlinks": 0, "bytes": 11}
	for _, c := range got.Counts {
		if c.Backup != want[c.What] || c.Restored != want[c.What] {
			t.Errorf("count %+v, want %d", c, want[c.What])
		}
	}
	if left, _ := os.ReadDir(scratch); len(left) != 0 {
		t.Fatalf("scratch directory left: %v", left)
	}
	testutil.Eventually(t, 30*time.Second, "the proven backup timestamp metric", func() bool {
		return r.metric(t, "coffer_restore_test_proven_backup_timestamp_seconds"+labels) == float64(b.StartTime.Unix())
	})
}
