package chunked

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/zframe"
)

// TestChunksBehindTheFirstWaitForTheConsumer: until the consumer first
// reads, a read opens only the first chunk (the one it must check before
// anything reaches the consumer); the chunks behind it are opened once the
// consumer has started, and all arrive in order.
func TestChunksBehindTheFirstWaitForTheConsumer(t *testing.T) {
	store, err := storage.Open(context.Background(), storage.Config{Filesystem: &storage.FilesystemConfig{Path: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	k, err := NewKey([]byte(key1))
	if err != nil {
		t.Fatal(err)
	}
	def := layout.Definition{Namespace: "default", Name: "gate"}
	enc, err := newEncoder(zframe.Fastest, nil)
	if err != nil {
		t.Fatal(err)
	}
	var chunks []manifest.Chunk
	for i := range 4 {
		plain := noisy(uint64(20+i), 64<<10)
		stored, err := enc.encode(plain)
		if err != nil {
			t.Fatal(err)
		}
		name := k.Name(plain)
		if err := store.Put(context.Background(), def.ChunkKey(name, false), bytes.NewReader(stored)); err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, manifest.Chunk{Hash: name, Size: int64(len(plain)), StoredSize: int64(len(stored))})
	}
	r := &Reader{Store: store, Definition: def, Key: k}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	fetched := r.fetchInOrder(ctx, chunks, started)
	first := <-fetched
	if first.err != nil || len(first.data) != 64<<10 {
		t.Fatalf("first chunk: %d bytes, %v", len(first.data), first.err)
	}
	first.held.release()
	select {
	case c := <-fetched:
		t.Fatalf("the second chunk was opened before the consumer started (%d bytes, %v)", len(c.data), c.err)
	case <-time.After(300 * time.Millisecond):
	}
	close(started)
	n := 1
	for c := range fetched {
		if c.err != nil {
			t.Fatalf("chunk %d: %v", n+1, c.err)
		}
		c.held.release()
		n++
	}
	if n != len(chunks) {
		t.Fatalf("%d chunks delivered, want %d", n, len(chunks))
	}
}
