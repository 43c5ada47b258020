package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// apiRestore is the subset of the API's restore record the tests read.
type apiRestore struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Error  string `json:"error"`
}

// TestSIGTERMLetsBackupFinish: SIGTERM while a backup runs (what a changed
// definition or Secret does to the runner pod): no new work is taken, the
// backup finishes and is committed, then the process exits 0 and releases
// the lease.
func TestSIGTERMLetsBackupFinish(t *testing.T) {
	src := pgDB(t, false)
	bigTable(t, src, 1500000)
	token := "tok-" + randomName("")
	s := writeSetup(t, setupOpts{apiToken: token, targets: []target{{name: "main", engine: "postgres", db: src}}})
	d := startDaemon(t, s, token)
	d.waitFor(t, "ready", 20*time.Second, func() bool { return d.status(t, "GET", "/readyz", "", nil) == 200 })
	var started apiBackup
	if code := d.call(t, "POST", "/v1/backups", nil, &started); code != 202 {
		t.Fatalf("POST = %d", code)
	}
	waitCopying(t, d, src)
	d.signal(syscall.SIGTERM)
	d.waitFor(t, "the runner to log that it drains", 10*time.Second, func() bool {
		return strings.Contains(d.logs.String(), "stopping: no new work")
	})
	waitExit(t, d, 3*time.Minute)
	got := list(t, s)
	if len(got) != 1 || got[0].ID != started.ID || got[0].Status != "Completed" {
		t.Fatalf("after SIGTERM mid-backup, listed %+v; want %s Completed", got, started.ID)
	}
	if r := runner(t, nil, "backup", "-f", s.path); r.code != 0 {
		t.Fatalf("backup after SIGTERM (the lease must be released): exit %d: %s", r.code, r.stderr)
	}
}

// TestSIGTERMLetsRestoreFinish: SIGTERM while a restore runs: the restore
// finishes and is recorded Completed before the process exits 0, and the
// next runner process answers for it from storage.
func TestSIGTERMLetsRestoreFinish(t *testing.T) {
	d, s, src, dst, rs := restoreInFlight(t)
	d.signal(syscall.SIGTERM)
	if code := d.call(t, "POST", "/v1/backups", nil, nil); code != 409 && code != 0 {
		t.Errorf("POST /v1/backups while stopping = %d, want 409", code)
	}
	waitExit(t, d, 3*time.Minute)
	next := startDaemon(t, s, d.token)
	next.waitFor(t, "ready", 20*time.Second, func() bool { return next.status(t, "GET", "/readyz", "", nil) == 200 })
	var got apiRestore
	if code := next.call(t, "GET", "/v1/restores/"+rs.ID, nil, &got); code != 200 || got.Status != "Completed" {
		t.Fatalf("restore %s after SIGTERM and a restart: %d %+v; want Completed", rs.ID, code, got)
	}
	if pgFingerprint(t, dst) != pgFingerprint(t, src) {
		t.Fatal("the restored database differs")
	}
}

// TestKill9DuringRestore: a runner killed mid-restore leaves its record
// Running, and nothing under the name of the new database it restored
// into; the next runner marks the record Failed, saying why, as soon as it
// holds the lease.
func TestKill9DuringRestore(t *testing.T) {
	d, s, _, dst, rs := restoreInFlight(t, "--lease-ttl", "4s")
	d.signal(syscall.SIGKILL)
	<-d.done
	if n := psql(t, "postgres", fmt.Sprintf("SELECT count(*) FROM pg_database WHERE datname = '%s'", dst)); n != "0" {
		t.Errorf("after kill -9 mid-restore, database %s exists; want it under its staging name only", dst)
	}
	next := startDaemon(t, s, d.token, "--lease-ttl", "4s")
	next.waitFor(t, "the new runner to take the expired lease", 30*time.Second, func() bool {
		return next.status(t, "GET", "/readyz", "", nil) == 200
	})
	var got apiRestore
	if code := next.call(t, "GET", "/v1/restores/"+rs.ID, nil, &got); code != 200 || got.Status != "Failed" ||
		!strings.Contains(got.Error, "the runner restarted during the restore") {
		t.Fatalf("restore %s after kill -9 and a restart: %d %+v; want Failed, restarted", rs.ID, code, got)
	}
}

// restoreInFlight starts a runner, backs up a database big enough for its
// restore to take seconds, and returns once pg_restore is writing the copy.
func restoreInFlight(t *testing.T, args ...string) (d *daemon, s *setup, src, dst string, rs apiRestore) {
	t.Helper()
	src = pgDB(t, false)
	bigTable(t, src, 600000)
	token := "tok-" + randomName("")
	s = writeSetup(t, setupOpts{apiToken: token, targets: []target{{name: "main", engine: "postgres", db: src}}})
	d = startDaemon(t, s, token, args...)
	d.waitFor(t, "ready", 20*time.Second, func() bool { return d.status(t, "GET", "/readyz", "", nil) == 200 })
	var b apiBackup
	if code := d.call(t, "POST", "/v1/backups", nil, &b); code != 202 {
		t.Fatalf("POST /v1/backups = %d", code)
	}
	if b = d.waitBackup(t, b.ID); b.Status != "Completed" {
		t.Fatalf("backup %+v", b)
	}
	dst = randomName("coffer_e2e_drain_")
	t.Cleanup(func() {
		dropPG(dst)
		for _, name := range strings.Fields(psql(t, "postgres", fmt.Sprintf("SELECT datname FROM pg_database WHERE starts_with(datname, '%s_coffer_restoring_')", dst))) {
			dropPG(name)
		}
	})
	if code := d.call(t, "POST", "/v1/restores", map[string]any{"backupId": b.ID, "target": "main", "intoDatabase": dst}, &rs); code != 202 {
		t.Fatalf("POST /v1/restores = %d", code)
	}
	// A new database is restored under a staging name, then renamed.
	d.waitFor(t, "pg_restore writing", 60*time.Second, func() bool {
		return psql(t, "postgres", fmt.Sprintf("SELECT count(*) FROM pg_stat_activity WHERE starts_with(datname, '%s_coffer_restoring_') AND application_name = 'pg_restore'", dst)) != "0"
	})
	return d, s, src, dst, rs
}

// waitExit waits for the runner to exit 0.
func waitExit(t *testing.T, d *daemon, within time.Duration) {
	t.Helper()
	select {
	case <-d.done:
	case <-time.After(within):
		t.Fatalf("runner did not exit within %v of SIGTERM", within)
	}
	if d.code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", d.code)
	}
}
