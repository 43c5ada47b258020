// Package redis backs up a Redis server as an RDB snapshot, taken the way a
// replica takes one: Coffer speaks the replication protocol itself (AUTH,
// REPLCONF, PSYNC ? -1) and streams the snapshot the server sends, byte for
// byte, to the pipeline. No redis-cli: it would want the password in its
// arguments (-a) or environment (REDISCLI_AUTH), and Coffer puts secrets in
// neither.
//
// The server produces the snapshot as for a new replica: with
// repl-diskless-sync (the default since Redis 7) it streams it from a fork
// straight into the connection, otherwise it writes it to its data
// directory first, as BGSAVE does, and then sends the file. Both forms are
// read: a length-prefixed payload, and the EOF-marker form of diskless
// sync. The snapshot is checked on the way (the REDIS magic, and the CRC64
// trailer when the server writes one), so a cut or damaged stream fails the
// backup.
//
// The snapshot is point-in-time consistent: it is the server's fork at one
// instant, every database of the server, with expiry times, streams and
// their consumer groups, and functions.
//
// Restore writes the RDB file to RestoreOptions.IntoPath, for a server to
// load at start (dir and dbfilename). It does not load into a running
// server: docs/engines.md tells how, with no downtime, through a replica.
package redis

import (
	"github.com/coffer-dev/coffer/internal/manifest"
	"net"
	"runtime"
	"strconv"

	"github.com/coffer-dev/coffer/internal/engine"
)

// Engine is the Redis engine. The zero value is ready to use.
type Engine struct{}

// New returns the Redis engine.
func New() *Engine { return &Engine{} }

var _ engine.Engine = (*Engine)(nil)

// Name is "redis", the key of the target block.
func (*Engine) Name() string { return "redis" }

// Extension is "rdb": the dump is a Redis RDB file.
func (*Engine) Extension() string { return "rdb" }

// Destinations: a restore writes an RDB file for a server to load at start,
// and needs its path; it never loads into a running server.
func (*Engine) Destinations() []engine.Destination {
	return []engine.Destination{engine.DestinationPath}
}

// Source is the server: host:port.
func (*Engine) Source(t engine.Target) manifest.Source {
	port := t.Spec.Redis.Port
	if port == 0 {
		port = defaultPort
	}
	return manifest.Source{Kind: manifest.SourceServer, Identity: net.JoinHostPort(t.Spec.Redis.Host, strconv.Itoa(port))}
}

// toolVersion describes the client for the manifest: Coffer itself.
func toolVersion() string {
	return "coffer redis replication client (" + runtime.Version() + ")"
}
