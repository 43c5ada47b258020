// Package mysql backs up one MySQL or MariaDB database with mariadb-dump
// (or mysqldump) and restores it with the mariadb (or mysql) client.
//
// The dump is of the database's contents only, without CREATE DATABASE or
// USE, so it can be restored under another name. It is taken in one
// transaction (--single-transaction: consistent for InnoDB without locking
// writers) and holds routines, triggers and events; binary columns are
// written in hex so the SQL text survives any transport.
//
// Credentials, host and port reach the tools only through an option file
// given with --defaults-extra-file, mode 0600 in a private directory that
// lives as long as the tool. HOME points at that directory too, so a
// ~/.my.cnf of whoever runs Coffer cannot override the target's settings.
//
// Views, routines, triggers and events carry their DEFINER. Restoring them
// as a user other than the definer needs the SET USER (or SUPER) privilege,
// as with any MariaDB dump.
//
// MariaDB commits each DDL statement by itself, so a restore cannot be one
// transaction. A failed restore is undone instead (a database it created is
// dropped, an empty one emptied), and a restore over existing objects is
// rehearsed in a scratch database before the destination is touched. The
// database's character set and collation are recorded at backup and given
// to a database the restore creates.
package mysql

import (
	"log/slog"
	"net"
	"strconv"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/manifest"
)

// clientPackage is the Debian package that ships mariadb-dump and mariadb.
const clientPackage = "mariadb-client"

// Engine is the MySQL/MariaDB engine. The zero value is ready to use.
type Engine struct {
	// Log receives what a restore cannot report as its error: a scratch
	// database left behind after a successful restore. nil means
	// slog.Default().
	Log *slog.Logger
}

// New returns the MySQL/MariaDB engine.
func New() *Engine { return &Engine{} }

var _ engine.Engine = (*Engine)(nil)

// Name is "mysql", the key of the target block.
func (*Engine) Name() string { return "mysql" }

// Extension is "sql": the dump is plain SQL text.
func (*Engine) Extension() string { return "sql" }

// Destinations: a restore may go into another database on the same server.
func (*Engine) Destinations() []engine.Destination {
	return []engine.Destination{engine.DestinationDatabase}
}

// Source is the server and database: host:port/database.
func (*Engine) Source(t engine.Target) manifest.Source {
	s := t.Spec.MySQL
	port := s.Port
	if port == 0 {
		port = defaultPort
	}
	return manifest.Source{Kind: manifest.SourceDatabase, Identity: net.JoinHostPort(s.Host, strconv.Itoa(port)) + "/" + s.Database}
}

func (e *Engine) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.Default()
}
