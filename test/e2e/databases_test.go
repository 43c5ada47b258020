package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/internal/testutil"
)

// pgDB creates a PostgreSQL database on the shared server, filled from the
// demo's sample (unicode, bytea, JSON, views, functions, triggers, sequences),
// and drops it when the test ends.
func pgDB(t *testing.T, fill bool) string {
	t.Helper()
	requireTool(t, "psql")
	if out, err := exec.Command("pg_isready", "-h", "127.0.0.1", "-p", "5432").CombinedOutput(); err != nil {
		testutil.Unavailable(t, "PostgreSQL on 127.0.0.1:5432", err)
		_ = out
	}
	name := randomName("coffer_e2e_")
	psql(t, "postgres", "CREATE DATABASE "+name)
	t.Cleanup(func() { dropPG(name) })
	if fill {
		sh(t, "psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d "+name+" -f "+testutil.RepoRoot()+"/hack/demo/sample.sql >/dev/null")
	}
	return name
}

// dropPG drops a database that a test may have created (restores create some).
func dropPG(name string) {
	exec.Command("psql", "-X", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)").Run()
}

func psql(t *testing.T, db, q string) string {
	t.Helper()
	out, err := exec.Command("psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-c", q).CombinedOutput()
	if err != nil {
		t.Fatalf("psql %s: %q: %v\n%s", db, q, err, out)
	}
	return strings.TrimSpace(string(out))
}

func pgExists(t *testing.T, name string) bool {
	return psql(t, "postgres", "SELECT count(*) FROM pg_database WHERE datname = '"+name+"'") == "1"
}

// pgFingerprint: per-table row checksums plus views, functions, sequences and triggers.
func pgFingerprint(t *testing.T, db string) string {
	t.Helper()
	return sh(t, "psql -X -At -h 127.0.0.1 -U postgres -d "+db+" -f "+testutil.RepoRoot()+"/hack/demo/fingerprint.sql")
}

// myDB creates a MariaDB database with varied content and drops it at the end.
func myDB(t *testing.T) string {
	t.Helper()
	requireTool(t, "mariadb")
	if out, err := exec.Command("mariadb", "-h", "127.0.0.1", "-P", "3306", "-uroot", "-e", "SELECT 1").CombinedOutput(); err != nil {
		testutil.Unavailable(t, "MariaDB on 127.0.0.1:3306", err)
		_ = out
	}
	name := randomName("coffer_e2e_")
	mysql(t, "", "CREATE DATABASE "+name+" CHARACTER SET utf8mb4")
	t.Cleanup(func() { dropMy(name) })
	mysql(t, name, `
CREATE TABLE people (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) CHARACTER SET utf8mb4, photo BLOB, born DATE);
INSERT INTO people (name, photo, born) VALUES ('Zoë Ångström 🎉', UNHEX('00FF7F80'), '1990-02-03'), ('李小龍', NULL, '1940-11-27');
INSERT INTO people (name, born) SELECT CONCAT('person ', seq), '2000-01-01' FROM seq_1_to_3000;
CREATE TABLE empty_one (id INT PRIMARY KEY);
CREATE VIEW adults AS SELECT id, name FROM people WHERE born < '2008-01-01';
CREATE FUNCTION greet(n VARCHAR(50)) RETURNS VARCHAR(60) DETERMINISTIC RETURN CONCAT('hello ', n);
`)
	return name
}

func dropMy(name string) {
	exec.Command("mariadb", "-h", "127.0.0.1", "-P", "3306", "-uroot", "-e", "DROP DATABASE IF EXISTS "+name).Run()
}

func mysql(t *testing.T, db, q string) string {
	t.Helper()
	args := []string{"-h", "127.0.0.1", "-P", "3306", "-uroot", "-N", "-B", "--default-character-set=utf8mb4"}
	if db != "" {
		args = append(args, db)
	}
	cmd := exec.Command("mariadb", append(args, "-e", q)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mariadb %s: %q: %v\n%s", db, q, err, out)
	}
	return strings.TrimSpace(string(out))
}

// myFingerprint: table checksums, the auto-increment position, views and routines.
func myFingerprint(t *testing.T, db string) string {
	t.Helper()
	var b strings.Builder
	for _, table := range strings.Fields(mysql(t, db, "SELECT table_name FROM information_schema.tables WHERE table_schema = '"+db+"' AND table_type = 'BASE TABLE' ORDER BY 1")) {
		sum := mysql(t, db, "CHECKSUM TABLE "+table)
		b.WriteString(strings.Fields(sum)[1] + "\n")
	}
	b.WriteString(mysql(t, db, "SELECT table_name, auto_increment FROM information_schema.tables WHERE table_schema = '"+db+"' ORDER BY 1") + "\n")
	b.WriteString(mysql(t, db, "SELECT table_name FROM information_schema.views WHERE table_schema = '"+db+"' ORDER BY 1") + "\n")
	b.WriteString(mysql(t, db, "SELECT routine_name, routine_type FROM information_schema.routines WHERE routine_schema = '"+db+"' ORDER BY 1") + "\n")
	return b.String()
}
