package chunked

import (
	"context"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/storage"
)

// Known is the set of chunks stored in a definition's chunk directory, with
// their stored sizes: one listing at the start of a backup run (a LIST
// request returns 1,000 keys, where a HEAD per chunk would cost a request
// per chunk), plus the chunks the run stores itself. Safe for concurrent
// use by the run's targets. Memory is about 80 bytes per chunk.
type Known struct {
	encrypted bool
	mu        sync.Mutex
	sizes     map[[32]byte]int64
}

// ListKnown lists def's chunks of the given encryption (a chunk stored in
// clear is not reused by an encrypting storage, nor the other way round).
// It walks the listing rather than holding it: what stays is the set, about
// 80 bytes per chunk, not the listing's keys.
func ListKnown(ctx context.Context, store storage.Store, def layout.Definition, encrypted bool) (*Known, error) {
	k := &Known{encrypted: encrypted, sizes: map[[32]byte]int64{}}
	err := store.Walk(ctx, def.ChunksDir(), func(o storage.Object) error {
		p := layout.Parse(o.Key)
		if p.Kind != layout.Chunk || p.Definition != def || p.Encrypted != encrypted || o.Size <= 0 {
			return nil
		}
		if h, ok := hashBytes(p.Hash); ok {
			k.sizes[h] = o.Size
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the chunks in %s: %w", def.ChunksDir(), err)
	}
	return k, nil
}

// claim returns the stored size of the chunk named hash if it is known;
// otherwise it records the chunk with size stored, so that the caller is the
// one that uploads it, and returns false.
func (k *Known) claim(hash string, stored int64) (int64, bool) {
	h, ok := hashBytes(hash)
	if !ok {
		return 0, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if n, ok := k.sizes[h]; ok {
		return n, true
	}
	k.sizes[h] = stored
	return 0, false
}

// forget drops a claim whose upload failed.
func (k *Known) forget(hash string) {
	if h, ok := hashBytes(hash); ok {
		k.mu.Lock()
		delete(k.sizes, h)
		k.mu.Unlock()
	}
}

// size is the stored size of a known chunk.
func (k *Known) size(hash string) (int64, bool) {
	h, ok := hashBytes(hash)
	if !ok {
		return 0, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	n, ok := k.sizes[h]
	return n, ok
}

// Len is the number of known chunks.
func (k *Known) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.sizes)
}

func hashBytes(s string) ([32]byte, bool) {
	var h [32]byte
	if !layout.ValidChunkHash(s) {
		return h, false
	}
	_, err := hex.Decode(h[:], []byte(s))
	return h, err == nil
}
