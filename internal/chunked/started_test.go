package chunked

import (
	"context"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/zframe"
)

// TestChunksBehindTheFirstWaitForTheConsumer: until the consumer first
// reads, a read opens only the first chunk (the one it must check before
// anything reaches the consumer); the chunks behind it are opened once the
// consumer has started, and all arrive in order.
func TestChunksBehindTheFirstWaitForTheConsumer(t *testing.T) {
	store := tempStore(t)
	k, err := NewKey([]byte(key1))
	if err != nil {
		t.Fatal(err)
	}
	def := layout.Definition{Namespace: "default", Name: "gate"}
	var chunks []manifest.Chunk
	for i := range 4 {
		plain := noisy(uint64(20+i), 64<<10)
		chunks = append(chunks, putChunk(t, store, def, zframe.Fastest, k.Name(plain), plain))
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
