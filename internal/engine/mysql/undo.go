package mysql

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/coffer-dev/coffer/internal/engine/tool"
)

// cleanupTimeout bounds undoing a failed restore.
const cleanupTimeout = 2 * time.Minute

// undoing returns err, after running undo when err is set; done and doing
// describe undo for the message. undo runs even when ctx has ended: a
// cancelled restore is a failed one.
func undoing(ctx context.Context, err error, done, doing string, undo func(context.Context) error) error {
	if err == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if uerr := undo(ctx); uerr != nil {
		return fmt.Errorf("%w (%s failed too: %v)", err, doing, uerr)
	}
	return fmt.Errorf("%w (%s)", err, done)
}

func dropDatabase(ctx context.Context, pool *sql.DB, db string) error {
	_, err := pool.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(db))
	return err
}

// emptyDatabase drops every object of db, which held none before the
// restore. Foreign keys are not checked, so the order does not matter.
func emptyDatabase(ctx context.Context, pool *sql.DB, db string) error {
	objects, err := userObjects(ctx, pool, db)
	if err != nil {
		return err
	}
	conn, err := pool.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET SESSION FOREIGN_KEY_CHECKS = 0"); err != nil {
		return err
	}
	for _, o := range objects {
		if _, err := conn.ExecContext(ctx, dropObject(db, o)); err != nil {
			return fmt.Errorf("dropping %s: %w", o, err)
		}
	}
	return nil
}

// dropObject is the statement that drops o (kinds as userObjects names
// them); tables are the default, whatever their TABLE_TYPE.
func dropObject(db string, o object) string {
	kind := map[string]string{
		"view": "VIEW", "sequence": "SEQUENCE", "function": "FUNCTION", "procedure": "PROCEDURE",
		"package": "PACKAGE", "package body": "PACKAGE BODY", "event": "EVENT",
	}[o.kind]
	if kind == "" {
		kind = "TABLE"
	}
	return "DROP " + kind + " IF EXISTS " + quoteIdent(db) + "." + quoteIdent(o.name)
}

// maxName is MariaDB's limit on a database name, in characters.
const maxName = 64

// scratchName is a fresh name for rehearsing a restore into db: db's name
// first, so that a user whose grants cover "<db>%" may create it.
func scratchName(db string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	suffix := "_coffer_" + hex.EncodeToString(b)
	prefix := []rune(db)
	if len(prefix) > maxName-len(suffix) {
		prefix = prefix[:maxName-len(suffix)]
	}
	return string(prefix) + suffix
}

// spool keeps a copy of the dump in a private (0700) directory while the
// rehearsal reads it, to replay it into the destination: the stream can
// be read only once.
type spool struct {
	dir  *tool.SecretDir
	file *os.File
}

func newSpool() (*spool, error) {
	dir, err := tool.NewSecretDir()
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(dir.Path("dump.sql"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		_ = dir.Remove()
		return nil, fmt.Errorf("creating the copy of the dump: %w", err)
	}
	return &spool{dir: dir, file: f}, nil
}

func (s *spool) Write(p []byte) (int, error) { return s.file.Write(p) }

// replay is the kept copy, from its start.
func (s *spool) replay() (io.Reader, error) {
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rereading the copy of the dump: %w", err)
	}
	return s.file, nil
}

func (s *spool) remove() {
	_ = s.file.Close()
	_ = s.dir.Remove()
}
