package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// properties reads db's properties as the catalog has them.
func properties(t *testing.T, s testutil.PGServer, db string) manifest.DatabaseProperties {
	t.Helper()
	var p manifest.DatabaseProperties
	var provider string
	err := s.Conn(t, "postgres").QueryRow(context.Background(), `SELECT pg_encoding_to_char(encoding),
		datcollate, datctype, datlocprovider::text, coalesce(daticulocale, '') FROM pg_database WHERE datname = $1`,
		db).Scan(&p.Encoding, &p.Collation, &p.Ctype, &provider, &p.ICULocale)
	if err != nil {
		t.Fatalf("properties of %s: %v", db, err)
	}
	p.LocaleProvider = map[string]string{"c": "libc", "i": "icu"}[provider]
	return p
}

// createWith creates a database with the given CREATE DATABASE options.
func createWith(t *testing.T, s testutil.PGServer, options string) string {
	t.Helper()
	db := testutil.UniqueName()
	s.Exec(t, "postgres", "CREATE DATABASE "+quoteIdent(db)+" TEMPLATE template0 "+options)
	s.DropOnCleanup(t, db)
	return db
}

// TestPropertiesRoundTrip: a database restored into a new one gets the
// source's encoding and locale, and text that only means something in that
// encoding comes back byte for byte. Into the server's default (UTF8) the
// SQL_ASCII bytes would not even load.
func TestPropertiesRoundTrip(t *testing.T) {
	s := testutil.SharedPostgres(t)
	tests := map[string]struct {
		options, text string
		want          manifest.DatabaseProperties
	}{
		"sql_ascii": {
			options: "ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C'",
			text:    `E'caf\xe9 \xff\x80 \xc3('`,
			want:    manifest.DatabaseProperties{Encoding: "SQL_ASCII", Collation: "C", Ctype: "C", LocaleProvider: "libc"},
		},
		"latin1": {
			options: "ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'",
			text:    `E'caf\xe9 gr\xfc\xdfe'`,
			want:    manifest.DatabaseProperties{Encoding: "LATIN1", Collation: "C", Ctype: "C", LocaleProvider: "libc"},
		},
		"icu": {
			options: "ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'de-DE' LC_COLLATE 'C' LC_CTYPE 'C'",
			text:    `'Grüße, Öl, Zürich'`,
			want: manifest.DatabaseProperties{Encoding: "UTF8", Collation: "C", Ctype: "C",
				LocaleProvider: "icu", ICULocale: "de-DE"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			src := createWith(t, s, tc.options)
			s.Exec(t, src, "CREATE TABLE words (id int PRIMARY KEY, w text); INSERT INTO words VALUES (1, "+tc.text+")")
			target := pgTarget(s, "pg-props", src, "")
			dump, res := backupOf(t, target)
			if res.Database == nil || *res.Database != tc.want {
				t.Fatalf("Result.Database = %+v, want %+v", res.Database, tc.want)
			}

			into := testutil.UniqueName()
			s.DropOnCleanup(t, into)
			if err := restoreFrom(target, dump, engine.RestoreOptions{IntoDatabase: into, Database: res.Database}); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if got := properties(t, s, into); got != tc.want {
				t.Errorf("restored database has %+v, want %+v", got, tc.want)
			}
			if got, want := s.Fingerprint(t, into), s.Fingerprint(t, src); got != want {
				t.Errorf("restored data differs:\n%s\n---\n%s", got, want)
			}
		})
	}
}

// TestPropertiesDifferRefused: an existing destination with another
// encoding and collation is refused before anything is touched, naming
// what differs; IgnoreDatabaseProperties restores anyway (here LATIN1 text
// is converted into the UTF8 destination).
func TestPropertiesDifferRefused(t *testing.T) {
	s := testutil.SharedPostgres(t)
	src := createWith(t, s, "ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'")
	s.Exec(t, src, `CREATE TABLE words (id int PRIMARY KEY, w text); INSERT INTO words VALUES (1, E'caf\xe9')`)
	target := pgTarget(s, "pg-props", src, "")
	dump, res := backupOf(t, target)
	dst := createWith(t, s, "ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
	before := s.Fingerprint(t, dst)

	opts := engine.RestoreOptions{IntoDatabase: dst, Database: res.Database}
	err := restoreFrom(target, dump, opts)
	if !errors.Is(err, engine.ErrPropertiesDiffer) {
		t.Fatalf("error = %v, want ErrPropertiesDiffer", err)
	}
	mustContain(t, err, dst, "encoding", `"UTF8"`, `"LATIN1"`, "LC_COLLATE", `"C.UTF-8"`, `"C"`,
		"--ignore-database-properties")
	if after := s.Fingerprint(t, dst); after != before {
		t.Fatalf("the refused restore changed the destination:\n%s", after)
	}
	t.Logf("error reads: %v", err)

	opts.IgnoreDatabaseProperties = true
	if err := restoreFrom(target, dump, opts); err != nil {
		t.Fatalf("Restore with IgnoreDatabaseProperties: %v", err)
	}
	var w string
	if err := s.Conn(t, dst).QueryRow(context.Background(), "SELECT w FROM words").Scan(&w); err != nil || w != "café" {
		t.Errorf("restored text = %q, %v; want café", w, err)
	}
}

// TestWithoutRecordedPropertiesNoCheck: a backup made before properties
// were recorded (Database nil) restores with the server's defaults and
// into any existing database, as before.
func TestWithoutRecordedPropertiesNoCheck(t *testing.T) {
	s := testutil.SharedPostgres(t)
	src := createWith(t, s, "ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'")
	s.Exec(t, src, `CREATE TABLE words (id int PRIMARY KEY, w text); INSERT INTO words VALUES (1, E'caf\xe9')`)
	target := pgTarget(s, "pg-old", src, "")
	dump, _ := backupOf(t, target)
	into := testutil.UniqueName()
	s.DropOnCleanup(t, into)
	if err := restoreFrom(target, dump, engine.RestoreOptions{IntoDatabase: into}); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got, def := properties(t, s, into), properties(t, s, "template0"); got.Encoding != def.Encoding {
		t.Errorf("restored database has encoding %s, want the server's default %s", got.Encoding, def.Encoding)
	}
}
