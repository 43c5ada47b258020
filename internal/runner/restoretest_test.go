package runner_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/pipeline"
	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// pgExists and myExists report whether a database exists on the shared
// servers.
func pgExists(t *testing.T, db string) bool {
	t.Helper()
	var n int
	conn := testutil.SharedPostgres(t).Conn(t, "postgres")
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_database WHERE datname = $1", db).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func myExists(t *testing.T, db string) bool {
	t.Helper()
	var n int
	pool := testutil.SharedMySQL(t).Open(t, "")
	if err := pool.QueryRow("SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?", db).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// scratchGone fails the test if a scratch database of rec still exists,
// and drops it so a failing test leaves nothing behind.
func scratchGone(t *testing.T, rec catalog.RestoreTest) {
	t.Helper()
	for _, tg := range rec.Targets {
		exists := pgExists
		if tg.Name == "ci" {
			exists = myExists
		}
		if exists(t, tg.Database) {
			t.Errorf("scratch database %s of target %s still exists", tg.Database, tg.Name)
		}
		if !tg.Dropped && tg.Created {
			t.Errorf("target %s: record says not dropped: %+v", tg.Name, tg)
		}
	}
}

// newShop is a runner for a PostgreSQL database (returned) with 1500
// orders and a MariaDB database with 3 items.
func newShop(t *testing.T, spec, docs string) (*runner.Runner, catalog.Catalog, string) {
	t.Helper()
	pg := testutil.PostgresDB(t)
	testutil.PGExec(t, pg, "CREATE TABLE orders AS SELECT i AS id FROM generate_series(1, 1500) AS i")
	my := testutil.MySQLDB(t)
	testutil.MySQLExec(t, my, "CREATE TABLE items (id INT PRIMARY KEY); INSERT INTO items VALUES (1), (2), (3)")
	cfg := fixture{pg: pg, my: my, spec: spec, docs: docs}.load(t, t.TempDir())
	r := newRunner(t, cfg, runner.Options{})
	return r, r.Catalog(), pg
}

// scratchUser is a MariaDB user that may only touch scratch databases,
// with a hostile password in a Secret of its own: the restore test's
// server override.
func scratchUser(t *testing.T) (spec, docs string) {
	u := testutil.SharedMySQL(t).CreateUser(t, runner.ScratchPrefix, "")
	return fmt.Sprintf("{host: 127.0.0.1, port: 3306, user: %s, passwordSecretRef: {name: scratch, key: password}}", u.User),
		fmt.Sprintf("---\napiVersion: v1\nkind: Secret\nmetadata: {name: scratch}\nstringData: {password: %q}\n", u.Password)
}

func TestRestoreTestPasses(t *testing.T) {
	server, docs := scratchUser(t)
	r, cat, _ := newShop(t, `restoreTest:
  schedule: "0 4 * * *"
  targets:
  - name: main
    checks: ["select count(*) > 1000 from orders", "select max(id) = 1500 from orders"]
  - name: ci
    server: `+server+`
    checks: ["select count(*) = 3 from items"]`, docs)
	id := backup(t, r)
	s := &saved{cat: cat}
	s.before = func(rec catalog.RestoreTest) {
		if len(s.records) == 0 { // the first record: nothing created yet, every name in it
			if rec.Status != catalog.RestoreTestRunning || len(rec.Targets) != 2 || pgExists(t, rec.Targets[0].Database) {
				t.Errorf("first record %+v", rec)
			}
		}
	}
	rec, err := r.RestoreTest(context.Background(), layout.NewID(time.Now()), s.save)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != catalog.RestoreTestPassed || rec.BackupID != id || rec.EndTime.IsZero() {
		t.Fatalf("record %+v", rec)
	}
	for _, tg := range rec.Targets {
		if !strings.HasPrefix(tg.Database, runner.ScratchPrefix) || tg.RestoreSeconds <= 0 || tg.Error != "" {
			t.Errorf("target %+v", tg)
		}
		for _, c := range tg.Checks {
			if !c.Passed {
				t.Errorf("check %+v", c)
			}
		}
	}
	if rec.Targets[1].Server != "127.0.0.1:3306" {
		t.Errorf("ci tested on %q", rec.Targets[1].Server)
	}
	scratchGone(t, rec)
	stored, err := cat.ListRestoreTests(context.Background())
	if err != nil || len(stored) != 1 || stored[0].Status != catalog.RestoreTestPassed {
		t.Fatalf("stored records %+v, %v", stored, err)
	}
}

func TestRestoreTestReportsAFailingCheck(t *testing.T) {
	const check = "select count(*) > 1000 from orders"
	r, cat, db := newShop(t, "restoreTest:\n  schedule: \"0 4 * * *\"\n  targets:\n  - name: main\n    checks: [\""+check+"\"]", "")
	testutil.PGExec(t, db, "DELETE FROM orders WHERE id > 10") // the data is lost before the backup
	backup(t, r)
	s := &saved{cat: cat}
	rec, err := r.RestoreTest(context.Background(), layout.NewID(time.Now()), s.save)
	if !errors.Is(err, runner.ErrRestoreTest) || rec.Status != catalog.RestoreTestFailed {
		t.Fatalf("restore test of a failing check: %v, %+v", err, rec)
	}
	c := rec.Targets[0].Checks
	if len(c) != 1 || c[0].Passed || c[0].SQL != check || !strings.Contains(rec.Error, check) || !strings.Contains(c[0].Error, "false") {
		t.Fatalf("check result %+v, error %q", c, rec.Error)
	}
	scratchGone(t, rec)
}

func TestRestoreTestOfACorruptObjectCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	pg := testutil.PostgresDB(t)
	testutil.PGExec(t, pg, "CREATE TABLE orders AS SELECT 1 AS id")
	cfg := fixture{pg: pg, spec: "restoreTest: {schedule: \"0 4 * * *\"}"}.load(t, dir)
	r := newRunner(t, cfg, runner.Options{})
	id := backup(t, r)
	m, _ := r.Catalog().Get(context.Background(), id)
	flipByte(t, filepath.Join(dir, m.Targets[0].Object))
	s := &saved{cat: r.Catalog()}
	s.before = func(rec catalog.RestoreTest) {
		for _, tg := range rec.Targets {
			if pgExists(t, tg.Database) {
				t.Errorf("scratch database %s exists", tg.Database)
			}
		}
	}
	rec, err := r.RestoreTest(context.Background(), layout.NewID(time.Now()), s.save)
	if !errors.Is(err, pipeline.ErrIntegrity) || rec.Status != catalog.RestoreTestFailed || rec.Targets[0].Created {
		t.Fatalf("restore test of a corrupt object: %v, %+v", err, rec)
	}
	if len(s.records) != 1 {
		t.Fatalf("%d records written, want only the final one", len(s.records))
	}
}

func flipByte(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x40
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRestoreTestDropsScratchWhenCancelled: a test cancelled while a check
// runs (the daemon stopping) still drops its scratch database.
func TestRestoreTestDropsScratchWhenCancelled(t *testing.T) {
	r, cat, _ := newShop(t, "restoreTest:\n  schedule: \"0 4 * * *\"\n  targets:\n  - name: main\n    checks: [\"select pg_sleep(60) is not null\"]", "")
	backup(t, r)
	ctx, cancel := context.WithCancel(context.Background())
	s := &saved{cat: cat}
	s.before = func(rec catalog.RestoreTest) {
		if len(s.records) == 0 {
			time.AfterFunc(3*time.Second, cancel) // during the check
		}
	}
	start := time.Now()
	rec, err := r.RestoreTest(ctx, layout.NewID(time.Now()), s.save)
	if err == nil || time.Since(start) > 45*time.Second {
		t.Fatalf("cancelled restore test: %v after %v", err, time.Since(start))
	}
	scratchGone(t, rec)
}

// TestCleanRestoreTestsDropsOnlyRecordedLeftovers: what a killed runner
// left (a Running record naming a scratch database that exists) is
// dropped by the next run; a database no record names is not touched,
// even with the scratch prefix.
func TestCleanRestoreTestsDropsOnlyRecordedLeftovers(t *testing.T) {
	pg := testutil.PostgresDB(t)
	cfg := fixture{pg: pg, spec: "restoreTest: {schedule: \"0 4 * * *\"}"}.load(t, t.TempDir())
	r := newRunner(t, cfg, runner.Options{})
	srv := testutil.SharedPostgres(t)
	id := layout.NewID(time.Now())
	leftover, foreign := runner.ScratchName(id, 0), runner.ScratchName(layout.NewID(time.Now()), 0)
	for _, db := range []string{leftover, foreign} {
		srv.Exec(t, "postgres", "CREATE DATABASE "+db)
		srv.DropOnCleanup(t, db)
	}
	rec := catalog.RestoreTest{ID: id, Status: catalog.RestoreTestRunning, StartTime: time.Now(),
		Targets: []catalog.RestoreTestTarget{{Name: "main", Server: "127.0.0.1:5432", Database: leftover, Created: true}}}
	if err := r.Catalog().PutRestoreTest(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	records, _ := r.Catalog().ListRestoreTests(context.Background())
	s := &saved{cat: r.Catalog()}
	if err := r.CleanRestoreTests(context.Background(), records, s.save); err != nil {
		t.Fatal(err)
	}
	if pgExists(t, leftover) || !pgExists(t, foreign) {
		t.Fatalf("after cleaning: leftover exists %v, unrecorded exists %v; want false, true", pgExists(t, leftover), pgExists(t, foreign))
	}
	got, _ := r.Catalog().ListRestoreTests(context.Background())
	if len(got) != 1 || got[0].Status != catalog.RestoreTestFailed || !got[0].Targets[0].Dropped || got[0].Error != runner.ReasonRestoreTestInterrupted {
		t.Fatalf("record after cleaning %+v", got)
	}
}
