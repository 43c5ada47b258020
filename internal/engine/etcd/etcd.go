// Package etcd saves an etcd cluster as a snapshot taken through the v3
// client's maintenance API, and restores it as a snapshot file.
//
// A snapshot is the member's whole bbolt database at one revision: every key
// with its history since the last compaction, leases, users and roles. The
// server appends the SHA-256 of the database to the stream; Backup checks it
// while the bytes stream through, so a stream cut short by a dying member
// can never pass for a backup. Nothing touches the disk on the way out.
//
// No tool is run: TLS material (CA, client certificate, key) becomes a
// tls.Config in memory, and the password goes to the client library, never
// into files, argv or the environment.
//
// Restore writes the snapshot file to RestoreOptions.IntoPath (verifying its
// checksum first). Turning a snapshot into a data directory is etcdutl's job
// (`etcdutl snapshot restore`), done by hand on each member with the cluster
// stopped: etcdutl's library pulls in the whole etcd server, and a running
// cluster cannot be restored through its API. docs/engines.md has the
// commands.
package etcd

import (
	"github.com/coffer-dev/coffer/internal/manifest"
	"strings"
	"time"

	"github.com/coffer-dev/coffer/internal/engine"
)

// defaultConnectTimeout bounds connecting to and authenticating with one
// member, and asking it for its status.
const defaultConnectTimeout = 30 * time.Second

// Engine is the etcd engine. The zero value is ready to use.
type Engine struct {
	// ConnectTimeout bounds connecting to one endpoint, authenticating and
	// asking for its status; zero means 30 seconds. The snapshot itself is
	// bounded only by the caller's context.
	ConnectTimeout time.Duration
}

// New returns the etcd engine.
func New() *Engine { return &Engine{} }

var _ engine.Engine = (*Engine)(nil)

// Name is "etcd", the key of the target block.
func (*Engine) Name() string { return "etcd" }

// Extension is "db", as etcdctl and etcdutl name snapshot files.
func (*Engine) Extension() string { return "db" }

// Destinations: the snapshot file is written to a path (etcdutl restores
// it into a data directory).
func (*Engine) Destinations() []engine.Destination {
	return []engine.Destination{engine.DestinationPath}
}

// Source is the cluster: its endpoints.
func (*Engine) Source(t engine.Target) manifest.Source {
	return manifest.Source{Kind: manifest.SourceCluster, Identity: strings.Join(t.Spec.Etcd.Endpoints, ",")}
}

func (e *Engine) connectTimeout() time.Duration {
	if e.ConnectTimeout > 0 {
		return e.ConnectTimeout
	}
	return defaultConnectTimeout
}
