package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/manifest"
)

// schemaProperties reads db's default character set and collation, which
// the dump does not carry (it holds no CREATE DATABASE) but every table,
// routine and column created later without its own takes. sql.ErrNoRows
// means db does not exist.
func schemaProperties(ctx context.Context, pool *sql.DB, db string) (*manifest.DatabaseProperties, error) {
	var p manifest.DatabaseProperties
	err := pool.QueryRowContext(ctx, `SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME
		FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?`, db).Scan(&p.Charset, &p.Collation)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// createDatabase creates db with the character set and collation of p (nil
// or empty fields: the server's defaults).
// comment, when not empty, is the database's comment (MariaDB 10.5 and
// later keep one).
func createDatabase(ctx context.Context, pool *sql.DB, db string, p *manifest.DatabaseProperties, comment string) error {
	stmt := "CREATE DATABASE " + quoteIdent(db)
	if p != nil && p.Charset != "" {
		stmt += " CHARACTER SET " + quoteIdent(p.Charset)
	}
	if p != nil && p.Collation != "" {
		stmt += " COLLATE " + quoteIdent(p.Collation)
	}
	if comment != "" {
		stmt += " COMMENT " + quoteString(comment)
	}
	if _, err := pool.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("creating database %q: %w", db, err)
	}
	return nil
}

// checkProperties refuses a destination whose properties differ from the
// source's, naming each that differs with both values.
func checkProperties(db string, want, got *manifest.DatabaseProperties) error {
	var diffs []string
	for _, f := range []struct{ name, want, got string }{
		{"character set", want.Charset, got.Charset},
		{"collation", want.Collation, got.Collation},
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
