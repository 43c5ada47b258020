package chunked_test

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/chunked"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/storage"
)

// listStore is an in-memory store of listed objects only: enough for the
// sweep, which lists and deletes.
type listStore struct {
	mu   sync.Mutex
	objs map[string]storage.Object
}

func (s *listStore) Put(context.Context, string, io.Reader) error { return fmt.Errorf("not here") }
func (s *listStore) Get(context.Context, string) (io.ReadCloser, error) {
	return nil, storage.ErrNotFound
}
func (s *listStore) CreateExclusive(context.Context, string, []byte) error { return fmt.Errorf("no") }
func (s *listStore) SweepIncomplete(context.Context, string, time.Time) ([]string, error) {
	return nil, nil
}
func (s *listStore) Describe() string { return "memory" }
func (s *listStore) Close() error     { return nil }
func (s *listStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objs, key)
	return nil
}

func (s *listStore) ListWhile(ctx context.Context, prefix string, more func(string) bool) ([]storage.Object, error) {
	all, err := s.List(ctx, prefix)
	for i, o := range all {
		if !more(o.Key) {
			return all[:i], err
		}
	}
	return all, err
}

// Walk goes through the objects without a listing of its own, as an object
// store's pages come and go.
func (s *listStore) Walk(_ context.Context, prefix string, fn func(storage.Object) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, o := range s.objs {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

func (s *listStore) List(_ context.Context, prefix string) ([]storage.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []storage.Object
	for k, o := range s.objs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// TestSweepMemoryBounded: 100,000 chunks, half referenced by 50 backups;
// the sweep deletes exactly the other half and its heap stays under 64 MiB
// above what the store and manifests hold anyway.
func TestSweepMemoryBounded(t *testing.T) {
	const chunks, backups = 100_000, 50
	old := time.Now().Add(-48 * time.Hour)
	s := &listStore{objs: map[string]storage.Object{}}
	var ms []*manifest.Manifest
	hash := func(i int) string { return fmt.Sprintf("%064x", i*7919+1) }
	for i := range chunks {
		k := def.ChunkKey(hash(i), true)
		s.objs[k] = storage.Object{Key: k, Size: 300_000, ModTime: old}
	}
	per := chunks / 2 / backups
	for b := range backups {
		tg := manifest.Target{Name: "main"}
		for i := b * per; i < (b+1)*per; i++ {
			tg.Chunks = append(tg.Chunks, manifest.Chunk{Hash: hash(2 * i), Size: 1 << 20, StoredSize: 300_000})
		}
		ms = append(ms, &manifest.Manifest{Targets: []manifest.Target{tg}})
	}

	var n int
	var err error
	used := peakHeap(func() {
		n, err = chunked.Sweep(context.Background(), chunked.SweepInput{Store: s, Definition: def,
			Marks: mustMark(t, ms...), Now: time.Now(), Grace: 24 * time.Hour})
	})
	if err != nil || n != chunks/2 {
		t.Fatalf("swept %d, err %v; want %d", n, err, chunks/2)
	}
	for i := range chunks {
		_, there := s.objs[def.ChunkKey(hash(i), true)]
		if there != (i%2 == 0) {
			t.Fatalf("chunk %d: present %v after the sweep; want only the referenced (even) ones", i, there)
		}
	}
	t.Logf("sweep of %d chunks: peak heap %.1f MiB above the baseline", chunks, float64(used)/(1<<20))
	if used > 64<<20 {
		t.Fatalf("sweep of %d chunks used %d MiB of heap, want under 64", chunks, used>>20)
	}
}
