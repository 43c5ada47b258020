package mysql_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/enginetest"
	"github.com/coffer-dev/coffer/internal/engine/mysql"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// fixtureSQL creates what the conformance suite asks for; fill adds the
// rows. Tables are dumped in name order: a_large first, several after it.
const fixtureSQL = `
CREATE TABLE a_large (id INT PRIMARY KEY, payload LONGBLOB NOT NULL) ENGINE=InnoDB;
CREATE TABLE bytes (id INT PRIMARY KEY, b VARBINARY(300), bl BLOB) ENGINE=InnoDB;
CREATE TABLE empty_t (id INT, note VARCHAR(20)) ENGINE=InnoDB;
CREATE TABLE texts (
  id INT AUTO_INCREMENT PRIMARY KEY, body TEXT, note VARCHAR(100),
  created DATETIME(6) DEFAULT '2026-01-02 03:04:05.123456', amount DECIMAL(12,4),
  ratio DOUBLE, feeling ENUM('sad', 'ok', 'happy'), KEY texts_feeling (feeling)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='texts of all kinds';
CREATE TRIGGER texts_note BEFORE INSERT ON texts FOR EACH ROW SET NEW.note = COALESCE(NEW.note, 'trigger');
CREATE TABLE z_tail (
  id INT PRIMARY KEY, text_id INT, v VARCHAR(200),
  CONSTRAINT z_tail_text FOREIGN KEY (text_id) REFERENCES texts (id),
  CONSTRAINT v_ok CHECK (v <> 'forbidden')
) ENGINE=InnoDB;
CREATE VIEW v_texts AS SELECT id, UPPER(body) AS loud FROM texts WHERE body IS NOT NULL;
CREATE FUNCTION add_one(x INT) RETURNS INT DETERMINISTIC RETURN x + 1;
CREATE PROCEDURE count_texts(OUT n INT) READS SQL DATA SELECT COUNT(*) INTO n FROM texts;
CREATE SEQUENCE counter START WITH 1;
CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE DO DELETE FROM empty_t;
`

const mutateSQL = `
UPDATE texts SET body = 'mutated' WHERE id = 1;
DELETE FROM z_tail WHERE id > 50;
DO SETVAL(counter, 1000);
ALTER TABLE texts AUTO_INCREMENT = 5000;
`

// fill inserts the fixture's rows as s's user.
func fill(t *testing.T, s testutil.MySQLServer, db string) {
	s.Exec(t, db, fixtureSQL)
	large := make([]byte, 4<<20)
	rng := mrand.NewChaCha8([32]byte{1})
	_, _ = rng.Read(large)
	s.Exec(t, db, "INSERT INTO a_large VALUES (1, ?)", large)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	s.Exec(t, db, "INSERT INTO bytes VALUES (1, ?, ?), (2, ?, ?), (3, NULL, NULL)", all, all, []byte{0}, []byte{})
	s.Exec(t, db, `INSERT INTO texts (body, note, amount, ratio, feeling) VALUES
		(?, NULL, 12.3456, 0.1, 'happy'), (?, 'explicit', -1, -2.5e-10, 'sad'), ('', NULL, 0, 0, 'ok'),
		(NULL, NULL, NULL, NULL, NULL)`,
		"Grüße aus Köln — 世界 🎉 עברית", "quote ' double \" backslash \\ tab \t newline \n cr \r nul \x00 end")
	s.Exec(t, db, `ALTER TABLE texts AUTO_INCREMENT = 1000;
		INSERT INTO z_tail SELECT seq, IF(seq % 10 = 0, 1, NULL), IF(seq % 2 = 0, REPEAT('z', seq), NULL) FROM seq_1_to_100;
		DO SETVAL(counter, 42);`)
}

// harness runs the suite on the shared server: as root, and as a user with
// a password for the password cases.
type harness struct {
	root testutil.MySQLServer
}

func newHarness(t *testing.T) *harness { return &harness{root: testutil.SharedMySQL(t)} }

func (h *harness) Engine() engine.Engine     { return mysql.New() }
func (h *harness) Traits() enginetest.Traits { return enginetest.Traits{} }
func (h *harness) Tools() []string           { return []string{"mariadb-dump", "mysqldump", "mariadb", "mysql"} }

func myTarget(s testutil.MySQLServer, name, db, password string) engine.Target {
	t := engine.Target{
		Spec: v1alpha1.Target{Name: name, MySQL: &v1alpha1.MySQLTarget{
			Host: s.Host, Port: s.Port, Database: db, User: s.User,
		}},
		Namespace: "enginetest",
	}
	if password != "" {
		t.Spec.MySQL.PasswordSecretRef = &v1alpha1.SecretKeySelector{Name: "db", Key: "password"}
		t.Secrets = engine.Secrets{"db": {"password": []byte(password)}}
	}
	return t
}

func (h *harness) NewTarget(t *testing.T) engine.Target {
	db := h.root.CreateDB(t)
	fill(t, h.root, db)
	return myTarget(h.root, "my-main", db, "")
}

// PasswordTarget's objects are created by its user, so their DEFINER is
// that user and the user can restore them.
func (h *harness) PasswordTarget(t *testing.T) engine.Target {
	db := h.root.CreateDB(t)
	u := h.root.CreateUser(t, db, "")
	fill(t, u, db)
	return myTarget(u, "my-secret", db, u.Password)
}

func (h *harness) BadCredentials(t *testing.T) engine.Target {
	db := h.root.CreateDB(t)
	u := h.root.CreateUser(t, db, "")
	return myTarget(u, "my-badpass", db, testutil.HostilePassword())
}

func (h *harness) Unreachable(t *testing.T) engine.Target {
	s := testutil.MySQLServer{Host: "127.0.0.1", Port: testutil.ClosedPort(t), User: "root"}
	return myTarget(s, "my-nowhere", "nowhere", "")
}

// NewDatabase names the database after the target's, which the target's
// user has privileges on (CreateUser grants on the prefix).
func (h *harness) NewDestination(t *testing.T, target engine.Target, create bool) engine.RestoreOptions {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := target.Spec.MySQL.Database + "_r" + hex.EncodeToString(b)
	if target.Spec.MySQL.Port != h.root.Port {
		return engine.RestoreOptions{IntoDatabase: name}
	}
	if create {
		h.root.Exec(t, "", "CREATE DATABASE `"+name+"`")
	}
	h.root.DropOnCleanup(t, name)
	return engine.RestoreOptions{IntoDatabase: name}
}

func (h *harness) Fingerprint(t *testing.T, target engine.Target, dest engine.RestoreOptions) string {
	db := dest.IntoDatabase
	if db == "" {
		db = target.Spec.MySQL.Database
	}
	return h.root.Fingerprint(t, db)
}

func (h *harness) Mutate(t *testing.T, target engine.Target, dest engine.RestoreOptions) {
	h.root.Exec(t, dest.IntoDatabase, mutateSQL)
}

// BreakMidStream kills the server connections using the target's database.
func (h *harness) BreakMidStream(ctx context.Context, target engine.Target) error {
	pool, err := h.root.Connect("")
	if err != nil {
		return err
	}
	defer pool.Close()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		rows, err := pool.QueryContext(ctx, `SELECT ID FROM information_schema.PROCESSLIST
			WHERE DB = ? AND ID <> CONNECTION_ID()`, target.Spec.MySQL.Database)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		for _, id := range ids {
			_, _ = pool.ExecContext(ctx, fmt.Sprintf("KILL %d", id))
		}
		if len(ids) > 0 {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no connection to %s appeared", target.Spec.MySQL.Database)
}
