package offsite

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/storage"
)

// chunkConcurrency is how many chunks a copy streams at once: chunks are
// about 1 MiB, so one at a time would spend most of the copy waiting for
// round trips. Memory per chunk in flight is the stores' buffers, not the
// chunk.
const chunkConcurrency = 4

// chunkID names a chunk of the definition: a clear chunk and an encrypted
// one of the same hash are different objects.
type chunkID struct {
	hash      [32]byte
	encrypted bool
}

func parseChunkID(hash string, encrypted bool) (chunkID, bool) {
	id := chunkID{encrypted: encrypted}
	if !layout.ValidChunkHash(hash) {
		return id, false
	}
	_, err := hex.Decode(id.hash[:], []byte(hash))
	return id, err == nil
}

// offsiteChunks are the chunks the offsite copy holds, with their stored
// sizes: listed once per run (a LIST returns 1,000 keys, where a HEAD per
// chunk costs a request each), then kept up to date with what the run
// copies. About 80 bytes per chunk.
type offsiteChunks struct {
	mu    sync.Mutex
	sizes map[chunkID]int64
}

func (o *offsiteChunks) size(id chunkID) (int64, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, ok := o.sizes[id]
	return n, ok
}

func (o *offsiteChunks) add(id chunkID, size int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sizes[id] = size
}

// run is what one copy run shares between the backups it copies.
type run struct {
	// chunks: nil until the first format 2 backup lists them.
	chunks *offsiteChunks
}

// offsiteChunks lists the definition's chunk directory offsite, once per
// run.
func (c Copier) offsiteChunks(ctx context.Context, st *run) (*offsiteChunks, error) {
	if st.chunks != nil {
		return st.chunks, nil
	}
	dir := c.Dst.Definition.ChunksDir()
	objs, err := c.Dst.Store.List(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("listing the chunks offsite in %s of %s: %w", dir, c.Dst.Store.Describe(), err)
	}
	out := &offsiteChunks{sizes: make(map[chunkID]int64, len(objs))}
	for _, o := range objs {
		k := layout.Parse(o.Key)
		if k.Kind != layout.Chunk || k.Definition != c.Dst.Definition {
			continue
		}
		if id, ok := parseChunkID(k.Hash, k.Encrypted); ok {
			out.sizes[id] = o.Size
		}
	}
	st.chunks = out
	return out, nil
}

// chunkRef is one distinct chunk of a backup and the first target that
// lists it (for messages).
type chunkRef struct {
	id     chunkID
	key    string
	size   int64 // stored
	target string
}

// chunkRefs lists each chunk of m once, in stream order. A manifest whose
// chunks live elsewhere than the definition's chunk directory, or that
// lists one chunk with two stored sizes, is not copied.
func (c Copier) chunkRefs(m *manifest.Manifest) ([]chunkRef, error) {
	def := c.Src.Definition
	encrypted := m.Encryption != nil
	if m.Chunking == nil {
		return nil, fmt.Errorf("backup %s: format %d without chunking: not copying", m.ID, m.FormatVersion)
	}
	if m.IsSummary() {
		return nil, fmt.Errorf("backup %s: %w: not copying", m.ID, manifest.ErrSummary)
	}
	if m.Chunking.Dir != def.ChunksDir() || m.Chunking.Suffix != layout.ChunkSuffix(encrypted) {
		return nil, fmt.Errorf("backup %s: its chunks are %q + hash + %q, this definition's are %q + hash + %q: not copying",
			m.ID, m.Chunking.Dir, m.Chunking.Suffix, def.ChunksDir(), layout.ChunkSuffix(encrypted))
	}
	seen := map[chunkID]chunkRef{}
	var refs []chunkRef
	for _, t := range m.Targets {
		for _, ch := range t.Chunks {
			id, ok := parseChunkID(ch.Hash, encrypted)
			if !ok {
				return nil, fmt.Errorf("backup %s, target %q: chunk %q is not a chunk name: not copying", m.ID, t.Name, ch.Hash)
			}
			prev, dup := seen[id]
			if !dup {
				r := chunkRef{id: id, key: def.ChunkKey(ch.Hash, encrypted), size: ch.StoredSize, target: t.Name}
				seen[id] = r
				refs = append(refs, r)
				continue
			}
			if prev.size != ch.StoredSize {
				return nil, fmt.Errorf("%w: backup %s: chunk %s is listed with stored size %d (target %q) and %d (target %q): not copying",
					ErrMismatch, m.ID, prev.key, prev.size, prev.target, ch.StoredSize, t.Name)
			}
		}
	}
	return refs, nil
}

// copyChunks copies every chunk of m that the offsite copy lacks (or holds
// with another size), a few at a time, each checked against its stored
// size. It stops at the first failure: the backup is then not committed
// offsite, and the chunks copied so far are kept for the next run (or
// swept after the grace period when none comes).
func (c Copier) copyChunks(ctx context.Context, m *manifest.Manifest, st *run, res *BackupCopy) error {
	refs, err := c.chunkRefs(m)
	if err != nil {
		return err
	}
	there, err := c.offsiteChunks(ctx, st)
	if err != nil {
		return fmt.Errorf("backup %s: %w", m.ID, err)
	}
	var todo []chunkRef
	for _, r := range refs {
		if n, ok := there.size(r.id); ok && n == r.size {
			res.Reused++
			continue
		}
		todo = append(todo, r)
	}
	return c.streamChunks(ctx, m, todo, there, res)
}

// streamChunks copies the chunks todo, chunkConcurrency at a time, and
// stops at the first failure.
func (c Copier) streamChunks(ctx context.Context, m *manifest.Manifest, todo []chunkRef, there *offsiteChunks, res *BackupCopy) error {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, chunkConcurrency)
	for _, r := range todo {
		sem <- struct{}{}
		if ctx.Err() != nil {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			n, err := c.stream(ctx, r.key, r.size, "")
			mu.Lock()
			res.Bytes += n
			if err == nil {
				res.Chunks++
			} else if first == nil {
				first = c.chunkError(m, r, err)
				cancel() // the backup will not be committed: stop its other chunks
			}
			mu.Unlock()
			if err == nil {
				there.add(r.id, r.size)
				if c.AfterObject != nil {
					c.AfterObject(r.key)
				}
			}
		}()
	}
	wg.Wait()
	if err := parent.Err(); err != nil {
		if first != nil && !errors.Is(first, context.Canceled) {
			err = errors.Join(err, first)
		}
		return fmt.Errorf("backup %s: copy interrupted after %d of %d chunks: %w", m.ID, res.Chunks, len(todo), err)
	}
	return first
}

// chunkError names the backup, the target and the chunk a copy failed on.
func (c Copier) chunkError(m *manifest.Manifest, r chunkRef, err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("backup %s, target %q: chunk %s is missing on the primary %s (verify the primary): %w",
			m.ID, r.target, r.key, c.Src.Store.Describe(), storage.ErrNotFound)
	}
	return fmt.Errorf("backup %s, target %q, chunk %s: %w", m.ID, r.target, r.key, err)
}
