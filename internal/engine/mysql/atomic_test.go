package mysql_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/mysql"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// threeTables are dumped in name order, the view last.
const threeTables = `
CREATE TABLE a_first (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB;
CREATE TABLE m_mid (id INT PRIMARY KEY, a INT, FOREIGN KEY (a) REFERENCES a_first (id)) ENGINE=InnoDB;
CREATE TABLE z_last (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB;
INSERT INTO a_first SELECT seq, CONCAT('a', seq) FROM seq_1_to_100;
INSERT INTO m_mid SELECT seq, seq FROM seq_1_to_100;
INSERT INTO z_last SELECT seq, REPEAT('z', seq) FROM seq_1_to_100;
CREATE VIEW v_first AS SELECT id FROM a_first;
`

// failingStatement makes the client stop where it is inserted.
const failingStatement = "SELECT coffer_no_such_function();\n"

func backupOf(t *testing.T, target engine.Target) ([]byte, engine.Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var buf bytes.Buffer
	res, err := mysql.New().Backup(ctx, target, &buf)
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	return buf.Bytes(), res
}

func restoreFrom(target engine.Target, dump []byte, opts engine.RestoreOptions) error {
	return restoreStream(target, bytes.NewReader(dump), opts)
}

func restoreStream(target engine.Target, r io.Reader, opts engine.RestoreOptions) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return mysql.New().Restore(ctx, target, r, opts)
}

var errCut = errors.New("test: the stream broke")

// failures are dumps that fail to restore part-way, by their cause and
// what the error must mention.
func failures(t *testing.T, dump []byte) map[string]struct {
	stream func() io.Reader
	want   string
} {
	broken := breakBefore(t, dump, "DROP TABLE IF EXISTS `m_mid`")
	return map[string]struct {
		stream func() io.Reader
		want   string
	}{
		"statement fails": {func() io.Reader { return bytes.NewReader(broken) }, "coffer_no_such_function"},
		"stream breaks": {func() io.Reader {
			return io.MultiReader(bytes.NewReader(dump[:len(dump)*2/3]), iotest.ErrReader(errCut))
		}, errCut.Error()},
	}
}

// breakBefore inserts failingStatement before the first occurrence of
// marker, so the dump fails after everything before it was restored.
func breakBefore(t *testing.T, dump []byte, marker string) []byte {
	t.Helper()
	i := bytes.Index(dump, []byte(marker))
	if i < 0 {
		t.Fatalf("the dump has no %q", marker)
	}
	return append(append(append([]byte{}, dump[:i]...), failingStatement...), dump[i:]...)
}

// sibling is a fresh database name that starts with db's, so the users
// CreateUser made for db may create it; it is dropped when the test ends.
func sibling(t *testing.T, s testutil.MySQLServer, db string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := db + "_r" + hex.EncodeToString(b)
	s.DropOnCleanup(t, name)
	return name
}

func mustContain(t *testing.T, err error, words ...string) {
	t.Helper()
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not mention %q: %v", w, err)
		}
	}
}

// databasesLike lists the databases whose names start with prefix.
func databasesLike(t *testing.T, s testutil.MySQLServer, prefix string) []string {
	t.Helper()
	rows, err := s.Open(t, "").Query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE LEFT(SCHEMA_NAME, ?) = ?",
		len(prefix), prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

// TestFailedRestoreDropsTheDatabaseItCreated: whatever makes a restore
// into a new database fail, the database is gone afterwards, and the error
// says why and carries no password.
func TestFailedRestoreDropsTheDatabaseItCreated(t *testing.T) {
	root := testutil.SharedMySQL(t)
	src := root.CreateDB(t)
	u := root.CreateUser(t, src, "")
	u.Exec(t, src, threeTables)
	target := myTarget(u, "my-created", src, u.Password)
	dump, _ := backupOf(t, target)

	for name, tc := range failures(t, dump) {
		t.Run(name, func(t *testing.T) {
			into := sibling(t, root, src)
			err := restoreStream(target, tc.stream(), engine.RestoreOptions{IntoDatabase: into})
			if err == nil {
				t.Fatal("Restore succeeded")
			}
			mustContain(t, err, tc.want, into, "dropped again")
			if strings.Contains(err.Error(), u.Password) {
				t.Errorf("error contains the password: %v", err)
			}
			if left := databasesLike(t, root, into); len(left) > 0 {
				t.Errorf("databases left by the failed restore: %v", left)
			}
			t.Logf("error reads: %v", err)
		})
	}
}

// TestFailedRestoreIntoEmptyDatabaseEmptiesIt: an existing, empty
// destination is not dropped, and keeps nothing of the failed restore.
func TestFailedRestoreIntoEmptyDatabaseEmptiesIt(t *testing.T) {
	s := testutil.SharedMySQL(t)
	src := s.CreateDB(t)
	s.Exec(t, src, threeTables+`CREATE SEQUENCE counter;
		CREATE FUNCTION add_one(x INT) RETURNS INT DETERMINISTIC RETURN x + 1;
		CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM z_last;`)
	target := myTarget(s, "my-empty", src, "")
	dump, _ := backupOf(t, target)
	dst := s.CreateDB(t)

	err := restoreFrom(target, breakBefore(t, dump, "-- Final view structure"), engine.RestoreOptions{IntoDatabase: dst})
	if err == nil {
		t.Fatal("Restore succeeded")
	}
	mustContain(t, err, "emptied again")
	if got := s.Fingerprint(t, dst); got != "" {
		t.Fatalf("the failed restore left objects behind:\n%s", got)
	}
}

// TestCleanRestoreFailureLeavesDestinationUnchanged: a dump that fails
// part-way is rehearsed in a scratch database and never reaches the
// destination, which keeps its objects and rows; the scratch database is
// dropped again.
func TestCleanRestoreFailureLeavesDestinationUnchanged(t *testing.T) {
	s := testutil.SharedMySQL(t)
	src := s.CreateDB(t)
	s.Exec(t, src, threeTables)
	target := myTarget(s, "my-atomic", src, "")
	dump, _ := backupOf(t, target)
	dst := s.CreateDB(t)
	if err := restoreFrom(target, dump, engine.RestoreOptions{IntoDatabase: dst}); err != nil {
		t.Fatalf("first restore: %v", err)
	}
	s.Exec(t, dst, `UPDATE z_last SET v = 'changed' WHERE id < 10; DELETE FROM m_mid WHERE id > 90;
		CREATE TABLE only_here (id INT); INSERT INTO only_here VALUES (1)`)
	before := s.Fingerprint(t, dst)

	for name, tc := range failures(t, dump) {
		t.Run(name, func(t *testing.T) {
			err := restoreStream(target, tc.stream(), engine.RestoreOptions{IntoDatabase: dst, Clean: true})
			if err == nil {
				t.Fatal("Restore succeeded")
			}
			mustContain(t, err, tc.want, "scratch database", "was not touched", "dropped")
			if after := s.Fingerprint(t, dst); after != before {
				t.Fatalf("the failed restore changed the destination:\n--- before\n%s\n--- after\n%s", before, after)
			}
			if left := databasesLike(t, s, dst+"_coffer_"); len(left) > 0 {
				t.Errorf("scratch databases left: %v", left)
			}
			t.Logf("error reads: %v", err)
		})
	}
}

// TestCleanReplayFailureKeepsTheRehearsal: what only the destination has
// can still fail the second pass (here a view where the dump has a table).
// The error says the destination is partly restored and names the scratch
// database, which is kept and holds the complete restore.
func TestCleanReplayFailureKeepsTheRehearsal(t *testing.T) {
	s := testutil.SharedMySQL(t)
	src := s.CreateDB(t)
	s.Exec(t, src, threeTables)
	target := myTarget(s, "my-replay", src, "")
	dump, _ := backupOf(t, target)
	dst := s.CreateDB(t)
	if err := restoreFrom(target, dump, engine.RestoreOptions{IntoDatabase: dst}); err != nil {
		t.Fatalf("first restore: %v", err)
	}
	s.Exec(t, dst, "DROP TABLE z_last; CREATE VIEW z_last AS SELECT 1 AS id")
	t.Cleanup(func() {
		for _, db := range databasesLike(t, s, dst+"_coffer_") {
			s.Exec(t, "", "DROP DATABASE `"+db+"`")
		}
	})

	err := restoreFrom(target, dump, engine.RestoreOptions{IntoDatabase: dst, Clean: true})
	if err == nil {
		t.Fatal("Restore succeeded over a view named like one of the dump's tables")
	}
	kept := databasesLike(t, s, dst+"_coffer_")
	if len(kept) != 1 {
		t.Fatalf("scratch databases after the failed replay: %v, want one", kept)
	}
	mustContain(t, err, "partly restored", kept[0], "kept", "z_last")
	if got, want := s.Fingerprint(t, kept[0]), s.Fingerprint(t, src); got != want {
		t.Errorf("the kept scratch database differs from the source:\n%s\n---\n%s", got, want)
	}
	t.Logf("error reads: %v", err)
}
