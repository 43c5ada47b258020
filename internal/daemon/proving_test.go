package daemon

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/runnerapi"
	"github.com/coffer-dev/coffer/internal/scheduler"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// metric reads one sample of the daemon's /metrics whose line starts with
// prefix (name and labels); -1 when there is none.
func (r *running) metric(t *testing.T, prefix string) float64 {
	t.Helper()
	resp, err := http.Get(r.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, prefix) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	return -1
}

func (r *running) status(t *testing.T) runnerapi.RunnerStatus {
	t.Helper()
	var st runnerapi.RunnerStatus
	if code := r.call(t, "GET", "/v1/status", nil, &st); code != http.StatusOK {
		t.Fatalf("GET /v1/status = %d", code)
	}
	return st
}

func (r *running) backupRecord(t *testing.T, id string) runnerapi.Backup {
	t.Helper()
	var b runnerapi.Backup
	r.call(t, "GET", "/v1/backups/"+id, nil, &b)
	return b
}

const labels = `{definition="shop",namespace="test"}`

// TestOffsiteCopyIsRetriedAndRestorable: a copy that fails is reported
// (status, metrics, the backup's offsite state) and retried on the retry
// timer; once copied, the backup restores from the offsite copy through
// the API.
func TestOffsiteCopyIsRetriedAndRestorable(t *testing.T) {
	db := testutil.PostgresDB(t)
	testutil.PGExec(t, db, "CREATE TABLE t AS SELECT i FROM generate_series(1, 1000) AS i")
	primary, far := t.TempDir(), t.TempDir()
	// A file where the definition's directory must go: every copy fails.
	block := filepath.Join(far, "test")
	if err := os.WriteFile(block, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := loadConfigWith(t, fmt.Sprintf("{filesystem: {path: %q}, offsite: {filesystem: {path: %q}}}", primary, far), "", db, true,
		"{hourly: 2, offsite: {daily: 7}}")
	clock := scheduler.NewFakeClock(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC))
	r := startDaemon(t, cfg, Options{Clock: clock})

	b := r.backup(t)
	testutil.Eventually(t, 60*time.Second, "the failed copy to be reported", func() bool {
		o := r.status(t).Offsite
		return o != nil && o.Error != "" && len(o.Waiting) == 1 && !o.NextRetryTime.IsZero()
	})
	if got := r.backupRecord(t, b.ID).Offsite; got != runnerapi.OffsiteWaiting {
		t.Fatalf("backup offsite state %q, want Waiting", got)
	}
	clock.Advance(10 * time.Second) // the copy lag grows while the copy waits
	lag := r.metric(t, "coffer_offsite_oldest_pending_age_seconds"+labels)
	if lag < 10 {
		t.Fatalf("copy lag %v, want at least 10s", lag)
	}
	if newest := r.metric(t, "coffer_offsite_newest_pending_age_seconds"+labels); newest != lag { // one backup waits
		t.Fatalf("newest pending age %v, want the oldest's %v", newest, lag)
	}
	if n := r.metric(t, `coffer_offsite_copies_total{definition="shop",namespace="test",result="failure"}`); n != 1 {
		t.Fatalf("failed copies %v", n)
	}

	if err := os.Remove(block); err != nil {
		t.Fatal(err)
	}
	waitTimer(t, clock)
	clock.AdvanceTo(r.status(t).Offsite.NextRetryTime)
	testutil.Eventually(t, 60*time.Second, "the retried copy", func() bool {
		o := r.status(t).Offsite
		return o.Error == "" && len(o.Waiting) == 0 && o.Backups == 1
	})
	if got := r.backupRecord(t, b.ID).Offsite; got != runnerapi.OffsiteCopied {
		t.Fatalf("backup offsite state %q, want Copied", got)
	}
	if lag := r.metric(t, "coffer_offsite_oldest_pending_age_seconds"+labels); lag != 0 {
		t.Fatalf("copy lag %v after the copy", lag)
	}
	if newest := r.metric(t, "coffer_offsite_newest_pending_age_seconds"+labels); newest != 0 {
		t.Fatalf("newest pending age %v after the copy", newest)
	}
	m, _ := openCatalog(t, primary).Get(context.Background(), b.ID)
	for _, tg := range m.Targets {
		a, _ := os.ReadFile(filepath.Join(primary, tg.Object))
		c, _ := os.ReadFile(filepath.Join(far, tg.Object))
		if len(a) == 0 || !bytes.Equal(a, c) {
			t.Fatalf("%s differs offsite", tg.Object)
		}
	}

	dst := testutil.UniqueName()
	testutil.SharedPostgres(t).DropOnCleanup(t, dst)
	var rs runnerapi.Restore
	req := runnerapi.RestoreRequest{BackupID: b.ID, Target: "main", IntoDatabase: dst, From: runnerapi.FromOffsite}
	if code := r.call(t, "POST", "/v1/restores", req, &rs); code != http.StatusAccepted {
		t.Fatalf("POST /v1/restores from offsite = %d", code)
	}
	if rs = r.restore(t, rs.ID); rs.Status != phase.Completed {
		t.Fatalf("restore from offsite: %+v", rs)
	}
	if got, want := testutil.PGFingerprint(t, dst), testutil.PGFingerprint(t, db); got != want {
		t.Fatalf("restored from offsite differs")
	}
}

// TestScheduledVerificationAndRestoreTest: on their schedules, the daemon
// verifies the newest backup (reporting a flipped byte with backup and
// object) and proves the newest backup restorable.
func TestScheduledVerificationAndRestoreTest(t *testing.T) {
	db := testutil.PostgresDB(t)
	testutil.PGExec(t, db, "CREATE TABLE orders AS SELECT i FROM generate_series(1, 1500) AS i")
	dir := t.TempDir()
	cfg := loadConfigWith(t, fmt.Sprintf("{filesystem: {path: %q}}", dir), "", db, true,
		"{hourly: 2}\n  verify: {schedule: \"0 3 * * *\", newest: 1}\n  restoreTest: {schedule: \"0 4 * * *\", targets: [{name: main, checks: [\"select count(*) > 1000 from orders\"]}]}")
	clock := scheduler.NewFakeClock(time.Date(2026, 11, 21, 2, 30, 0, 0, time.UTC))
	r := startDaemon(t, cfg, Options{Clock: clock})
	b := r.backup(t)
	m, _ := openCatalog(t, dir).Get(context.Background(), b.ID)
	path := filepath.Join(dir, m.Targets[0].Object)
	good, _ := os.ReadFile(path)
	bad := bytes.Clone(good)
	bad[len(bad)/2] ^= 1
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}

	waitTimer(t, clock)
	clock.AdvanceTo(time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC))
	testutil.Eventually(t, 60*time.Second, "the verification", func() bool { v := r.status(t).Verify; return v != nil && !v.LastRunTime.IsZero() })
	v := r.status(t).Verify
	if len(v.Problems) != 1 || v.Problems[0].BackupID != b.ID || v.Problems[0].Object != m.Targets[0].Object || v.Problems[0].Problem != "corrupt" {
		t.Fatalf("verification problems %+v", v.Problems)
	}
	// The metric is set beside the status, not before it: wait for it too.
	testutil.Eventually(t, 30*time.Second, "the failed objects metric", func() bool {
		return r.metric(t, `coffer_verify_last_failed_objects{definition="shop",namespace="test",storage="primary"}`) == 1
	})
	recs, _ := openCatalog(t, dir).ListVerifications(context.Background())
	if len(recs) != 1 || len(recs[0].Problems) != 1 {
		t.Fatalf("verification records %+v", recs)
	}

	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	clock.AdvanceTo(time.Date(2026, 11, 21, 4, 0, 0, 0, time.UTC))
	testutil.Eventually(t, 60*time.Second, "the restore test", func() bool {
		rt := r.status(t).RestoreTest
		return rt != nil && rt.Last != nil && rt.Last.Status != string(catalog.RestoreTestRunning)
	})
	rt := r.status(t).RestoreTest
	if rt.Last.Status != string(catalog.RestoreTestPassed) || rt.ProvenBackupID != b.ID || !rt.Last.Targets[0].Dropped {
		t.Fatalf("restore test %+v", rt.Last)
	}
	if got := r.backupRecord(t, b.ID).ProvenRestorableTime; got.IsZero() {
		t.Fatal("the backup does not show when it was proven restorable")
	}
	testutil.Eventually(t, 30*time.Second, "the proven backup timestamp metric", func() bool {
		return r.metric(t, "coffer_restore_test_proven_backup_timestamp_seconds"+labels) == float64(b.StartTime.Unix())
	})
}
