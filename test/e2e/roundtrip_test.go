package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// listed is the documented JSON shape of `list -o json`.
type listed struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	StartTime time.Time `json:"startTime"`
	EndTime   time.Time `json:"endTime"`
	Labels    []string  `json:"labels"`
	Targets   []struct {
		Name   string `json:"name"`
		Engine string `json:"engine"`
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
	} `json:"targets"`
}

func list(t *testing.T, s *setup) []listed {
	t.Helper()
	return listArgs(t, "list", "-f", s.path, "-o", "json")
}

func listArgs(t *testing.T, args ...string) []listed {
	t.Helper()
	r := mustRun(t, args...)
	var out []listed
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("list -o json is not JSON: %v\n%s", err, r.stdout)
	}
	return out
}

// TestPostgresRoundTrip: backup, list, verify, restore into a new database,
// equal data; a non-empty destination needs --clean.
func TestPostgresRoundTrip(t *testing.T) {
	src := pgDB(t, true)
	s := writeSetup(t, setupOpts{targets: []target{{name: "main", engine: "postgres", db: src}}})

	b := mustRun(t, "backup", "-f", s.path)
	id := strings.TrimSpace(b.stdout)
	if len(id) != len("20261121T103000Z-k3f9") {
		t.Fatalf("backup printed %q, want a backup id", b.stdout)
	}
	backups := list(t, s)
	if len(backups) != 1 || backups[0].ID != id || backups[0].Status != "Completed" || backups[0].Labels == nil {
		t.Fatalf("list = %+v", backups)
	}
	tg := backups[0].Targets
	if len(tg) != 1 || tg[0].Name != "main" || tg[0].Engine != "postgres" || tg[0].Size <= 0 || len(tg[0].SHA256) != 64 {
		t.Fatalf("listed targets = %+v", tg)
	}
	if !backups[0].EndTime.After(backups[0].StartTime) {
		t.Fatalf("start %v end %v", backups[0].StartTime, backups[0].EndTime)
	}
	table := mustRun(t, "list", "-f", s.path)
	if !strings.Contains(table.stdout, id) || !strings.Contains(table.stdout, "Completed") {
		t.Fatalf("list table:\n%s", table.stdout)
	}
	mustRun(t, "verify", "-f", s.path, "--backup", "latest")

	dst := randomName("coffer_e2e_restored_")
	t.Cleanup(func() { dropPG(dst) })
	mustRun(t, "restore", "-f", s.path, "--backup", id, "--into-database", dst)
	if got, want := pgFingerprint(t, dst), pgFingerprint(t, src); got != want {
		t.Fatalf("restored database differs:\n--- original\n%s\n--- restored\n%s", want, got)
	}

	// The destination now has tables: refused without --clean, and untouched.
	psql(t, dst, "INSERT INTO audit_log (entry) VALUES ('written after restore')")
	r := runner(t, nil, "restore", "-f", s.path, "--backup", id, "--into-database", dst)
	if r.code == 0 || !strings.Contains(r.stderr, "not empty") || !strings.Contains(r.stderr, "--clean") {
		t.Fatalf("restore into a non-empty database: exit %d, stderr %s", r.code, r.stderr)
	}
	if n := psql(t, dst, "SELECT count(*) FROM audit_log WHERE entry = 'written after restore'"); n != "1" {
		t.Fatalf("refused restore changed the database")
	}
	mustRun(t, "restore", "-f", s.path, "--backup", "latest", "--into-database", dst, "--clean")
	if got, want := pgFingerprint(t, dst), pgFingerprint(t, src); got != want {
		t.Fatalf("--clean restore differs:\n--- original\n%s\n--- restored\n%s", want, got)
	}
}

// TestMySQLOnMinIO: a MariaDB database through S3 storage on a real MinIO.
func TestMySQLOnMinIO(t *testing.T) {
	src := myDB(t)
	s := writeSetup(t, setupOpts{s3: true, targets: []target{{name: "ci", engine: "mysql", db: src}}})
	id := strings.TrimSpace(mustRun(t, "backup", "-f", s.path).stdout)
	backups := list(t, s)
	if len(backups) != 1 || backups[0].ID != id || backups[0].Targets[0].Engine != "mysql" {
		t.Fatalf("list = %+v", backups)
	}
	mustRun(t, "verify", "-f", s.path, "--backup", id)
	dst := randomName("coffer_e2e_restored_")
	t.Cleanup(func() { dropMy(dst) })
	mustRun(t, "restore", "-f", s.path, "--backup", id, "--target", "ci", "--into-database", dst)
	if got, want := myFingerprint(t, dst), myFingerprint(t, src); got != want {
		t.Fatalf("restored database differs:\n--- original\n%s\n--- restored\n%s", want, got)
	}
}

// TestBackupSet: two engines in one set; both objects in one manifest, both restorable.
func TestBackupSet(t *testing.T) {
	pg, my := pgDB(t, true), myDB(t)
	s := writeSetup(t, setupOpts{s3: true, targets: []target{
		{name: "main", engine: "postgres", db: pg},
		{name: "ci", engine: "mysql", db: my},
	}})
	mustRun(t, "backup", "-f", s.path)
	backups := list(t, s)
	if len(backups) != 1 || len(backups[0].Targets) != 2 {
		t.Fatalf("list = %+v", backups)
	}
	r := runner(t, nil, "restore", "-f", s.path, "--backup", "latest", "--into-database", "x")
	if r.code == 0 || !strings.Contains(r.stderr, "--target") {
		t.Fatalf("--into-database with two targets must ask for --target: exit %d %s", r.code, r.stderr)
	}
}
