package runner_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// holdingStore holds the GET of one key until release is closed, and
// closes reached when that GET starts.
type holdingStore struct {
	storage.Store
	key              string
	reached, release chan struct{}
}

func (s *holdingStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if key == s.key {
		close(s.reached)
		select {
		case <-s.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.Store.Get(ctx, key)
}

// pgDatabasesLike lists the databases whose name starts with prefix.
func pgDatabasesLike(t *testing.T, prefix string) []string {
	t.Helper()
	conn := testutil.SharedPostgres(t).Conn(t, "postgres")
	rows, err := conn.Query(context.Background(), "SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1", prefix)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestRestoreIntoNewDatabaseIsStaged: while a restore into a new PostgreSQL
// database runs, the database has a staging name, so a restore killed
// halfway leaves nothing under the name asked for; it takes that name once
// the whole backup was restored and checked. A failed one leaves neither.
func TestRestoreIntoNewDatabaseIsStaged(t *testing.T) {
	pg, _ := shopData(t)
	ctx := context.Background()
	dir := t.TempDir()
	cfg := fixture{pg: pg, chunked: true}.load(t, dir)
	id := backup(t, newRunner(t, cfg, runner.Options{}))
	r := newRunner(t, cfg, runner.Options{})
	m, err := r.Catalog().Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Targets[0].Chunks) < 2 {
		t.Fatalf("the backup has %d chunks; the test needs two or more", len(m.Targets[0].Chunks))
	}
	hold := &holdingStore{key: lastChunk(m, m.Targets[0]), reached: make(chan struct{}), release: make(chan struct{})}
	runner.WrapStore(r, func(s storage.Store) storage.Store { hold.Store = s; return hold })

	db := newPG(t)
	done := make(chan error, 1)
	go func() {
		_, err := r.Restore(ctx, runner.RestoreRequest{BackupID: id, Target: "main", IntoDatabase: db})
		done <- err
	}()
	// The last chunk is held: the restore streams up to it into its
	// database, and waits.
	var staging []string
	for deadline := time.Now().Add(2 * time.Minute); len(staging) == 0; time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("the restore ended before reading its last chunk: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no database appeared in 2 minutes")
		}
		staging = pgDatabasesLike(t, db)
	}
	<-hold.reached
	for _, name := range staging {
		testutil.SharedPostgres(t).DropOnCleanup(t, name)
	}
	if len(staging) != 1 || !strings.HasPrefix(staging[0], db+"_coffer_restoring_") {
		t.Errorf("halfway through the restore the server has %q; want one staging database %s_coffer_restoring_…", staging, db)
	}
	close(hold.release)
	if err := <-done; err != nil {
		t.Fatalf("restore: %v", err)
	}
	if got := pgDatabasesLike(t, db); len(got) != 1 || got[0] != db {
		t.Errorf("after the restore the server has %q; want only %s", got, db)
	}
	if testutil.PGFingerprint(t, db) != testutil.PGFingerprint(t, pg) {
		t.Errorf("%s differs from its source", db)
	}

	// A damaged last chunk: neither the staging database nor the one
	// asked for is left.
	flipLastChunk(t, dir, m, m.Targets[0])
	r = newRunner(t, cfg, runner.Options{})
	failed := newPG(t)
	_, err = r.Restore(ctx, runner.RestoreRequest{BackupID: id, Target: "main", IntoDatabase: failed})
	if err == nil || !strings.Contains(err.Error(), "to become \""+failed+"\", was dropped again") {
		t.Fatalf("restore of a damaged backup: %v; want it to say the staging database was dropped", err)
	}
	if got := pgDatabasesLike(t, failed); len(got) != 0 {
		t.Errorf("a failed restore left %q", got)
	}
}

// TestRestoreDropsIdleLeftovers: a restore into a new database first drops
// the staging databases of that name that interrupted restores left and no
// one uses, and leaves one a session is connected to.
func TestRestoreDropsIdleLeftovers(t *testing.T) {
	pg, _ := shopData(t)
	ctx := context.Background()
	cfg := fixture{pg: pg, chunked: true}.load(t, t.TempDir())
	log := &syncBuffer{}
	r := newRunner(t, cfg, runner.Options{Log: slog.New(slog.NewTextHandler(log, nil))})
	id := backup(t, r)
	db := newPG(t)
	srv := testutil.SharedPostgres(t)
	idle, busy := db+"_coffer_restoring_0dead0ff", db+"_coffer_restoring_0b05e000"
	// Databases that only start like a staging name are someone else's.
	lookalikes := []string{db + "_coffer_restoring_archive", db + "_coffer_restoring_0dead0ff0", db + "_coffer_restoring_0DEAD0FF"}
	for _, name := range append([]string{idle, busy}, lookalikes...) {
		srv.DropOnCleanup(t, name)
		testutil.PGExec(t, "postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	}
	testutil.PGExec(t, idle, "CREATE TABLE half (i int)")
	srv.Conn(t, busy) // a restore running now, say
	if _, err := r.Restore(ctx, runner.RestoreRequest{BackupID: id, Target: "main", IntoDatabase: db}); err != nil {
		t.Fatalf("restore: %v", err)
	}
	want := append([]string{db, busy}, lookalikes...)
	sort.Strings(want)
	got := pgDatabasesLike(t, db)
	sort.Strings(got) // the server's collation may order case otherwise
	if !slices.Equal(got, want) {
		t.Errorf("after the restore the server has %q; want %q: the restored database, the staging database in use and the lookalikes", got, want)
	}
	if want := "dropped the staging database an interrupted restore left"; !strings.Contains(log.String(), want) || !strings.Contains(log.String(), idle) {
		t.Errorf("the log does not say %q, naming %s:\n%s", want, idle, log.String())
	}
	if testutil.PGFingerprint(t, db) != testutil.PGFingerprint(t, pg) {
		t.Errorf("%s differs from its source", db)
	}
}

// TestRestoreManyTablesIntoNewDatabase: a database of more tables than one
// transaction can lock (max_locks_per_transaction × connections) backs up,
// and restores into a new database: the restore in one transaction fails,
// and the runner restores again in many. Into an existing one, which needs
// one transaction, the restore fails with a hint and leaves the database as
// it was.
func TestRestoreManyTablesIntoNewDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("creates thousands of tables")
	}
	ctx := context.Background()
	pg := testutil.PostgresDB(t)
	var locks int
	conn := testutil.SharedPostgres(t).Conn(t, pg)
	err := conn.QueryRow(ctx, `SELECT current_setting('max_locks_per_transaction')::int *
		(current_setting('max_connections')::int + current_setting('max_prepared_transactions')::int)`).Scan(&locks)
	if err != nil {
		t.Fatal(err)
	}
	// Each table with a primary key and a text column takes four locks
	// when it is restored (table, TOAST table, TOAST index, primary key);
	// a third of the lock table's slots is more tables than it holds.
	tables := locks/3 + 100
	for from := 1; from <= tables; from += 500 {
		testutil.PGExec(t, pg, fmt.Sprintf(`DO $$ BEGIN FOR i IN %d..%d LOOP
			EXECUTE format('CREATE TABLE t%%s (id int PRIMARY KEY, v text)', i);
			EXECUTE format('INSERT INTO t%%s VALUES (1, %%L)', i, 'row ' || i);
		END LOOP; END $$`, from, min(from+499, tables)))
	}
	start := time.Now()
	cfg := fixture{pg: pg}.load(t, t.TempDir())
	log := &syncBuffer{}
	r := newRunner(t, cfg, runner.Options{Log: slog.New(slog.NewTextHandler(log, nil))})
	id := backup(t, r)
	t.Logf("%d tables: created, backed up in %s", tables, time.Since(start).Round(time.Millisecond))

	db := newPG(t)
	start = time.Now()
	if _, err := r.Restore(ctx, runner.RestoreRequest{BackupID: id, Target: "main", IntoDatabase: db}); err != nil {
		t.Fatalf("restoring %d tables into a new database: %v", tables, err)
	}
	t.Logf("restored into a new database in %s", time.Since(start).Round(time.Millisecond))
	if want := "restoring again, in many transactions"; !strings.Contains(log.String(), want) {
		t.Errorf("the log does not say %q:\n%s", want, log.String())
	}
	if got, want := tableSummary(t, db), tableSummary(t, pg); got != want || !strings.HasPrefix(got, fmt.Sprint(tables)+" ") {
		t.Errorf("restored into %s: %s tables, rows and indexes; the source has %s", db, got, want)
	}

	existing := testutil.PostgresDB(t)
	testutil.PGExec(t, existing, "CREATE TABLE kept (id int); INSERT INTO kept VALUES (42)")
	before := testutil.PGFingerprint(t, existing)
	start = time.Now()
	_, err = r.Restore(ctx, runner.RestoreRequest{BackupID: id, Target: "main", IntoDatabase: existing, Clean: true})
	t.Logf("restore into an existing database failed in %s", time.Since(start).Round(time.Millisecond))
	if err == nil {
		t.Skipf("the server's lock table held %d tables in one transaction; nothing to show", tables)
	}
	if !errors.Is(err, engine.ErrLockTable) {
		t.Errorf("the error is not engine.ErrLockTable: %v", err)
	}
	for _, want := range []string{"out of shared memory", "restore into a new database", "max_locks_per_transaction"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if testutil.PGFingerprint(t, existing) != before {
		t.Errorf("the failed restore changed %s", existing)
	}
}

// tableSummary is "tables rows indexes" of db's public schema, and a hash
// of its rows: a fingerprint that stays cheap over thousands of tables.
func tableSummary(t *testing.T, db string) string {
	t.Helper()
	var tables, rows, indexes int
	var sum string
	conn := testutil.SharedPostgres(t).Conn(t, db)
	err := conn.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM pg_tables WHERE schemaname = 'public'),
		(SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'),
		(SELECT coalesce(sum((xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', tablename), false, true, '')))[1]::text::int), 0)
		   FROM pg_tables WHERE schemaname = 'public'),
		(SELECT md5(string_agg(tablename, ',' ORDER BY tablename)) FROM pg_tables WHERE schemaname = 'public')`).Scan(&tables, &indexes, &rows, &sum)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d %d %d %s", tables, rows, indexes, sum)
}

// TestStagingName: a staging name starts with as much of the database's
// name as fits PostgreSQL's 63 bytes without splitting a character, says
// what it is, and differs between two restores.
func TestStagingName(t *testing.T) {
	for _, db := range []string{"shop", strings.Repeat("a", 63), strings.Repeat("é", 31) + "x", "Ünïcödé-db"} {
		a, err := runner.StagingName(db, 63) // PostgreSQL's limit
		if err != nil {
			t.Fatal(err)
		}
		b, _ := runner.StagingName(db, 63)
		if len(a) > 63 || !utf8.ValidString(a) || a == b || !strings.Contains(a, "_coffer_restoring_") {
			t.Errorf("staging names of %q: %q, %q; want at most 63 bytes of UTF-8, distinct, saying what they are", db, a, b)
		}
		prefix := a[:strings.Index(a, "_coffer_restoring_")]
		if !strings.HasPrefix(db, prefix) || (len(db) <= 63-26 && prefix != db) {
			t.Errorf("staging name of %q is %q; want it to start with as much of the name as fits", db, a)
		}
	}
}
