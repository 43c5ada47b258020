package postgres

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/postgres/pgarchive"
	"github.com/coffer-dev/coffer/internal/engine/tool"
)

// Restore creates the destination database when it is missing (with the
// source's encoding and locale when opts.Database has them), refuses a
// destination that holds objects unless opts.Clean or whose properties
// differ from the source's unless opts.IgnoreDatabaseProperties, and streams
// r into `pg_restore --single-transaction --exit-on-error`, its data joined
// into larger pieces on the way (pgarchive.Merge: pg_restore sends each
// piece of an uncompressed archive as its own message).
//
// One transaction makes the restore all or nothing: the first failing
// statement, a broken stream or a lost connection rolls everything back, so
// an existing destination is left exactly as it was, and a database this
// restore created is dropped again. With opts.ManyTransactions (a database the
// runner created for this restore, dropped if it fails and named as asked
// only once it succeeded) pg_restore runs without --single-transaction,
// which holds a lock on every object until the end. With opts.Clean pg_restore drops each
// object of the dump before creating it again (--clean --if-exists), in the
// same transaction; objects that are not in the dump are left alone.
func (e *Engine) Restore(ctx context.Context, t engine.Target, r io.Reader, opts engine.RestoreOptions) error {
	c, err := resolve(t)
	if err != nil {
		return err
	}
	db := opts.DestinationDatabase(c.database)
	if err := c.restore(ctx, db, r, opts); err != nil {
		return tool.Redact(fmt.Errorf("restore into %s: %w", c.where(db), err), c.password)
	}
	return nil
}

var _ engine.Atomic = (*Engine)(nil)

// RestoresAtomically is true: every restore into an existing database runs
// in one transaction (pg_restore --single-transaction, or psql
// --single-transaction for a server older than pg_restore), which a broken
// stream or a killed tool rolls back.
func (*Engine) RestoresAtomically(engine.Target, engine.RestoreOptions) bool { return true }

func (c conn) restore(ctx context.Context, db string, r io.Reader, opts engine.RestoreOptions) error {
	restore, err := findClient("pg_restore")
	if err != nil {
		return err
	}
	toolMajor := probeMajor(restore) // asked while the destination is prepared
	created, serverNum, err := c.prepare(ctx, db, opts)
	if err != nil {
		return err
	}
	err = c.pgRestore(ctx, restore, toolMajor, db, serverNum, pgarchive.Merge(r, pgarchive.DefaultPiece), opts)
	if err == nil || !created {
		return err
	}
	if dropErr := c.dropCreated(ctx, db); dropErr != nil {
		return fmt.Errorf("%w (dropping database %q, which this restore created, failed too: %v)", err, db, dropErr)
	}
	return fmt.Errorf("%w (database %q, which this restore created, was dropped again)", err, db)
}

func (c conn) pgRestore(ctx context.Context, restore string, toolMajor majorFunc, db string, serverNum int, r io.Reader, opts engine.RestoreOptions) error {
	s, err := c.newSession()
	if err != nil {
		return err
	}
	defer s.close()
	older, err := olderThanTool(ctx, toolMajor, serverNum)
	if err != nil {
		return err
	}
	if older {
		return c.pgRestoreOlder(ctx, s, restore, db, r, opts)
	}
	args := []string{"--exit-on-error", "--no-password", "--dbname=" + c.conninfo(db)}
	if !opts.ManyTransactions {
		args = append(args, "--single-transaction")
	}
	if opts.Clean {
		args = append(args, "--clean", "--if-exists")
	}
	if opts.IgnoreOwnership {
		args = append(args, "--no-owner", "--no-privileges")
	}
	cmd := s.cmd(c, restore, args)
	cmd.Stdin = r
	return lockTableHint(cmd.Run(ctx), opts)
}

// lockTableHint marks a restore in one transaction that ran out of the
// server's lock table (engine.ErrLockTable), which holds
// max_locks_per_transaction × (max_connections + max_prepared_transactions)
// locks for all sessions: one transaction keeps a lock on every table,
// index and sequence it creates until it ends, so a dump of a few thousand
// tables does not fit where pg_dump, which locks only the tables, did.
func lockTableHint(err error, opts engine.RestoreOptions) error {
	if err == nil || opts.ManyTransactions || !strings.Contains(err.Error(), "out of shared memory") {
		return err
	}
	return fmt.Errorf("%w: %w (restore into a new database, which is restored again in many transactions when one does not fit, "+
		"or raise max_locks_per_transaction on the server)", engine.ErrLockTable, err)
}

// setTransactionTimeout is the line pg_restore 17 and later writes at the
// start of every restore: a server older than 17 refuses it ("unrecognized
// configuration parameter"), so a runner with today's client tools could not
// restore a backup of a PostgreSQL 15 into that same server.
const setTransactionTimeout = "SET transaction_timeout = 0;"

// olderThanTool reports whether the destination server (serverNum, its
// server_version_num) is older than 17 while pg_restore (toolMajor) is 17
// or later.
func olderThanTool(ctx context.Context, toolMajor majorFunc, serverNum int) (bool, error) {
	if serverNum >= v17 {
		return false, nil
	}
	major, err := toolMajor(ctx)
	return major >= 17, err
}

// pgRestoreOlder restores into a server older than pg_restore: pg_restore
// writes the restore script, the statements the server does not know are
// left out, and psql runs it in one transaction that stops at the first
// error, as pg_restore --single-transaction --exit-on-error does.
func (c conn) pgRestoreOlder(ctx context.Context, s *session, restore, db string, r io.Reader, opts engine.RestoreOptions) error {
	psql, err := findClient("psql")
	if err != nil {
		return err
	}
	args := []string{"--file=-"}
	if opts.Clean {
		args = append(args, "--clean", "--if-exists")
	}
	if opts.IgnoreOwnership {
		args = append(args, "--no-owner", "--no-privileges")
	}
	script := s.cmd(c, restore, args)
	script.Stdin = r
	pr, pw := io.Pipe()
	filter := &scriptFilter{w: pw}
	script.Stdout = filter
	loadArgs := []string{"--no-psqlrc", "--quiet", "--no-password", "--set=ON_ERROR_STOP=1", "--dbname=" + c.conninfo(db)}
	if !opts.ManyTransactions {
		loadArgs = append(loadArgs, "--single-transaction")
	}
	load := s.cmd(c, psql, loadArgs)
	load.Stdin = pr
	scriptErr := make(chan error, 1)
	go func() {
		err := script.Run(ctx)
		if err == nil {
			err = filter.flush()
		}
		if err != nil {
			_ = pw.CloseWithError(err)
		} else {
			_ = pw.Close()
		}
		scriptErr <- err
	}()
	loadErr := load.Run(ctx)
	if loadErr != nil {
		_ = pr.CloseWithError(loadErr) // pg_restore stops writing
	}
	if err := <-scriptErr; err != nil && loadErr == nil {
		return err
	}
	return lockTableHint(loadErr, opts)
}

// scriptFilter passes a restore script through, leaving out the lines an
// older server refuses; COPY data is passed as it is.
type scriptFilter struct {
	w      io.Writer
	buf    []byte
	inCopy bool
}

func (f *scriptFilter) Write(p []byte) (int, error) {
	f.buf = append(f.buf, p...)
	for {
		i := bytes.IndexByte(f.buf, '\n')
		if i < 0 {
			break
		}
		if err := f.line(f.buf[:i+1]); err != nil {
			return 0, err
		}
		f.buf = f.buf[i+1:]
	}
	return len(p), nil
}

func (f *scriptFilter) line(l []byte) error {
	text := string(bytes.TrimRight(l, "\r\n"))
	switch {
	case f.inCopy:
		if text == `\.` {
			f.inCopy = false
		}
	case text == setTransactionTimeout:
		return nil
	case strings.HasPrefix(text, "COPY ") && strings.HasSuffix(text, " FROM stdin;"):
		f.inCopy = true
	}
	_, err := f.w.Write(l)
	return err
}

func (f *scriptFilter) flush() error {
	if len(f.buf) == 0 {
		return nil
	}
	err := f.line(f.buf)
	f.buf = nil
	return err
}
