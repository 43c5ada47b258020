// Package postgres backs up one PostgreSQL database with pg_dump in the
// custom format and restores it with pg_restore.
//
// pg_dump's own compression is off: the pipeline compresses with zstd, and
// compressing twice only costs CPU. The dump streams from pg_dump's stdout
// straight into the pipeline; nothing touches the disk but a 0600 password
// file (PGPASSFILE) in a private directory that lives as long as the tool.
//
// Restore keeps the owners and privileges recorded in the dump, so a
// database restored into the cluster it came from is the database that was
// dumped. The roles are cluster-wide and not part of a database dump: in
// another cluster they must exist before the restore, otherwise pg_restore
// stops at the first ALTER ... OWNER and the restore fails loudly (never a
// silent change of owner).
//
// pg_restore runs in one transaction, so a restore that fails leaves an
// existing destination as it was, and a database it created is dropped
// again. A database created by a restore gets the source's encoding and
// locale, which the backup records: a dump's text is only meaningful in
// them, and an existing destination whose differ is refused.
package postgres

import (
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/manifest"
	"net"
	"strconv"
)

// clientPackage is the Debian package that ships pg_dump and pg_restore.
const clientPackage = "postgresql-client"

// Engine is the PostgreSQL engine. The zero value is ready to use.
type Engine struct{}

// New returns the PostgreSQL engine.
func New() *Engine { return &Engine{} }

var _ engine.Engine = (*Engine)(nil)

// Name is "postgres", the key of the target block.
func (*Engine) Name() string { return "postgres" }

// Extension is "pgdump": the custom archive format of pg_dump.
func (*Engine) Extension() string { return "pgdump" }

// Destinations: a restore may go into another database on the same server.
func (*Engine) Destinations() []engine.Destination {
	return []engine.Destination{engine.DestinationDatabase}
}

// Source is the server and database: host:port/database.
func (*Engine) Source(t engine.Target) manifest.Source {
	s := t.Spec.Postgres
	port := s.Port
	if port == 0 {
		port = defaultPort
	}
	return manifest.Source{Kind: manifest.SourceDatabase, Identity: net.JoinHostPort(s.Host, strconv.Itoa(port)) + "/" + s.Database}
}
