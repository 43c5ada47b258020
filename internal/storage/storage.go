// Package storage is Coffer's small view of object storage: put a stream,
// get a stream, list, delete, and create-if-absent for the lease. Backends are
// gocloud.dev/blob buckets (file, s3, azure); Open picks one from a Config.
// docs/storage.md describes the backends, their guarantees and memory use.
package storage

import (
	"context"
	"errors"
	"io"
	"time"
)

// Store is a bucket of objects addressed by slash-separated keys, relative
// to the configured prefix. Keys are refused if empty, absolute, or holding
// empty, "." or ".." segments, control characters or backslashes, or if
// they end in ".attrs" or ".<hex>.tmp" (the filesystem backend's own files),
// so every backend accepts the same keys.
//
// Put stores everything read from r under key, replacing any object there.
// Nothing is visible under key until r has returned io.EOF and the object is
// complete; if r returns any other error, ctx is cancelled, or the upload
// fails, Put returns an error wrapping that cause and leaves key as it was
// (a partial multipart upload is aborted, a temp file removed). Memory held by
// one Put is about PartSize × (Concurrency+2). A stream longer than
// PartSize × MaxParts fails with ErrTooManyParts on backends with a part
// limit (S3), never truncated.
type Store interface {
	Put(ctx context.Context, key string, r io.Reader) error
	// Get opens key for reading. A missing key is ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// List returns every object whose key starts with prefix, at any
	// depth, sorted by key; never an upload still in progress.
	List(ctx context.Context, prefix string) ([]Object, error)
	// ListWhile is List, stopped at the first key (not returned) for which
	// more is false, without reading the rest: for a listing whose caller
	// knows, from the layout, that nothing it wants comes after that key.
	// Keys come in byte order on every backend. The filesystem also asks
	// more about a directory's key (ending in "/") before reading the
	// directory, so more must refuse every key after one it refused.
	ListWhile(ctx context.Context, prefix string, more func(key string) bool) ([]Object, error)
	// Walk calls fn for every object List would return, in the backend's
	// order (see ListWhile) rather than sorted, holding no more than the
	// page of keys the backend returns at a time: for a listing too long
	// to hold whole. An error from fn stops the walk and is returned as it
	// is. A walk that raced with a file vanishing (filesystem backend) is
	// started again, so fn may see an object twice.
	Walk(ctx context.Context, prefix string, fn func(Object) error) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// CreateExclusive writes data under key only if key does not exist yet;
	// otherwise it returns ErrExists. Of concurrent callers, exactly one
	// wins, on every backend.
	CreateExclusive(ctx context.Context, key string, data []byte) error
	// SweepIncomplete removes what interrupted uploads under prefix left
	// behind before the given time (temp files on a filesystem, unfinished
	// multipart uploads on S3) and returns what it removed. Such leftovers
	// are never listed as objects, so only this can find them.
	SweepIncomplete(ctx context.Context, prefix string, before time.Time) ([]string, error)
	// Describe names the store for messages (no credentials).
	Describe() string
	Close() error
}

// Object is one listed object.
type Object struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// ErrNotFound: the key does not exist.
var ErrNotFound = errors.New("object not found")

// ErrExists: CreateExclusive found the key already present.
var ErrExists = errors.New("object already exists")

// ErrTooManyParts: the stream grew past what the part size allows.
var ErrTooManyParts = errors.New("upload exceeds the multipart part-count limit")
