// Package cockroach backs up one CockroachDB database with CockroachDB's
// own BACKUP, which writes its files over HTTP into the runner's push
// endpoint, and restores it with RESTORE, which reads them back from there.
//
// Backup opens a push session (internal/pushendpoint) and runs, over the
// PostgreSQL wire protocol,
//
//	BACKUP DATABASE "<db>" INTO '<session URL>' AS OF SYSTEM TIME '-10s'
//
// The nodes of the cluster PUT the backup's files into the session, and
// each file goes into one PAX tar stream, written to the pipeline as it
// completes: the dump is a plain tar of a CockroachDB backup collection,
// which `tar -x` turns back into a directory any CockroachDB can RESTORE
// from (see docs/engines.md). CockroachDB sends its files without a
// Content-Length, so each file is spooled before it enters the archive:
// up to 4 files at once, 4 MiB of each in memory and the rest in a 0600
// temporary file (pushendpoint.TarSink).
//
// AS OF SYSTEM TIME '-10s' is what CockroachDB recommends: the backup reads
// a consistent snapshot ten seconds old instead of contending with the live
// workload. The backup is therefore consistent as of ten seconds before the
// target's start time in the manifest; a database created less than ten
// seconds before the backup does not exist at that time.
//
// Restore extracts the archive into a private temporary directory (RESTORE
// reads files at offsets, which a stream cannot serve; the disk needs room
// for the whole backup), serves it read-only in a push session, and runs
//
//	RESTORE DATABASE "<db>" FROM LATEST IN '<session URL>' [WITH new_db_name = '<into>']
//
// The destination must not exist, or be empty; with Clean it is replaced.
// RESTORE cannot restore over an existing database, so the restore is
// rehearsed under a scratch name first, and only when that succeeded is the
// destination dropped (DROP DATABASE ... CASCADE) and restored again.
//
// Where the session lives: an Engine with Push set opens its sessions on
// that endpoint, which the runner serves on its API port. Without Push
// (standalone runs), each Backup and Restore serves an endpoint of its own
// for its duration, listening on the port of the target's endpointURL: on
// that address when its host is an IP address, on all interfaces when it is
// a name (a Service or machine name, which need not resolve to a local
// address). endpointURL is required either way as the address CockroachDB
// reaches the runner at, when Push is not set.
//
// The password goes into the connection's configuration, never argv or
// environment; the session token is scrubbed from every error.
package cockroach

import (
	"github.com/coffer-dev/coffer/internal/manifest"
	"log/slog"
	"net"
	"strconv"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/pushendpoint"
)

// Engine is the CockroachDB engine. The zero value is ready to use.
type Engine struct {
	// Push, when set, is the runner's push endpoint, on which sessions are
	// opened; nil means each operation serves its own (see the package doc).
	Push *pushendpoint.Endpoint
	// TempDir holds the spooled files of a backup and the extracted files of
	// a restore ("" is os.TempDir()).
	TempDir string
	// Log receives the push endpoint's request log; nil discards it.
	Log *slog.Logger
}

// New returns the CockroachDB engine, serving its own push endpoint.
func New() *Engine { return &Engine{} }

var _ engine.Engine = (*Engine)(nil)

// Name is "cockroach", the key of the target block.
func (*Engine) Name() string { return "cockroach" }

// Extension is "tar": the dump is a tar archive of the backup's files.
func (*Engine) Extension() string { return "tar" }

// Destinations: a restore may go into another database on the same server.
func (*Engine) Destinations() []engine.Destination {
	return []engine.Destination{engine.DestinationDatabase}
}

// Source is the server and database: host:port/database.
func (*Engine) Source(t engine.Target) manifest.Source {
	s := t.Spec.Cockroach
	port := s.Port
	if port == 0 {
		port = defaultPort
	}
	return manifest.Source{Kind: manifest.SourceDatabase, Identity: net.JoinHostPort(s.Host, strconv.Itoa(port)) + "/" + s.Database}
}

// toolVersion describes what makes the dump: the server's own BACKUP,
// archived by Coffer.
func toolVersion() string {
	return "CockroachDB BACKUP INTO http (coffer push endpoint, PAX tar)"
}

func (e *Engine) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.New(slog.DiscardHandler)
}
