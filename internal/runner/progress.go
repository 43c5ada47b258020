package runner

import (
	"context"
	"io"

	"github.com/coffer-dev/coffer/internal/progress"
	"github.com/coffer-dev/coffer/internal/storage"
)

// countedStore counts the stored bytes of one target as they go to or come
// from storage: uploads of a backup, downloads of a restore. Counting at
// the store rather than in the pipeline covers both formats (one object,
// or chunks) without touching either.
type countedStore struct {
	storage.Store
	t *progress.Target
}

// countStored wraps s for t; without progress it is s itself.
func countStored(s storage.Store, t *progress.Target) storage.Store {
	if t == nil {
		return s
	}
	return countedStore{Store: s, t: t}
}

func (s countedStore) Put(ctx context.Context, key string, r io.Reader) error {
	return s.Store.Put(ctx, key, s.t.StoredReader(r))
}

func (s countedStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := s.Store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	return readCloser{Reader: s.t.StoredReader(rc), Closer: rc}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}
