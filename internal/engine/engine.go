// Package engine defines what a database engine must do for Coffer: stream a
// dump out, and stream one back in. Engines run the real client tools or real
// client libraries; the pipeline around them hashes, compresses, encrypts and
// stores. Each engine lives in its own sub-package and is registered in
// engine/all.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/manifest"
)

// Engine backs up and restores one kind of target.
//
// Backup writes the complete dump to w and returns only when the dump tool
// has exited. A tool that exits non-zero, is killed, or loses its connection
// is an error, whatever bytes it already wrote; the caller then discards them.
//
// Restore reads a dump produced by Backup from r. It must refuse, with
// ErrNotEmpty, to restore into a database that already holds objects unless
// opts.Clean is set, and it creates the database when it does not exist.
type Engine interface {
	// Name is the engine's key in the config ("postgres", "mysql", ...).
	Name() string
	// Extension is the file extension of the plain dump ("pgdump", "sql").
	Extension() string
	// Destinations lists the restore overrides the engine honours: a
	// request that names a destination of another kind is refused before
	// any object is read or any database touched.
	Destinations() []Destination
	// Source says what kind of thing a target is and which one, recorded in
	// the manifest at backup so a restore can refuse a destination of
	// another kind. It never contains a secret.
	Source(t Target) manifest.Source
	Backup(ctx context.Context, t Target, w io.Writer) (Result, error)
	Restore(ctx context.Context, t Target, r io.Reader, opts RestoreOptions) error
}

// Destination is a kind of restore override a request can name.
type Destination string

// Destinations.
const (
	// DestinationDatabase is RestoreOptions.IntoDatabase: another database
	// on the target's server.
	DestinationDatabase Destination = "database"
	// DestinationPath is RestoreOptions.IntoPath: another directory or file
	// on the runner's filesystem.
	DestinationPath Destination = "path"
)

// Accepts reports whether e honours a destination of kind d.
func Accepts(e Engine, d Destination) bool {
	for _, a := range e.Destinations() {
		if a == d {
			return true
		}
	}
	return false
}

// Target is one target as configured, with the Secrets it references
// resolved. It never leaves the process: Secret values must not be logged,
// put in errors, argv or environment. Engines pass them to tools only through
// 0600 files.
type Target struct {
	// Spec is the target from the definition; exactly one engine block is set.
	Spec v1alpha1.Target
	// Namespace of the definition, for messages.
	Namespace string
	// Secrets holds the data of the Secrets referenced by the definition.
	Secrets Secrets
	// Protected lists paths the runner must never read or write for a
	// target, whatever the config says: its own config file and the Secret
	// mount it comes from. Engines that touch the local filesystem refuse
	// a target inside one and leave them out of a tree they walk.
	Protected []string
}

// Name is the target's name in the definition.
func (t Target) Name() string { return t.Spec.Name }

// Secrets maps Secret name to its data.
type Secrets map[string]map[string][]byte

// Value returns the referenced key, or "" when ref is nil. A reference to a
// missing Secret or key is an error naming both (never the value).
func (s Secrets) Value(ref *v1alpha1.SecretKeySelector) (string, error) {
	if ref == nil {
		return "", nil
	}
	data, ok := s[ref.Name]
	if !ok {
		return "", fmt.Errorf("secret %q not found", ref.Name)
	}
	v, ok := data[ref.Key]
	if !ok {
		return "", fmt.Errorf("secret %q has no key %q", ref.Name, ref.Key)
	}
	return string(v), nil
}

// Result describes a finished dump, for the manifest.
type Result struct {
	// ServerVersion is the version the database server reported.
	ServerVersion string
	// ToolVersion is the dump tool's own version line.
	ToolVersion string
	// Database holds the database-level properties (encoding, collation,
	// charset) a restore needs to recreate the database faithfully; nil for
	// engines without databases.
	Database *manifest.DatabaseProperties
}

// RestoreOptions change where and how a dump is restored.
type RestoreOptions struct {
	// IntoDatabase restores into this database instead of the target's own
	// (database engines).
	IntoDatabase string
	// IntoPath restores into this directory or file instead of the target's
	// own location (filesystem, etcd, git engines).
	IntoPath string
	// Clean allows restoring into a database that already holds tables: the
	// dump's objects are dropped and recreated.
	Clean bool
	// Database is what the manifest recorded of the source database's
	// properties (nil for old backups): a database created by the restore
	// gets them, and an existing destination whose properties differ is
	// refused unless IgnoreDatabaseProperties.
	Database *manifest.DatabaseProperties
	// IgnoreDatabaseProperties restores into an existing database whose
	// encoding or collation differ from the source's.
	IgnoreDatabaseProperties bool
	// Kubernetes tunes a restore of Kubernetes resources (namespace
	// mapping, filters, existing objects, dry run); nil means defaults.
	Kubernetes *v1alpha1.KubernetesRestoreOptions
	// IgnoreOwnership restores objects owned by the restoring user and
	// without the dump's grants (PostgreSQL), so a dump restores on a
	// server that lacks the source's roles: restore tests use it.
	IgnoreOwnership bool
	// ManyTransactions lets the engine restore without holding the whole
	// restore in one transaction, which keeps a lock on every object it
	// creates until the end. The runner sets it only for a database it
	// created for this restore (dropped if the restore fails, and named as
	// asked only once it succeeded, engine.Renaming), after a restore in
	// one transaction failed with ErrLockTable.
	ManyTransactions bool
	// NewDatabase says that the runner created IntoDatabase for this
	// restore a moment ago (Creating.CreateDatabase, with Database's
	// properties), so it holds nothing yet: the engine need not check that
	// it is empty or what its properties are.
	NewDatabase bool
}

// DestinationDatabase is the database a restore writes to: IntoDatabase,
// or own, the target's database.
func (o RestoreOptions) DestinationDatabase(own string) string {
	if o.IntoDatabase != "" {
		return o.IntoDatabase
	}
	return own
}

// ErrLockTable is returned by Restore when a restore in one transaction
// needed more locks than the server's lock table holds (PostgreSQL: a dump
// of a few thousand tables); in a new database the runner restores again
// with RestoreOptions.ManyTransactions.
var ErrLockTable = errors.New("the restore, one transaction, needs more locks than the server's lock table holds")

// ErrNotEmpty is returned by Restore when the destination holds objects and
// RestoreOptions.Clean is not set.
var ErrNotEmpty = errors.New("the destination is not empty (to overwrite it, restore with --clean, or spec.clean in a Restore)")

// ErrPropertiesDiffer is returned by Restore, before anything is changed,
// when an existing destination's encoding, collation or character set
// differ from those RestoreOptions.Database recorded of the source, and
// RestoreOptions.IgnoreDatabaseProperties is not set: the restored data
// would be converted, sorted differently, or rejected.
var ErrPropertiesDiffer = errors.New("the destination database's properties differ from the backup's source " +
	"(restore into a new database to get the source's, or use --ignore-database-properties to restore anyway)")

// ErrPartiallyFailed is wrapped by Restore when some items of a target
// (objects of a Kubernetes backup) failed and the others were restored; the
// error lists the failed items.
var ErrPartiallyFailed = errors.New("restore partially failed")

// ErrToolMissing wraps a missing client binary; the message names the package.
var ErrToolMissing = errors.New("client tool not found")

// Counting is implemented by engines whose dump is an archive of a file
// tree: the runner passes the dump through a counter on its way to
// storage and records the counts in the manifest (manifest.Contents), so
// a restore test can compare what it restored.
type Counting interface {
	NewCounter() ArchiveCounter
}

// ArchiveCounter counts the entries of a dump written into it. Its Write
// never fails; Finish, called after the dump ended, returns the counts or
// why the archive could not be read; Abort ends it when the dump failed.
type ArchiveCounter interface {
	io.Writer
	Finish() (manifest.Contents, error)
	Abort()
}
