package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"io"
)

// rehearse restores r into db, which holds objects the dump replaces, in
// two passes: first into a new scratch database on the same server (with
// db's character set and collation), keeping a copy of the stream in a
// private file; then, only when that succeeded, the copy into db. So a
// dump that does not restore (cut short, damaged, failing its checksum at
// the end, a statement the server rejects, a missing privilege) fails
// before db is touched, and the scratch database is dropped again.
//
// What the rehearsal cannot catch fails the second pass part-way, leaving
// db partly restored: a lost connection, the server stopping, a full disk,
// or an object only db has in the way (a view where the dump has a table).
// The scratch database then holds a complete restore and is kept, named
// in the error.
func (e *Engine) rehearse(ctx context.Context, c conn, pool *sql.DB, client, db string, r io.Reader) error {
	props, err := schemaProperties(ctx, pool, db)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	scratch := scratchName(db)
	if err := createDatabase(ctx, pool, scratch, props, ""); err != nil {
		return fmt.Errorf("restoring over objects is rehearsed in a scratch database before %q is touched, and %w "+
			"(grant the user CREATE and DROP on %q, or empty %q and restore without --clean)", db, err, scratch, db)
	}
	dropScratch := func(ctx context.Context) error { return dropDatabase(ctx, pool, scratch) }
	done := fmt.Sprintf("scratch database %q dropped", scratch)
	doing := fmt.Sprintf("dropping scratch database %q", scratch)
	s, err := newSpool()
	if err != nil {
		return undoing(ctx, err, done, doing, dropScratch)
	}
	defer s.remove()
	if err := c.apply(ctx, client, scratch, io.TeeReader(r, s)); err != nil {
		err = fmt.Errorf("rehearsing the restore in scratch database %q failed, %q was not touched: %w", scratch, db, err)
		return undoing(ctx, err, done, doing, dropScratch)
	}
	replay, err := s.replay()
	if err != nil {
		return undoing(ctx, err, done, doing, dropScratch)
	}
	if err := c.apply(ctx, client, db, replay); err != nil {
		return fmt.Errorf("the restore succeeded in scratch database %q, but replaying it into %q failed part-way: "+
			"%q is partly restored (restore again with --clean once the cause is fixed); %q holds the complete "+
			"restore and is kept for you (drop it when done): %w", scratch, db, db, scratch, err)
	}
	cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := dropScratch(cleanup); err != nil {
		e.log().Warn("restore succeeded, but dropping its scratch database failed: drop it by hand",
			"database", scratch, "error", err)
	}
	return nil
}
