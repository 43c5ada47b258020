package runner_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/pipeline"
	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/storage"
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

// rtSpec is a restoreTest block testing target with check.
func rtSpec(target, check string) string {
	return "restoreTest:\n  schedule: \"0 4 * * *\"\n  targets:\n  - name: " + target + "\n    checks: [\"" + check + "\"]"
}

// TestRestoreTestReadsTheBackupOnce: a passing restore test of a database
// target reads each stored object or chunk once, in both formats: the
// backup is checked while it streams into the scratch database.
func TestRestoreTestReadsTheBackupOnce(t *testing.T) {
	pg, my := shopData(t)
	for name, chunked := range map[string]bool{"format 1": false, "format 2": true} {
		t.Run(name, func(t *testing.T) {
			spec := `restoreTest:
  schedule: "0 4 * * *"
  targets:
  - name: main
    checks: ["select count(*) = 200000 from t"]
  - name: ci
    checks: ["select count(*) = 50000 from t"]`
			r := newRunner(t, fixture{pg: pg, my: my, chunked: chunked, spec: spec}.load(t, t.TempDir()), runner.Options{})
			id := backup(t, r)
			m, err := r.Catalog().Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			c := counted(r)
			rec, err := r.RestoreTest(context.Background(), layout.NewID(time.Now()), (&saved{cat: r.Catalog()}).save)
			if err != nil || rec.Status != catalog.RestoreTestPassed {
				t.Fatalf("restore test: %v, %+v", err, rec)
			}
			want, size := reads(m.Targets[0])+reads(m.Targets[1]), m.Targets[0].Size+m.Targets[1].Size
			if gets, n := c.reset(); gets != want || n != size {
				t.Errorf("the restore test read %d objects, %d bytes; want one pass: %d, %d", gets, n, want, size)
			}
			scratchGone(t, rec)
		})
	}
}

// TestRestoreTestOfACorruptBackupFails: a damaged object or chunk, or a
// missing chunk, found while the backup streams into the scratch database,
// fails the test with an error naming the backup, the target and the
// object or chunk; the scratch database is dropped and the record says so.
func TestRestoreTestOfACorruptBackupFails(t *testing.T) {
	pg, my := shopData(t)
	cases := map[string]struct {
		chunked bool
		target  string
		damage  func(t *testing.T, dir string, m *manifest.Manifest, rec manifest.Target) string
		want    error
	}{
		"format 1, flipped byte":         {target: "main", damage: flipObject, want: pipeline.ErrIntegrity},
		"format 1, mysql, flipped byte":  {target: "ci", damage: flipObject, want: pipeline.ErrIntegrity},
		"format 1, wrong dump checksum":  {target: "main", damage: wrongPlainSum, want: pipeline.ErrIntegrity},
		"format 2, flipped chunk":        {chunked: true, target: "main", damage: flipLastChunk, want: pipeline.ErrIntegrity},
		"format 2, mysql, flipped chunk": {chunked: true, target: "ci", damage: flipLastChunk, want: pipeline.ErrIntegrity},
		"format 2, missing chunk":        {chunked: true, target: "main", damage: removeLastChunk, want: storage.ErrNotFound},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := fixture{pg: pg, my: my, chunked: tc.chunked, spec: rtSpec(tc.target, "select true")}.load(t, dir)
			id := backup(t, newRunner(t, cfg, runner.Options{}))
			m, err := newRunner(t, cfg, runner.Options{}).Catalog().Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			rec, _ := m.Target(tc.target)
			what := tc.damage(t, dir, m, rec)
			r := newRunner(t, cfg, runner.Options{}) // reads the manifest again
			got, err := r.RestoreTest(context.Background(), layout.NewID(time.Now()), (&saved{cat: r.Catalog()}).save)
			if !errors.Is(err, runner.ErrRestoreTest) || !errors.Is(err, tc.want) || got.Status != catalog.RestoreTestFailed {
				t.Fatalf("restore test of a damaged backup: %v, %+v; want %v", err, got, tc.want)
			}
			for _, s := range []string{id, `"` + tc.target + `"`, what, got.Targets[0].Database, "was dropped again"} {
				if !strings.Contains(got.Error, s) {
					t.Errorf("the recorded error does not name %q: %s", s, got.Error)
				}
			}
			if tg := got.Targets[0]; !tg.Created || !tg.Dropped || tg.Checks != nil {
				t.Errorf("target record %+v: want created, dropped, no checks run", tg)
			}
			scratchGone(t, got)
			stored, err := r.Catalog().ListRestoreTests(context.Background())
			if err != nil || len(stored) != 1 || stored[0].Status != catalog.RestoreTestFailed || stored[0].Error != got.Error {
				t.Fatalf("stored records %+v, %v", stored, err)
			}
		})
	}
}

// TestRestoreTestLeavesAnExistingScratchDatabase: a database that exists
// with the scratch name before the test is not the test's: the test fails
// naming it, restores nothing into it, and neither it nor the next run's
// cleanup drops it.
func TestRestoreTestLeavesAnExistingScratchDatabase(t *testing.T) {
	r, cat, _ := newShop(t, rtSpec("main", "select true"), "")
	backup(t, r)
	id := layout.NewID(time.Now())
	db := runner.ScratchName(id, 0)
	srv := testutil.SharedPostgres(t)
	srv.Exec(t, "postgres", "CREATE DATABASE "+db)
	srv.DropOnCleanup(t, db)
	testutil.PGExec(t, db, "CREATE TABLE mine (v text); INSERT INTO mine VALUES ('kept')")
	before := testutil.PGFingerprint(t, db)
	rec, err := r.RestoreTest(context.Background(), id, (&saved{cat: cat}).save)
	if !errors.Is(err, runner.ErrRestoreTest) || !strings.Contains(rec.Error, db) || !strings.Contains(rec.Error, "exists") {
		t.Fatalf("restore test into an existing scratch name: %v, %+v", err, rec)
	}
	if tg := rec.Targets[0]; tg.Created || !tg.Dropped {
		t.Errorf("target record %+v: want not created, nothing left to drop", tg)
	}
	records, err := cat.ListRestoreTests(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CleanRestoreTests(context.Background(), records, (&saved{cat: cat}).save); err != nil {
		t.Fatal(err)
	}
	if !pgExists(t, db) || testutil.PGFingerprint(t, db) != before {
		t.Fatal("the database that had the scratch name before the test was changed or dropped")
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
