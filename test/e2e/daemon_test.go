package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDaemonAPI: the API refuses requests without the token (and never logs
// it), takes backups on demand, answers 409 while one runs, restores, and the
// metrics move as backups succeed and fail.
func TestDaemonAPI(t *testing.T) {
	src := pgDB(t, true)
	bigTable(t, src, 300000)
	token := "tok-" + randomName("")
	s := writeSetup(t, setupOpts{apiToken: token, targets: []target{{name: "main", engine: "postgres", db: src}}})
	d := startDaemon(t, s, token)
	d.waitFor(t, "readyz", 20*time.Second, func() bool { return d.status(t, "GET", "/readyz", "", nil) == 200 })

	for name, tok := range map[string]string{"no token": "", "wrong token": "not-" + token} {
		if code := d.status(t, "GET", "/v1/backups", tok, nil); code != 401 {
			t.Errorf("%s: GET /v1/backups = %d, want 401", name, code)
		}
	}

	var started apiBackup
	if code := d.call(t, "POST", "/v1/backups", nil, &started); code != 202 || started.ID == "" {
		t.Fatalf("POST /v1/backups = %d %+v", code, started)
	}
	if code := d.call(t, "POST", "/v1/backups", nil, nil); code != 409 {
		t.Errorf("second POST while a backup runs = %d, want 409", code)
	}
	if b := d.waitBackup(t, started.ID); b.Status != "Completed" {
		t.Fatalf("backup %s ended %s: %s", b.ID, b.Status, b.Error)
	}
	if m := d.metric(t, "coffer_backup_last_success_timestamp_seconds"); !strings.Contains(m, `target="main"`) || strings.HasSuffix(m, " 0") {
		t.Errorf("last-success metric did not move:\n%s", m)
	}

	// Restore through the API into a new database.
	dst := randomName("coffer_e2e_restored_")
	t.Cleanup(func() { dropPG(dst) })
	var rs struct{ ID, Status, Error string }
	if code := d.call(t, "POST", "/v1/restores", map[string]any{"backupId": "latest", "target": "main", "intoDatabase": dst}, &rs); code != 202 {
		t.Fatalf("POST /v1/restores = %d", code)
	}
	d.waitFor(t, "restore", 120*time.Second, func() bool {
		d.call(t, "GET", "/v1/restores/"+rs.ID, nil, &rs)
		return rs.Status == "Completed" || rs.Status == "Failed"
	})
	if rs.Status != "Completed" {
		t.Fatalf("restore ended %s: %s", rs.Status, rs.Error)
	}
	if got, want := pgFingerprint(t, dst), pgFingerprint(t, src); got != want {
		t.Fatalf("restored database differs")
	}

	// A failing backup: the database disappears.
	dropPG(src)
	if code := d.call(t, "POST", "/v1/backups", nil, &started); code != 202 {
		t.Fatalf("POST /v1/backups = %d", code)
	}
	if b := d.waitBackup(t, started.ID); b.Status != "Failed" || b.Error == "" {
		t.Fatalf("backup of a dropped database ended %+v", b)
	}
	if m := d.metric(t, "coffer_backup_last_attempt_success"); !strings.Contains(m, " 0") {
		t.Errorf("last-attempt metric did not show the failure:\n%s", m)
	}
	s.assertNoSecrets(t, "the runner's logs", d.logs.String())
	if !strings.Contains(d.logs.String(), "API request refused") {
		t.Errorf("refused requests were not logged")
	}
}

// TestTwoRunnersOneWriter: a second runner on the same definition and storage
// does not back up, and says who holds the lease.
func TestTwoRunnersOneWriter(t *testing.T) {
	src := pgDB(t, true)
	token := "tok-" + randomName("")
	s := writeSetup(t, setupOpts{s3: true, apiToken: token, targets: []target{{name: "main", engine: "postgres", db: src}}})
	a := startDaemon(t, s, token)
	a.waitFor(t, "first runner ready", 20*time.Second, func() bool { return a.status(t, "GET", "/readyz", "", nil) == 200 })
	b := startDaemon(t, s, token)
	b.waitFor(t, "second runner to report the holder", 20*time.Second, func() bool {
		return strings.Contains(b.logs.String(), "another runner holds the lease")
	})
	if code := b.status(t, "GET", "/readyz", "", nil); code != 503 {
		t.Errorf("second runner /readyz = %d, want 503", code)
	}
	if code := b.call(t, "POST", "/v1/backups", nil, nil); code != 409 {
		t.Errorf("second runner accepted a backup: %d", code)
	}
	r := runner(t, nil, "backup", "-f", s.path)
	if r.code == 0 || !strings.Contains(r.stderr, "held by") {
		t.Errorf("one-shot backup beside a runner: exit %d, %s", r.code, r.stderr)
	}
	var started apiBackup
	if code := a.call(t, "POST", "/v1/backups", nil, &started); code != 202 {
		t.Fatalf("first runner POST = %d", code)
	}
	if got := a.waitBackup(t, started.ID); got.Status != "Completed" {
		t.Fatalf("backup ended %+v", got)
	}
	if n := len(list(t, s)); n != 1 {
		t.Fatalf("%d backups listed, want exactly 1", n)
	}
}

// TestKill9MidBackup: no committed backup; the lease expires and a new runner
// proceeds; the sweeper removes the leftovers.
func TestKill9MidBackup(t *testing.T) {
	src := pgDB(t, false)
	bigTable(t, src, 1500000)
	token := "tok-" + randomName("")
	s := writeSetup(t, setupOpts{apiToken: token, targets: []target{{name: "main", engine: "postgres", db: src}}})
	a := startDaemon(t, s, token, "--lease-ttl", "4s")
	a.waitFor(t, "ready", 20*time.Second, func() bool { return a.status(t, "GET", "/readyz", "", nil) == 200 })
	var killed apiBackup
	if code := a.call(t, "POST", "/v1/backups", nil, &killed); code != 202 {
		t.Fatalf("POST = %d", code)
	}
	waitCopying(t, a, src)
	killedDir := filepath.Join(s.storageDir, "e2e", "shop", killed.ID)
	a.waitFor(t, "the upload to start", 30*time.Second, func() bool { return len(s.storedFiles(t)) > 0 })
	a.signal(syscall.SIGKILL)
	<-a.done
	if got := list(t, s); len(got) != 0 {
		t.Fatalf("a killed backup is listed: %+v", got)
	}

	killedAt := time.Now()
	b := startDaemon(t, s, token, "--lease-ttl", "4s", "--orphan-grace", "1s")
	b.waitFor(t, "the new runner to take over the expired lease", 30*time.Second, func() bool {
		return b.status(t, "GET", "/readyz", "", nil) == 200
	})
	if waited := time.Since(killedAt); waited < 2*time.Second {
		t.Errorf("the new runner took the lease after %v, before it could have expired", waited)
	}
	var next apiBackup
	if code := b.call(t, "POST", "/v1/backups", nil, &next); code != 202 {
		t.Fatalf("POST = %d", code)
	}
	if got := b.waitBackup(t, next.ID); got.Status != "Completed" {
		t.Fatalf("backup after takeover ended %+v", got)
	}
	// Retention ran after the commit, and with it the sweeper.
	b.waitFor(t, "the sweeper", 10*time.Second, func() bool { return !dirHasFiles(killedDir) })
	if got := list(t, s); len(got) != 1 || got[0].ID != next.ID {
		t.Fatalf("listed %+v, want only %s", got, next.ID)
	}
}

// TestSIGTERMAbortsAfterDrainTimeout: a backup that outlasts the drain
// timeout after SIGTERM is aborted: nothing committed or left behind, the
// failure recorded with the reason, the lease released at once; the next
// backup needs no cleanup.
func TestSIGTERMAbortsAfterDrainTimeout(t *testing.T) {
	src := pgDB(t, false)
	bigTable(t, src, 1500000)
	token := "tok-" + randomName("")
	s := writeSetup(t, setupOpts{apiToken: token, targets: []target{{name: "main", engine: "postgres", db: src}}})
	d := startDaemon(t, s, token, "--drain-timeout", "1s")
	d.waitFor(t, "ready", 20*time.Second, func() bool { return d.status(t, "GET", "/readyz", "", nil) == 200 })
	var started apiBackup
	if code := d.call(t, "POST", "/v1/backups", nil, &started); code != 202 {
		t.Fatalf("POST = %d", code)
	}
	waitCopying(t, d, src)
	sent := time.Now()
	d.signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(20 * time.Second):
		t.Fatal("runner did not stop within 20s of SIGTERM")
	}
	t.Logf("stopped %v after SIGTERM, exit code %d", time.Since(sent).Round(time.Millisecond), d.code)
	if d.code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", d.code)
	}
	if got := list(t, s); len(got) != 0 {
		t.Fatalf("an aborted backup is listed: %+v", got)
	}
	if dirHasFiles(filepath.Join(s.storageDir, "e2e", "shop", started.ID)) {
		t.Errorf("the aborted backup left objects")
	}
	if rec, err := os.ReadFile(filepath.Join(s.storageDir, "e2e", "shop", "failures", started.ID+".json")); err != nil ||
		!strings.Contains(string(rec), "drain timeout") {
		t.Errorf("failure record of the aborted backup (%v) does not give the drain timeout as the reason:\n%s", err, rec)
	}
	// Released, not expired: a one-shot backup gets the lease at once.
	r := runner(t, nil, "backup", "-f", s.path)
	if r.code != 0 {
		t.Fatalf("backup after SIGTERM: exit %d: %s", r.code, r.stderr)
	}
}

func dirHasFiles(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) > 0
}
