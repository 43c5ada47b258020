package pushendpoint

import (
	"context"
	"errors"
	"io"
	"time"
)

// Files is what a session stores and serves. Its methods are called
// concurrently, one call per request. name is a clean relative path
// (fs.ValidPath): "2026/11/21-103000.00/data/1.sst", "LATEST".
//
// Errors: fs.ErrNotExist answers 404, ErrReadOnly 405, ErrGone 410, any
// other error 500 (and, for PUT and DELETE, becomes the session's Err).
type Files interface {
	// Put stores the file name with the content read from r. size is the
	// request's Content-Length, or -1 when the pusher did not say (a
	// chunked body: CockroachDB's case). A file put twice is replaced.
	Put(ctx context.Context, name string, r io.Reader, size int64) error
	// Open opens the file name for reading.
	Open(name string) (File, error)
	// Delete removes the file name.
	Delete(name string) error
}

// File is an open file of a session.
type File interface {
	io.ReadSeekCloser
	// ModTime is when the file was stored.
	ModTime() time.Time
}

// ErrReadOnly is returned by the Files of a session that only serves.
var ErrReadOnly = errors.New("push session is read-only")

// ErrGone is returned by Open for a file that was stored but cannot be
// read back any more (a TarSink streamed it on and did not keep it).
var ErrGone = errors.New("file was streamed on and not kept")
