package engine

import (
	"context"
	"errors"

	"github.com/coffer-dev/coffer/internal/manifest"
)

// Creating is implemented by the database engines whose Restore creates a
// missing destination database (postgres, mysql). It lets the runner create
// that database itself, so it knows for certain the database is new: it then
// streams the backup straight into Restore, checking integrity as it goes,
// and drops the database again when anything fails. There is nothing there
// to protect, so the separate verification pass a restore into an existing
// database needs is skipped, and the backup is read once.
type Creating interface {
	// RestoreDatabase names the database a restore of t with opts writes
	// to (opts.IntoDatabase, or the target's own).
	RestoreDatabase(t Target, opts RestoreOptions) (string, error)
	// DatabaseExists reports whether db exists on t's server.
	DatabaseExists(ctx context.Context, t Target, db string) (bool, error)
	// CreateDatabase creates db on t's server as Restore would create a
	// missing one, with the properties p (nil: the server's defaults). It
	// returns false, having changed nothing, when db exists already.
	CreateDatabase(ctx context.Context, t Target, db string, p *manifest.DatabaseProperties) (bool, error)
	// DropDatabase drops db on t's server; a missing db is not an error.
	DropDatabase(ctx context.Context, t Target, db string) error
	// MaxDatabaseName is the longest database name the server accepts,
	// in bytes: scratch and staging names are cut to it.
	MaxDatabaseName() int
}

// Renaming is implemented by the Creating engines that can rename a database
// (postgres). The runner then restores a new database under a staging name
// and gives it the name asked for only once the restore and every integrity
// check succeeded, so a restore killed halfway (kill -9, a lost node) leaves
// no half-filled database under that name, only the staging one, named as
// such; and the engine can restore the new database without holding the
// whole restore in one transaction (RestoreOptions.NewDatabase).
type Renaming interface {
	// RenameDatabase renames from to to on t's server; it fails, changing
	// nothing, when to exists.
	RenameDatabase(ctx context.Context, t Target, from, to string) error
	// DropIdle drops the databases on t's server named prefix followed by
	// exactly digits lowercase hex digits (and nothing else) that no session
	// is connected to, and returns their names: staging databases an
	// interrupted restore left. A database whose name merely starts with
	// prefix is someone else's and is never touched.
	DropIdle(ctx context.Context, t Target, prefix string, digits int) ([]string, error)
}

// Unfinished is implemented by the Creating engines that cannot rename a
// database but can mark one (mysql, on MariaDB 10.5 and later): the database
// CreateDatabase makes carries a mark until FinishDatabase removes it, which
// the runner does once the restore and every check succeeded. A restore
// killed halfway (kill -9, a lost node) so leaves a half-filled database that
// says what it is, and the next restore into that name drops it and restores
// anew, where it would refuse a database that holds tables. On a server that
// keeps no mark, FinishDatabase does nothing and no database is unfinished.
type Unfinished interface {
	// FinishDatabase removes db's mark.
	FinishDatabase(ctx context.Context, t Target, db string) error
	// IsUnfinished reports whether db carries the mark.
	IsUnfinished(ctx context.Context, t Target, db string) (bool, error)
	// DropUnfinished drops db if it carries the mark and no session other
	// than its own uses it, and reports whether it did.
	DropUnfinished(ctx context.Context, t Target, db string) (bool, error)
}

// ErrDatabaseExists is RenameDatabase's error when the new name is taken.
var ErrDatabaseExists = errors.New("a database of that name exists")
