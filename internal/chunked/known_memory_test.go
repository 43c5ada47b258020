package chunked_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/chunked"
	"github.com/coffer-dev/coffer/internal/storage"
)

// generatedChunks is a store whose chunk listing is made as it is read,
// as an object store's pages are: fresh keys, nothing kept by the store.
type generatedChunks struct {
	listStore
	n      int
	listed bool // List or ListWhile was called: the whole listing held
}

func (s *generatedChunks) object(i int) storage.Object {
	return storage.Object{Key: def.ChunkKey(fmt.Sprintf("%064x", i*7919+1), true), Size: 300_000, ModTime: time.Now()}
}

func (s *generatedChunks) Walk(_ context.Context, _ string, fn func(storage.Object) error) error {
	for i := range s.n {
		if err := fn(s.object(i)); err != nil {
			return err
		}
	}
	return nil
}

func (s *generatedChunks) List(context.Context, string) ([]storage.Object, error) {
	s.listed = true
	out := make([]storage.Object, 0, s.n)
	for i := range s.n {
		out = append(out, s.object(i))
	}
	return out, nil
}

func (s *generatedChunks) ListWhile(ctx context.Context, prefix string, _ func(string) bool) ([]storage.Object, error) {
	return s.List(ctx, prefix)
}

// peakHeap runs f and returns the highest heap it saw above the heap
// before f, sampled every millisecond.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	f()
	close(stop)
	<-done
	return peak.Load() - min(peak.Load(), base.HeapAlloc)
}

// TestListKnownMemory: the start of a backup into a definition of 100,000
// chunks (about 125 GB of dumps) walks the listing and holds the set of
// chunk names, about 80 bytes a chunk, not the listing's objects besides.
func TestListKnownMemory(t *testing.T) {
	const chunks = 100_000
	s := &generatedChunks{n: chunks}
	var known *chunked.Known
	used := peakHeap(func() {
		var err error
		if known, err = chunked.ListKnown(context.Background(), s, def, true); err != nil {
			t.Fatal(err)
		}
	})
	if got := known.Len(); got != chunks {
		t.Fatalf("ListKnown found %d chunks, want %d", got, chunks)
	}
	t.Logf("ListKnown of %d chunks: peak heap %.1f MiB above the baseline", chunks, float64(used)/(1<<20))
	if s.listed {
		t.Error("ListKnown held the whole listing (List); it should walk it")
	}
	if used > 32<<20 {
		t.Errorf("ListKnown of %d chunks used %.1f MiB of heap, want under 32", chunks, float64(used)/(1<<20))
	}
}
