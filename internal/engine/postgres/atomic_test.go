package postgres_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/postgres"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// threeTables are dumped in name order and, with --clean, dropped in the
// reverse order: z_last and m_mid go before a_first.
const threeTables = `
CREATE TABLE a_first (id int PRIMARY KEY, v text);
CREATE TABLE m_mid (id int PRIMARY KEY, a int REFERENCES a_first (id));
CREATE TABLE z_last (id int PRIMARY KEY, v text);
INSERT INTO a_first SELECT i, 'a' || i FROM generate_series(1, 100) i;
INSERT INTO m_mid SELECT i, i FROM generate_series(1, 100) i;
INSERT INTO z_last SELECT i, repeat('z', i) FROM generate_series(1, 100) i;
`

func backupOf(t *testing.T, target engine.Target) ([]byte, engine.Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var buf bytes.Buffer
	res, err := postgres.New().Backup(ctx, target, &buf)
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	return buf.Bytes(), res
}

func restoreFrom(target engine.Target, dump []byte, opts engine.RestoreOptions) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return postgres.New().Restore(ctx, target, bytes.NewReader(dump), opts)
}

func mustContain(t *testing.T, err error, words ...string) {
	t.Helper()
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not mention %q: %v", w, err)
		}
	}
}

func databaseExists(t *testing.T, s testutil.PGServer, db string) bool {
	t.Helper()
	var n int
	err := s.Conn(t, "postgres").QueryRow(context.Background(),
		"SELECT count(*) FROM pg_database WHERE datname = $1", db).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// TestCleanRestoreFailureLeavesDestinationUnchanged: a view that only the
// destination has depends on a table of the dump, so --clean cannot drop
// that table. Before the failing DROP, pg_restore has dropped the tables
// that sort after it: one transaction must bring them back, rows and all.
func TestCleanRestoreFailureLeavesDestinationUnchanged(t *testing.T) {
	s := testutil.SharedPostgres(t)
	src := s.CreateDB(t)
	s.Exec(t, src, threeTables)
	target := pgTarget(s, "pg-atomic", src, "")
	dump, _ := backupOf(t, target)

	dst := s.CreateDB(t)
	if err := restoreFrom(target, dump, engine.RestoreOptions{IntoDatabase: dst}); err != nil {
		t.Fatalf("first restore: %v", err)
	}
	s.Exec(t, dst, `CREATE VIEW keep_me AS SELECT id FROM a_first;
		UPDATE z_last SET v = 'changed' WHERE id < 10; DELETE FROM m_mid WHERE id > 90`)
	before := s.Fingerprint(t, dst)

	err := restoreFrom(target, dump, engine.RestoreOptions{IntoDatabase: dst, Clean: true})
	if err == nil {
		t.Fatal("Restore with Clean succeeded although a view depends on a table it drops")
	}
	mustContain(t, err, "keep_me", "a_first", dst)
	if after := s.Fingerprint(t, dst); after != before {
		t.Fatalf("the failed restore changed the destination:\n--- before\n%s\n--- after\n%s", before, after)
	}
	t.Logf("error reads: %v", err)
}

// TestFailedRestoreDropsTheDatabaseItCreated: whatever makes the restore
// into a new database fail, the database is gone afterwards, and the error
// says why and carries no password.
func TestFailedRestoreDropsTheDatabaseItCreated(t *testing.T) {
	s := testutil.PrivatePostgres(t)
	src := s.CreateDB(t)
	s.Exec(t, src, threeTables)
	role := testutil.UniqueName()
	s.Exec(t, src, "CREATE ROLE "+role+"; ALTER TABLE z_last OWNER TO "+role)
	target := pgTarget(s, "pg-created", src, s.Password)
	withRole, _ := backupOf(t, target)
	s.Exec(t, src, "ALTER TABLE z_last OWNER TO CURRENT_USER; DROP ROLE "+role)
	plain, _ := backupOf(t, target)

	tests := map[string]struct {
		dump []byte
		want string
	}{
		"owner role missing": {withRole, role},
		"stream cut short":   {plain[:len(plain)*2/3], "pg_restore"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			into := testutil.UniqueName()
			s.DropOnCleanup(t, into)
			err := restoreFrom(target, tc.dump, engine.RestoreOptions{IntoDatabase: into})
			if err == nil {
				t.Fatal("Restore succeeded")
			}
			mustContain(t, err, tc.want, into, "dropped again")
			if strings.Contains(err.Error(), s.Password) {
				t.Errorf("error contains the password: %v", err)
			}
			if databaseExists(t, s, into) {
				t.Errorf("database %s, created by the failed restore, still exists", into)
			}
			t.Logf("error reads: %v", err)
		})
	}
}

// TestFailedRestoreIntoEmptyDatabaseLeavesItEmpty: an existing, empty
// destination is not dropped, and keeps nothing of the failed restore.
func TestFailedRestoreIntoEmptyDatabaseLeavesItEmpty(t *testing.T) {
	s := testutil.SharedPostgres(t)
	src := s.CreateDB(t)
	s.Exec(t, src, threeTables)
	target := pgTarget(s, "pg-empty", src, "")
	dump, _ := backupOf(t, target)
	dst := s.CreateDB(t)
	before := s.Fingerprint(t, dst)

	err := restoreFrom(target, dump[:len(dump)*2/3], engine.RestoreOptions{IntoDatabase: dst})
	if err == nil {
		t.Fatal("Restore of a cut dump succeeded")
	}
	if !databaseExists(t, s, dst) {
		t.Fatalf("the failed restore dropped %s, which it had not created", dst)
	}
	if after := s.Fingerprint(t, dst); after != before {
		t.Fatalf("the failed restore left objects behind:\n%s", after)
	}
}

// quoteIdent is for the tests' own statements.
func quoteIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

// TestDatabaseExistsWithoutMaintenanceAccess: a user who may connect only
// to their own database still gets a true answer for it and a false one for
// a missing one, by connecting to it instead of reading the catalog.
func TestDatabaseExistsWithoutMaintenanceAccess(t *testing.T) {
	s := testutil.PrivatePostgres(t)
	own := s.CreateDB(t)
	s.Exec(t, "postgres", `REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;
CREATE ROLE limited LOGIN PASSWORD 'limited-pw';
GRANT CONNECT ON DATABASE `+own+` TO limited`)
	limited := s
	limited.User = "limited"
	target := pgTarget(limited, "pg-limited", own, "limited-pw")
	ctx := context.Background()
	e := postgres.New()
	if exists, err := e.DatabaseExists(ctx, target, own); err != nil || !exists {
		t.Errorf("DatabaseExists(own) = %v, %v; want true", exists, err)
	}
	if exists, err := e.DatabaseExists(ctx, target, own+"_missing"); err != nil || exists {
		t.Errorf("DatabaseExists(missing) = %v, %v; want false", exists, err)
	}
	// The superuser reads the catalog, the same answers.
	super := pgTarget(s, "pg-super", own, s.Password)
	if exists, err := e.DatabaseExists(ctx, super, own); err != nil || !exists {
		t.Errorf("superuser: DatabaseExists(own) = %v, %v; want true", exists, err)
	}
	if exists, err := e.DatabaseExists(ctx, super, own+"_missing"); err != nil || exists {
		t.Errorf("superuser: DatabaseExists(missing) = %v, %v; want false", exists, err)
	}
}
