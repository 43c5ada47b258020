package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/manifest"
)

// Server versions (server_version_num) that changed what pg_database holds.
const (
	// v15 added the locale provider (datlocprovider, daticulocale) and
	// CREATE DATABASE ... LOCALE_PROVIDER.
	v15 = 150000
	// v17 renamed daticulocale to datlocale, which also holds the locale of
	// the new builtin provider.
	v17 = 170000
)

// providers maps datlocprovider to the names CREATE DATABASE takes.
var providers = map[string]string{"c": "libc", "i": "icu", "b": "builtin"}

// versionNum is the server's server_version_num (150004 for 15.4).
func versionNum(ctx context.Context, pc *pgx.Conn) (int, error) {
	var n int
	if err := pc.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&n); err != nil {
		return 0, fmt.Errorf("asking for the server version: %w", err)
	}
	return n, nil
}

// databaseProperties reads what a dump does not carry but its text depends
// on: db's encoding, its libc locale, and its locale provider with that
// provider's locale. ICULocale holds the builtin provider's locale too
// (PostgreSQL 17 keeps both in one column). Before 15 every database uses
// libc.
func databaseProperties(ctx context.Context, pc *pgx.Conn, db string) (*manifest.DatabaseProperties, error) {
	num, err := versionNum(ctx, pc)
	if err != nil {
		return nil, err
	}
	provider, locale := "'c'", "NULL"
	switch {
	case num >= v17:
		provider, locale = "datlocprovider", "datlocale"
	case num >= v15:
		provider, locale = "datlocprovider", "daticulocale"
	}
	q := `SELECT pg_encoding_to_char(encoding), datcollate::text, datctype::text, ` + provider + `::text, ` +
		`coalesce(` + locale + `::text, '') FROM pg_database WHERE datname = $1`
	var p manifest.DatabaseProperties
	var code string
	if err := pc.QueryRow(ctx, q, db).Scan(&p.Encoding, &p.Collation, &p.Ctype, &code, &p.ICULocale); err != nil {
		return nil, fmt.Errorf("reading the properties of database %q: %w", db, err)
	}
	p.LocaleProvider = providers[code]
	if p.LocaleProvider == "" {
		p.LocaleProvider = code
	}
	return &p, nil
}

// createOptions are the options of CREATE DATABASE that give a database the
// properties p, for a server of version num.
func createOptions(p *manifest.DatabaseProperties, num int) (string, error) {
	if p == nil {
		return "", nil
	}
	var b strings.Builder
	for _, o := range []struct{ name, value string }{
		{"ENCODING", p.Encoding}, {"LC_COLLATE", p.Collation}, {"LC_CTYPE", p.Ctype},
	} {
		if o.value != "" {
			b.WriteString(" " + o.name + " " + quoteLiteral(o.value))
		}
	}
	switch {
	case p.LocaleProvider == "" || p.LocaleProvider == "libc" && num < v15:
		return b.String(), nil
	case num < v15:
		return "", fmt.Errorf("the backup's source database uses the %s locale provider, which needs PostgreSQL 15 or later", p.LocaleProvider)
	}
	b.WriteString(" LOCALE_PROVIDER " + quoteLiteral(p.LocaleProvider))
	switch {
	case p.ICULocale == "":
	case p.LocaleProvider == "icu":
		b.WriteString(" ICU_LOCALE " + quoteLiteral(p.ICULocale))
	case p.LocaleProvider == "builtin":
		b.WriteString(" BUILTIN_LOCALE " + quoteLiteral(p.ICULocale))
	}
	return b.String(), nil
}

// quoteLiteral quotes s as an escape string constant, which means the same
// whatever standard_conforming_strings is set to.
func quoteLiteral(s string) string {
	return "E'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

// checkProperties refuses a destination whose properties differ from the
// source's, naming each that differs with both values.
func checkProperties(db string, want, got *manifest.DatabaseProperties) error {
	var diffs []string
	for _, f := range []struct{ name, want, got string }{
		{"encoding", want.Encoding, got.Encoding},
		{"LC_COLLATE", want.Collation, got.Collation},
		{"LC_CTYPE", want.Ctype, got.Ctype},
		{"locale provider", want.LocaleProvider, got.LocaleProvider},
		{want.LocaleProvider + " locale", want.ICULocale, got.ICULocale},
	} {
		if f.want != "" && f.want != f.got {
			diffs = append(diffs, fmt.Sprintf("%s is %q there but was %q in the source", f.name, f.got, f.want))
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	return fmt.Errorf("database %q exists and %s: %w", db, strings.Join(diffs, ", "), engine.ErrPropertiesDiffer)
}
