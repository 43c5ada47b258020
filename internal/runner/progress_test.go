package runner_test

import (
	"context"
	"testing"

	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/progress"
	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestProgressCountsWhatTheManifestRecords: the live counters of a backup
// end at the sizes its manifest records (format 1: every stored byte; format
// 2: the chunks uploaded, all of them new in an empty storage), and a
// restore's counters end at the same plain bytes, having read the stored
// ones. Targets end Done; a target not restored stays Waiting.
func TestProgressCountsWhatTheManifestRecords(t *testing.T) {
	pg := testutil.PostgresDB(t)
	my := testutil.MySQLDB(t)
	testutil.PGExec(t, pg, "CREATE TABLE t AS SELECT i, md5(i::text) AS v FROM generate_series(1, 50000) AS i")
	ctx := context.Background()
	for name, chunked := range map[string]bool{"format 1": false, "format 2": true} {
		t.Run(name, func(t *testing.T) {
			r := newRunner(t, fixture{pg: pg, my: my, chunked: chunked}.load(t, t.TempDir()), runner.Options{})
			prog := progress.NewSet("main", "ci")
			for _, s := range prog.Snapshot() {
				if s.Phase != phase.TargetWaiting || s.PlainBytes != 0 || !s.StartTime.IsZero() {
					t.Fatalf("before the backup: %+v", s)
				}
			}
			m, err := r.Backup(ctx, runner.BackupRequest{Progress: prog})
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range prog.Snapshot() {
				rec := m.Targets[i]
				if s.Name != rec.Name || s.Phase != phase.TargetDone || s.StartTime.IsZero() {
					t.Errorf("after the backup: %+v", s)
				}
				if s.PlainBytes != rec.PlainSize || s.StoredBytes != rec.Size {
					t.Errorf("target %s counted %d plain, %d stored bytes; the manifest says %d, %d",
						rec.Name, s.PlainBytes, s.StoredBytes, rec.PlainSize, rec.Size)
				}
			}
			restored := progress.NewSet("main", "ci")
			dst := testutil.PostgresDB(t)
			if _, err := r.Restore(ctx, runner.RestoreRequest{BackupID: m.ID, Target: "main", IntoDatabase: dst, Progress: restored}); err != nil {
				t.Fatal(err)
			}
			snap := restored.Snapshot()
			if s := snap[0]; s.Phase != phase.TargetDone || s.PlainBytes != m.Targets[0].PlainSize || s.StoredBytes < m.Targets[0].Size {
				t.Errorf("restore of main: %+v; the manifest says %d plain, %d stored bytes", s, m.Targets[0].PlainSize, m.Targets[0].Size)
			}
			if s := snap[1]; s.Phase != phase.TargetWaiting || s.PlainBytes != 0 {
				t.Errorf("ci was not restored, yet: %+v", s)
			}
		})
	}
}
