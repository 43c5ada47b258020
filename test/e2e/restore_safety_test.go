package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRestoreRefusesWrongDestination: a destination of a kind the target's
// engine does not take is a usage error (exit 2) before anything is read
// or touched; the production database keeps a row written after the backup.
func TestRestoreRefusesWrongDestination(t *testing.T) {
	src := pgDB(t, true)
	s := writeSetup(t, setupOpts{targets: []target{{name: "main", engine: "postgres", db: src}}})
	mustRun(t, "backup", "-f", s.path)
	psql(t, src, "INSERT INTO audit_log (entry) VALUES ('written after the backup')")
	into := filepath.Join(t.TempDir(), "x")

	cases := map[string][]string{
		"into-path on a database target": {"--target", "main", "--into-path", into, "--clean"},
		"into-path without --target":     {"--into-path", into, "--clean"},
		"both overrides":                 {"--target", "main", "--into-path", into, "--into-database", "other"},
		"unknown target":                 {"--target", "nope", "--into-database", "other"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			r := runner(t, nil, append([]string{"restore", "-f", s.path, "--backup", "latest"}, args...)...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2 (usage)\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			if strings.Contains(r.stdout, "restored") {
				t.Fatalf("claims a restore: %s", r.stdout)
			}
			if n := psql(t, src, "SELECT count(*) FROM audit_log WHERE entry = 'written after the backup'"); n != "1" {
				t.Fatalf("the target's own database was touched")
			}
			if _, err := os.Stat(into); !os.IsNotExist(err) {
				t.Fatalf("%s was created: %v", into, err)
			}
		})
	}
}

// TestLatestDoesNotFallBack: when the newest backup's manifest cannot be
// read, latest fails naming it instead of quietly using an older backup;
// the older one stays reachable by its id.
func TestLatestDoesNotFallBack(t *testing.T) {
	src := pgDB(t, true)
	s := writeSetup(t, setupOpts{targets: []target{{name: "main", engine: "postgres", db: src}}})
	older := strings.TrimSpace(mustRun(t, "backup", "-f", s.path).stdout)
	newer := strings.TrimSpace(mustRun(t, "backup", "-f", s.path).stdout)
	manifest := filepath.Join(s.storageDir, "e2e", "shop", newer, "manifest.json")
	good, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	damage := map[string][]byte{
		"truncated":  good[:len(good)/2],
		"garbled":    []byte("\x00\x01not json"),
		"newer":      []byte(strings.Replace(string(good), `"formatVersion": 1`, `"formatVersion": 99`, 1)),
		"wrong id":   []byte(strings.Replace(string(good), newer, older, 1)),
		"empty file": {},
	}
	for name, data := range damage {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(manifest, data, 0o600); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.WriteFile(manifest, good, 0o600) })
			dst := randomName("coffer_e2e_latest_")
			t.Cleanup(func() { dropPG(dst) })
			for _, args := range [][]string{
				{"verify", "-f", s.path, "--backup", "latest"},
				{"restore", "-f", s.path, "--backup", "latest", "--into-database", dst},
			} {
				r := runner(t, nil, args...)
				if r.code == 0 {
					t.Fatalf("%s passed on an older backup:\n%s", args[0], r.stdout)
				}
				if !strings.Contains(r.stderr, newer) || !strings.Contains(r.stderr, "--backup "+older) {
					t.Fatalf("%s: error does not name the unreadable backup %s and how to choose %s:\n%s", args[0], newer, older, r.stderr)
				}
			}
			if pgExists(t, dst) {
				t.Fatalf("restore of latest created %s", dst)
			}
			mustRun(t, "verify", "-f", s.path, "--backup", older)
		})
	}
}

// TestDatabasePropertiesKept: a LATIN1/C database comes back LATIN1/C, the
// manifest says so, and an existing UTF8 destination is refused unless
// --ignore-database-properties.
func TestDatabasePropertiesKept(t *testing.T) {
	src := randomName("coffer_e2e_latin1_")
	psql(t, "postgres", "CREATE DATABASE "+src+" TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'")
	t.Cleanup(func() { dropPG(src) })
	psql(t, src, "CREATE TABLE t (s text); INSERT INTO t VALUES (convert_from('\\xe974e9'::bytea, 'LATIN1'))")
	s := writeSetup(t, setupOpts{targets: []target{{name: "main", engine: "postgres", db: src}}})
	id := strings.TrimSpace(mustRun(t, "backup", "-f", s.path).stdout)
	m, err := os.ReadFile(filepath.Join(s.storageDir, "e2e", "shop", id, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(m), `"encoding": "LATIN1"`) || !strings.Contains(string(m), `"kind": "database"`) {
		t.Fatalf("manifest does not record the encoding and source:\n%s", m)
	}

	dst := randomName("coffer_e2e_latin1_copy_")
	t.Cleanup(func() { dropPG(dst) })
	mustRun(t, "restore", "-f", s.path, "--backup", "latest", "--into-database", dst)
	if enc := psql(t, dst, "SELECT pg_encoding_to_char(encoding) || '/' || datcollate FROM pg_database WHERE datname = current_database()"); enc != "LATIN1/C" {
		t.Fatalf("restored database is %s, want LATIN1/C", enc)
	}
	if got, want := psql(t, dst, "SELECT md5(s) FROM t"), psql(t, src, "SELECT md5(s) FROM t"); got != want {
		t.Fatalf("text changed: %s vs %s", got, want)
	}

	utf := randomName("coffer_e2e_utf8_")
	psql(t, "postgres", "CREATE DATABASE "+utf+" TEMPLATE template0 ENCODING 'UTF8'")
	t.Cleanup(func() { dropPG(utf) })
	r := runner(t, nil, "restore", "-f", s.path, "--backup", "latest", "--into-database", utf)
	if r.code == 0 || !strings.Contains(r.stderr, "--ignore-database-properties") || !strings.Contains(r.stderr, "LATIN1") {
		t.Fatalf("restore into a UTF8 database: exit %d\n%s", r.code, r.stderr)
	}
	if n := psql(t, utf, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"); n != "0" {
		t.Fatalf("refused restore created %s tables", n)
	}
	mustRun(t, "restore", "-f", s.path, "--backup", "latest", "--into-database", utf, "--ignore-database-properties")
	q := "SELECT encode(convert_to(s, 'UTF8'), 'hex') FROM t"
	if got, want := psql(t, utf, q), psql(t, src, q); got != want {
		t.Fatalf("text changed in the UTF8 copy: %s vs %s", got, want)
	}
}
