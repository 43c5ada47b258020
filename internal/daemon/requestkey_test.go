package daemon

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/runnerapi"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestBackupRequestKey, on real PostgreSQL and MinIO: a backup request
// repeated with its key starts nothing and answers with the first
// request's backup — while it runs (held by a table lock pg_dump waits
// on), after it committed, and after a restart of the daemon; a failed
// backup's key answers with the failure record. A request with another key
// is busy while the first runs; one without a key is never matched.
func TestBackupRequestKey(t *testing.T) {
	st := minioStorage(t)
	db := testutil.PostgresDB(t)
	testutil.PGExec(t, db, "CREATE TABLE t AS SELECT i FROM generate_series(1, 1000) AS i")
	cfg := loadConfigOn(t, st.spec, st.docs, db, true)
	a := startDaemon(t, cfg, Options{})

	// pg_dump waits for this lock: the backup stays Running until it goes.
	ctx := context.Background()
	tx, err := testutil.SharedPostgres(t).Conn(t, db).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE t IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	const key = "0b7cbd1e-5f0c-4d4e-9a53-2f1e7c3b9a10"
	first := postBackup(t, a, key, http.StatusAccepted)
	again := postBackup(t, a, key, http.StatusAccepted)
	if again.ID != first.ID || again.Status != phase.Running || again.RequestKey != key {
		t.Fatalf("the same key while the backup runs: %+v, want backup %s Running", again, first.ID)
	}
	postBackup(t, a, "another-key", http.StatusConflict)
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	done := waitBackup(t, a, first.ID)
	if done.Status != phase.Completed {
		t.Fatalf("backup %s: %s %s", done.ID, done.Status, done.Error)
	}
	if got := postBackup(t, a, key, http.StatusAccepted); got.ID != first.ID || got.Status != phase.Completed {
		t.Fatalf("the same key after the commit: %+v, want backup %s Completed", got, first.ID)
	}
	if m, err := st.cat.Get(ctx, first.ID); err != nil || m.RequestKey != key {
		t.Fatalf("manifest of %s: requestKey %q (%v), want %q", first.ID, m.RequestKey, err, key)
	}
	if unkeyed := a.backup(t); unkeyed.ID == first.ID || unkeyed.RequestKey != "" {
		t.Fatalf("a request without a key got %+v", unkeyed)
	}
	a.cancel()
	if err := a.wait(t); err != nil {
		t.Fatal(err)
	}

	// A new daemon over the same storage, whose database is gone: a keyed
	// request fails, and its key finds the failure record.
	b := startDaemon(t, loadConfigOn(t, st.spec, st.docs, "no_such_database_"+testutil.UniqueName(), true), Options{})
	if got := postBackup(t, b, key, http.StatusAccepted); got.ID != first.ID || got.Status != phase.Completed {
		t.Fatalf("the same key after a restart: %+v, want backup %s Completed", got, first.ID)
	}
	const failKey = "failing-request"
	failing := postBackup(t, b, failKey, http.StatusAccepted)
	failed := waitBackup(t, b, failing.ID)
	if failed.Status != phase.Failed || failed.RequestKey != failKey {
		t.Fatalf("backup of a missing database: %+v, want Failed with its key", failed)
	}
	if got := postBackup(t, b, failKey, http.StatusAccepted); !reflect.DeepEqual(got, failed) {
		t.Fatalf("the failed request's key: %+v, want %+v", got, failed)
	}
	b.cancel()
	if err := b.wait(t); err != nil {
		t.Fatal(err)
	}
	c := startDaemon(t, cfg, Options{})
	if got := postBackup(t, c, failKey, http.StatusAccepted); got.ID != failed.ID || got.Status != phase.Failed {
		t.Fatalf("the failed request's key after a restart: %+v, want %s Failed", got, failed.ID)
	}
	var all runnerapi.BackupList
	c.call(t, "GET", "/v1/backups", nil, &all)
	if n := len(all.Items); n != 3 { // the keyed one, the unkeyed one, the failure
		t.Fatalf("%d backups and attempts, want 3: %+v", n, all.Items)
	}
}

// TestRestoreRequestKey: a restore request repeated with its key answers
// with the first request's record, from this process and, after a restart,
// from storage.
func TestRestoreRequestKey(t *testing.T) {
	st := minioStorage(t)
	db := testutil.PostgresDB(t)
	testutil.PGExec(t, db, "CREATE TABLE t AS SELECT i FROM generate_series(1, 1000) AS i")
	cfg := loadConfigOn(t, st.spec, st.docs, db, true)
	a := startDaemon(t, cfg, Options{})
	a.backup(t)

	dst := testutil.UniqueName()
	testutil.SharedPostgres(t).DropOnCleanup(t, dst)
	req := runnerapi.RestoreRequest{BackupID: runnerapi.Latest, Target: "main", IntoDatabase: dst, RequestKey: "restore-1"}
	var first, again runnerapi.Restore
	if code := a.call(t, "POST", "/v1/restores", req, &first); code != http.StatusAccepted {
		t.Fatalf("POST /v1/restores = %d", code)
	}
	// At once: running or done, it is the same restore, and not busy.
	if code := a.call(t, "POST", "/v1/restores", req, &again); code != http.StatusAccepted || again.ID != first.ID {
		t.Fatalf("the same key again: %d %+v, want restore %s", code, again, first.ID)
	}
	done := a.restore(t, first.ID)
	if done.Status != phase.Completed || done.RequestKey != "restore-1" {
		t.Fatalf("restore %+v", done)
	}
	again = runnerapi.Restore{}
	if code := a.call(t, "POST", "/v1/restores", req, &again); code != http.StatusAccepted || !reflect.DeepEqual(again, done) {
		t.Fatalf("the same key after the restore: %d %+v, want %+v", code, again, done)
	}
	a.cancel()
	if err := a.wait(t); err != nil {
		t.Fatal(err)
	}
	b := startDaemon(t, cfg, Options{})
	again = runnerapi.Restore{}
	if code := b.call(t, "POST", "/v1/restores", req, &again); code != http.StatusAccepted || !reflect.DeepEqual(again, done) {
		t.Fatalf("the same key after a restart: %d %+v, want %+v", code, again, done)
	}
	if recs, err := st.cat.ListRestores(context.Background()); err != nil || len(recs) != 1 {
		t.Fatalf("%d restore records (%v), want 1", len(recs), err)
	}
}

// TestRequestKeyValidated: a key that is too long or not printable is
// refused with the field named.
func TestRequestKeyValidated(t *testing.T) {
	cfg := loadConfig(t, t.TempDir(), testutil.PostgresDB(t), true, "{hourly: 2}")
	a := startDaemon(t, cfg, Options{})
	for name, key := range map[string]string{"long": strings.Repeat("k", runnerapi.MaxRequestKey+1), "space": "a b", "newline": "a\nb"} {
		var e apiError
		if code := a.call(t, "POST", "/v1/backups", runnerapi.BackupRequest{RequestKey: key}, &e); code != http.StatusBadRequest || !strings.Contains(e.Error, "requestKey") {
			t.Errorf("%s: %d %q, want 400 naming requestKey", name, code, e.Error)
		}
		req := runnerapi.RestoreRequest{BackupID: runnerapi.Latest, RequestKey: key}
		if code := a.call(t, "POST", "/v1/restores", req, &e); code != http.StatusBadRequest || !strings.Contains(e.Error, "requestKey") {
			t.Errorf("%s restore: %d %q, want 400 naming requestKey", name, code, e.Error)
		}
	}
}

func postBackup(t *testing.T, r *running, key string, want int) runnerapi.Backup {
	t.Helper()
	var b runnerapi.Backup
	if code := r.call(t, "POST", "/v1/backups", runnerapi.BackupRequest{RequestKey: key}, &b); code != want {
		t.Fatalf("POST /v1/backups with key %s = %d, want %d", key, code, want)
	}
	return b
}

// waitBackup polls a backup until it ends.
func waitBackup(t *testing.T, r *running, id string) runnerapi.Backup {
	t.Helper()
	var b runnerapi.Backup
	testutil.Eventually(t, 90*time.Second, "backup "+id+" ends", func() bool {
		b = runnerapi.Backup{} // fields an answer omits must not linger from the last one
		return r.call(t, "GET", "/v1/backups/"+id, nil, &b) == http.StatusOK && b.Status.Final()
	})
	return b
}
