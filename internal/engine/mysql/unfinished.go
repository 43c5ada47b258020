package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/tool"
)

var _ engine.Unfinished = (*Engine)(nil)

// unfinishedMark is the comment a database CreateDatabase made carries until
// FinishDatabase: what a restore killed halfway leaves says what it is.
const unfinishedMark = "coffer: unfinished restore"

// keepsMark reports whether the server keeps a database comment: MariaDB
// 10.5 and later. MySQL has none.
func keepsMark(ctx context.Context, pool *sql.DB) (bool, error) {
	var v string
	if err := pool.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v); err != nil {
		return false, err
	}
	return mariaDBAtLeast(v, 10, 5), nil
}

// mariaDBAtLeast reads VERSION(): "10.11.9-MariaDB-0+deb12u1", or with the
// "5.5.5-" prefix MariaDB 10 once sent for old clients.
func mariaDBAtLeast(version string, major, minor int) bool {
	if !strings.Contains(version, "MariaDB") {
		return false
	}
	parts := strings.SplitN(strings.TrimPrefix(version, "5.5.5-"), ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// FinishDatabase clears db's comment, the mark CreateDatabase set.
func (*Engine) FinishDatabase(ctx context.Context, t engine.Target, db string) error {
	return onServer(t, func(c conn, pool *sql.DB) error {
		marks, err := keepsMark(ctx, pool)
		if err == nil && marks {
			_, err = pool.ExecContext(ctx, "ALTER DATABASE "+quoteIdent(db)+" COMMENT ''")
		}
		if err != nil {
			return tool.Redact(fmt.Errorf("%s: clearing the mark of an unfinished restore: %w", c.where(db), err), c.password)
		}
		return nil
	})
}

// IsUnfinished reports whether db's comment is the mark.
func (*Engine) IsUnfinished(ctx context.Context, t engine.Target, db string) (bool, error) {
	unfinished := false
	err := onServer(t, func(c conn, pool *sql.DB) error {
		var err error
		if unfinished, err = marked(ctx, pool, db); err != nil {
			return tool.Redact(fmt.Errorf("%s: %w", c.where(db), err), c.password)
		}
		return nil
	})
	return unfinished, err
}

// DropUnfinished drops db when it carries the mark and no other session has
// it as its current database (information_schema.PROCESSLIST, which shows
// every session to a user with the PROCESS privilege and only its own to
// one without).
func (*Engine) DropUnfinished(ctx context.Context, t engine.Target, db string) (bool, error) {
	dropped := false
	err := onServer(t, func(c conn, pool *sql.DB) error {
		unfinished, err := marked(ctx, pool, db)
		if err != nil || !unfinished {
			return err
		}
		var busy int
		if err := pool.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.PROCESSLIST
			WHERE DB = ? AND ID <> CONNECTION_ID()`, db).Scan(&busy); err != nil {
			return fmt.Errorf("looking for sessions using %q: %w", db, err)
		}
		if busy > 0 {
			return nil
		}
		if _, err := pool.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(db)); err != nil {
			return tool.Redact(fmt.Errorf("%s: dropping what an unfinished restore left: %w", c.where(db), err), c.password)
		}
		dropped = true
		return nil
	})
	return dropped, err
}

// marked reports whether db exists with the mark as its comment; on a
// server that keeps no comment, never.
func marked(ctx context.Context, pool *sql.DB, db string) (bool, error) {
	marks, err := keepsMark(ctx, pool)
	if err != nil || !marks {
		return false, err
	}
	var comment string
	err = pool.QueryRowContext(ctx, `SELECT SCHEMA_COMMENT FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?`, db).Scan(&comment)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading the comment of database %q: %w", db, err)
	}
	return comment == unfinishedMark, nil
}

// quoteString quotes s as an SQL string literal.
func quoteString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}
