package chunked

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/pipeline"
	"github.com/coffer-dev/coffer/internal/storage"
)

// Checked is what reading a set of chunks found.
type Checked struct {
	// Chunks and Bytes count the distinct chunks read and their stored bytes.
	Chunks int
	Bytes  int64
	// Bad maps a chunk's hash to what is wrong with it.
	Bad map[string]error
}

// Check reads every distinct chunk of the given targets once, in full
// (fetch: stored size, age, zstd, plain size, name), and reports the
// bad ones. A chunk listed twice with different sizes is bad. It reads
// several chunks at once within the same limits as Read (FetchBudget,
// maxFetches GETs, one chunk opened per GOMAXPROCS) and drops each as soon
// as it is checked. It returns an error only when ctx ends.
func (r *Reader) Check(ctx context.Context, targets []manifest.Target) (Checked, error) {
	uniq, out := distinct(targets)
	lim := r.fetchLimits()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range uniq {
		h, err := lim.start(ctx, c)
		if err != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			plain, err := r.fetch(ctx, lim, c, true)
			plainBufs.put(plain)
			lim.fetched()
			h.release()
			mu.Lock()
			defer mu.Unlock()
			out.Chunks++
			out.Bytes += c.StoredSize
			if err != nil {
				out.Bad[c.Hash] = err
			}
		}()
	}
	wg.Wait()
	return out, ctx.Err()
}

// CheckStored checks, without decrypting, that every distinct chunk of the
// targets is listed in the chunk directory with its stored size: what a
// storage without the age identity can check (one listing, no download).
func (r *Reader) CheckStored(ctx context.Context, targets []manifest.Target) (Checked, error) {
	uniq, out := distinct(targets)
	known, err := ListKnown(ctx, r.Store, r.Definition, r.Encrypted)
	if err != nil {
		return out, err
	}
	for _, c := range uniq {
		out.Chunks++
		key := r.Definition.ChunkKey(c.Hash, r.Encrypted)
		switch n, ok := known.size(c.Hash); {
		case !ok:
			out.Bad[c.Hash] = fmt.Errorf("chunk %s: %w", key, storage.ErrNotFound)
		case n != c.StoredSize:
			out.Bad[c.Hash] = fmt.Errorf("%w: chunk %s: stored size %d, manifest says %d", pipeline.ErrIntegrity, key, n, c.StoredSize)
		default:
			out.Bytes += n
		}
	}
	return out, nil
}

// distinct lists each chunk of the targets once; chunks listed twice with
// different sizes are reported bad in the returned Checked.
func distinct(targets []manifest.Target) ([]manifest.Chunk, Checked) {
	out := Checked{Bad: map[string]error{}}
	seen := map[string]manifest.Chunk{}
	var uniq []manifest.Chunk
	for _, t := range targets {
		for _, c := range t.Chunks {
			prev, ok := seen[c.Hash]
			if !ok {
				seen[c.Hash] = c
				uniq = append(uniq, c)
				continue
			}
			if prev != c {
				out.Bad[c.Hash] = fmt.Errorf("%w: chunk %s is listed with sizes %d/%d and %d/%d", pipeline.ErrIntegrity, c.Hash, prev.Size, prev.StoredSize, c.Size, c.StoredSize)
			}
		}
	}
	return uniq, out
}

// Missing reports whether err says a chunk is not in storage.
func Missing(err error) bool { return errors.Is(err, storage.ErrNotFound) }
