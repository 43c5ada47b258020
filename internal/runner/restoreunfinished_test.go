package runner_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestRestoreReplacesWhatAnInterruptedMariaDBRestoreLeft: MariaDB cannot
// rename a database, so a restore into a new one fills it under its own
// name, marked unfinished until it succeeded. What a restore killed halfway
// left (the mark, half the tables) is dropped by the next restore into that
// name, which restores it anew; one a session still uses is refused as any
// database holding tables is, and left as it was.
func TestRestoreReplacesWhatAnInterruptedMariaDBRestoreLeft(t *testing.T) {
	_, my := shopData(t)
	ctx := context.Background()
	s := testutil.SharedMySQL(t)
	log := &syncBuffer{}
	r := newRunner(t, fixture{pg: testutil.PostgresDB(t), my: my}.load(t, t.TempDir()),
		runner.Options{Log: slog.New(slog.NewTextHandler(log, nil))})
	id := backup(t, r)
	comment := func(db string) string {
		var c string
		if err := s.Open(t, "mysql").QueryRow("SELECT SCHEMA_COMMENT FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", db).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	leftover := func() string {
		db := newMy(t)
		s.Exec(t, "mysql", "CREATE DATABASE `"+db+"` COMMENT 'coffer: unfinished restore'")
		s.Exec(t, db, "CREATE TABLE t (i INT PRIMARY KEY, v VARCHAR(64)); INSERT INTO t VALUES (1, 'half'); CREATE TABLE half_done (i INT)")
		return db
	}

	db := leftover()
	if _, err := r.Restore(ctx, runner.RestoreRequest{BackupID: id, Target: "ci", IntoDatabase: db}); err != nil {
		t.Fatalf("restoring into what an interrupted restore left: %v", err)
	}
	if testutil.MySQLFingerprint(t, db) != testutil.MySQLFingerprint(t, my) {
		t.Errorf("%s, restored anew, differs from its source", db)
	}
	if c := comment(db); c != "" {
		t.Errorf("the restored database is still marked: comment %q", c)
	}
	if !strings.Contains(log.String(), "dropped the database an interrupted restore left unfinished") {
		t.Errorf("the log does not say the leftover was dropped:\n%s", log.String())
	}

	// A new database restored in one go is not left marked either.
	fresh := newMy(t)
	if _, err := r.Restore(ctx, runner.RestoreRequest{BackupID: id, Target: "ci", IntoDatabase: fresh}); err != nil {
		t.Fatal(err)
	}
	if c := comment(fresh); c != "" {
		t.Errorf("a database restored into as new is left marked: comment %q", c)
	}

	busy := leftover()
	before := testutil.MySQLFingerprint(t, busy)
	user := s.Open(t, busy)
	if err := user.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := r.Restore(ctx, runner.RestoreRequest{BackupID: id, Target: "ci", IntoDatabase: busy})
	if !errors.Is(err, engine.ErrNotEmpty) {
		t.Fatalf("restoring into an unfinished database a session uses: %v; want %v", err, engine.ErrNotEmpty)
	}
	if testutil.MySQLFingerprint(t, busy) != before {
		t.Error("the unfinished database a session uses was changed")
	}
}
