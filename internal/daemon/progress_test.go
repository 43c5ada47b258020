package daemon

import (
	"net/http"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/runnerapi"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestAPIShowsProgressInFlight: a backup's and a restore's records carry
// each target's counts while they run, and none once they have ended (the
// backup's final sizes are in its targets). Real PostgreSQL, filesystem
// storage.
func TestAPIShowsProgressInFlight(t *testing.T) {
	db := testutil.PostgresDB(t)
	testutil.PGExec(t, db, "CREATE TABLE t AS SELECT i, md5(i::text) AS v FROM generate_series(1, 300000) AS i")
	r := startDaemon(t, loadConfig(t, t.TempDir(), db, true, "{hourly: 2}"), Options{})

	var b runnerapi.Backup
	if code := r.call(t, "POST", "/v1/backups", nil, &b); code != http.StatusAccepted {
		t.Fatalf("POST /v1/backups = %d", code)
	}
	var seen []runnerapi.TargetProgress
	testutil.Eventually(t, 60*time.Second, "backup "+b.ID, func() bool {
		b = runnerapi.Backup{ID: b.ID} // absent fields must read as absent
		r.call(t, "GET", "/v1/backups/"+b.ID, nil, &b)
		if b.Status.InFlight() && len(b.Progress) > 0 {
			seen = b.Progress
		}
		return b.Status.Final()
	})
	if b.Status != phase.Completed || len(b.Progress) != 0 {
		t.Fatalf("backup %s ended %s with progress %+v", b.ID, b.Status, b.Progress)
	}
	if len(seen) != 1 || seen[0].Name != "main" || seen[0].Phase == "" {
		t.Fatalf("progress while running: %+v", seen)
	}
	if seen[0].PlainBytes > b.Targets[0].PlainSize || seen[0].StoredBytes > b.Targets[0].Size {
		t.Errorf("progress %+v counted more than the backup stored (%d plain, %d stored bytes)", seen[0], b.Targets[0].PlainSize, b.Targets[0].Size)
	}

	rs, _ := r.startRestore(t)
	seen = nil
	testutil.Eventually(t, 60*time.Second, "restore "+rs.ID, func() bool {
		rs = runnerapi.Restore{ID: rs.ID}
		r.call(t, "GET", "/v1/restores/"+rs.ID, nil, &rs)
		if rs.Status.InFlight() && len(rs.Progress) > 0 {
			seen = rs.Progress
		}
		return rs.Status.Final()
	})
	if rs.Status != phase.Completed || len(rs.Progress) != 0 {
		t.Fatalf("restore %s ended %s %s with progress %+v", rs.ID, rs.Status, rs.Error, rs.Progress)
	}
	if len(seen) != 1 || seen[0].Name != "main" {
		t.Fatalf("restore progress while running: %+v", seen)
	}
}
