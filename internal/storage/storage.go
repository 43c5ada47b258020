// Package storage is Coffer's small view of object storage: put a stream,
// get a stream, list, delete, and create-if-absent for the lease. Backends are
// gocloud.dev/blob buckets (file, s3).
package storage

import (
	"context"
	"errors"
	"io"
	"time"
)

// Store is a bucket of objects addressed by slash-separated keys.
//
// Put stores everything read from r under key. Nothing is visible under key
// until r has returned io.EOF and the object is complete; if r returns any
// other error, ctx is cancelled, or the upload fails, Put returns an error
// and leaves no object (a partial multipart upload is aborted). Memory held by
// one Put is bounded by the part size times the upload concurrency.
type Store interface {
	Put(ctx context.Context, key string, r io.Reader) error
	// Get opens key for reading. A missing key is ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// List returns every object whose key starts with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]Object, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// CreateExclusive writes data under key only if key does not exist yet;
	// otherwise it returns ErrExists.
	CreateExclusive(ctx context.Context, key string, data []byte) error
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
