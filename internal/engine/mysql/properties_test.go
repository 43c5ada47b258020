package mysql_test

import (
	"errors"
	"testing"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// schema reads db's default character set and collation.
func schema(t *testing.T, s testutil.MySQLServer, db string) manifest.DatabaseProperties {
	t.Helper()
	var p manifest.DatabaseProperties
	err := s.Open(t, "").QueryRow(`SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME
		FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?`, db).Scan(&p.Charset, &p.Collation)
	if err != nil {
		t.Fatalf("properties of %s: %v", db, err)
	}
	return p
}

// createWith creates a database with the given character set and collation.
func createWith(t *testing.T, s testutil.MySQLServer, charset, collation string) string {
	t.Helper()
	db := testutil.UniqueName()
	s.Exec(t, "", "CREATE DATABASE `"+db+"` CHARACTER SET "+charset+" COLLATE "+collation)
	s.DropOnCleanup(t, db)
	return db
}

// TestPropertiesRoundTrip: a database restored into a new one gets the
// source's character set and collation, not the server's default
// (utf8mb4_general_ci here), and so do the tables created in it later.
func TestPropertiesRoundTrip(t *testing.T) {
	s := testutil.SharedMySQL(t)
	for name, want := range map[string]manifest.DatabaseProperties{
		"utf8mb4_unicode_ci": {Charset: "utf8mb4", Collation: "utf8mb4_unicode_ci"},
		"latin1_german1_ci":  {Charset: "latin1", Collation: "latin1_german1_ci"},
	} {
		t.Run(name, func(t *testing.T) {
			src := createWith(t, s, want.Charset, want.Collation)
			s.Exec(t, src, "CREATE TABLE words (id INT PRIMARY KEY, w VARCHAR(20)); INSERT INTO words VALUES (1, 'Grüße')")
			target := myTarget(s, "my-props", src, "")
			dump, res := backupOf(t, target)
			if res.Database == nil || *res.Database != want {
				t.Fatalf("Result.Database = %+v, want %+v", res.Database, want)
			}
			into := testutil.UniqueName()
			s.DropOnCleanup(t, into)
			if err := restoreFrom(target, dump, engine.RestoreOptions{IntoDatabase: into, Database: res.Database}); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if got := schema(t, s, into); got != want {
				t.Errorf("restored database has %+v, want %+v", got, want)
			}
			if got, want := s.Fingerprint(t, into), s.Fingerprint(t, src); got != want {
				t.Errorf("restored data differs:\n%s\n---\n%s", got, want)
			}
		})
	}
}

// TestPropertiesDifferRefused: an existing destination with another
// collation is refused before anything is touched, naming what differs,
// even with Clean; IgnoreDatabaseProperties restores anyway.
func TestPropertiesDifferRefused(t *testing.T) {
	s := testutil.SharedMySQL(t)
	src := createWith(t, s, "utf8mb4", "utf8mb4_unicode_ci")
	s.Exec(t, src, "CREATE TABLE words (id INT PRIMARY KEY, w VARCHAR(20)); INSERT INTO words VALUES (1, 'Grüße')")
	target := myTarget(s, "my-props", src, "")
	dump, res := backupOf(t, target)
	dst := createWith(t, s, "utf8mb4", "utf8mb4_general_ci")
	s.Exec(t, dst, "CREATE TABLE keep (id INT); INSERT INTO keep VALUES (7)")
	before := s.Fingerprint(t, dst)

	opts := engine.RestoreOptions{IntoDatabase: dst, Database: res.Database, Clean: true}
	err := restoreFrom(target, dump, opts)
	if !errors.Is(err, engine.ErrPropertiesDiffer) {
		t.Fatalf("error = %v, want ErrPropertiesDiffer", err)
	}
	mustContain(t, err, dst, "collation", `"utf8mb4_general_ci"`, `"utf8mb4_unicode_ci"`, "--ignore-database-properties")
	if after := s.Fingerprint(t, dst); after != before {
		t.Fatalf("the refused restore changed the destination:\n%s", after)
	}
	t.Logf("error reads: %v", err)

	opts.IgnoreDatabaseProperties = true
	if err := restoreFrom(target, dump, opts); err != nil {
		t.Fatalf("Restore with IgnoreDatabaseProperties: %v", err)
	}
	var w string
	if err := s.Open(t, dst).QueryRow("SELECT w FROM words").Scan(&w); err != nil || w != "Grüße" {
		t.Errorf("restored text = %q, %v", w, err)
	}
	if got := schema(t, s, dst); got.Collation != "utf8mb4_general_ci" {
		t.Errorf("the restore changed the destination's collation to %s", got.Collation)
	}
}
