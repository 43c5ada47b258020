package chunked

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/sync/semaphore"

	"github.com/coffer-dev/coffer/internal/manifest"
)

// DefaultFetchBudget is how many plain bytes of chunks a Reader holds at
// most, being fetched or fetched and not yet consumed, unless
// Reader.FetchBudget says otherwise: 16 MiB, about 10 chunks of a FastCDC
// backup, so a restore from object storage answering each GET after
// 100 ms keeps maxFetches GETs running (docs/benchmarks.md). Each chunk
// being fetched also holds its stored bytes, and while it is opened a zstd
// decoder; with 32 MiB a format 2 restore's peak RSS passed its 128 MiB
// goal.
const DefaultFetchBudget = 16 << 20

// maxFetches is how many chunk GETs a Reader runs at once, whatever the
// budget: enough to hide a slow store's latency, few enough that the
// decoders they hold stay small.
const maxFetches = 8

// fetchLimits bounds one Read's or Check's fetches: the plain bytes held
// (by the budget), the GETs running and the chunks being opened.
type fetchLimits struct {
	budget int64
	bytes  *semaphore.Weighted
	gets   chan struct{}
	// opening bounds the chunks being decrypted and decompressed, work
	// for a CPU each: one per GOMAXPROCS (at most maxFetches). A chunk
	// downloaded meanwhile waits in its stored form, without its plain
	// buffer and decoder, keeping its GET slot.
	opening chan struct{}
	// started, when not nil, holds back the opening of every chunk but
	// the first until it is closed: until the consumer first reads. Its
	// start (a database's checks, pg_restore's own start and connection)
	// is what the restore waits for then, and on two cores the openings
	// of the chunks behind the first took the CPU it needed. Downloads go
	// on meanwhile: they wait for the store, not the CPU.
	started <-chan struct{}
}

func (r *Reader) fetchLimits() *fetchLimits {
	budget := r.FetchBudget
	if budget <= 0 {
		budget = DefaultFetchBudget
	}
	return &fetchLimits{budget: budget, bytes: semaphore.NewWeighted(budget), gets: make(chan struct{}, maxFetches),
		opening: make(chan struct{}, openers())}
}

// openers is how many chunks a Read or Check opens at once.
func openers() int { return max(1, min(maxFetches, runtime.GOMAXPROCS(0))) }

// weight is what a chunk counts against the budget: its plain size, but at
// most the whole budget, so that a chunk larger than the budget is fetched
// alone rather than never.
func (l *fetchLimits) weight(c manifest.Chunk) int64 { return max(min(c.Size, l.budget), 0) }

// queue is how many fetched chunks may wait for the consumer: as many as
// the budget holds when each is at least MinSize (only a target's last
// chunk is smaller), so a manifest of tiny chunks cannot queue without
// end.
func (l *fetchLimits) queue() int { return int(l.budget/MinSize) + maxFetches }

// start waits until the budget has room for c and a GET may start, or ctx
// ends. On success the caller owns c's weight (release it with held) and
// a GET slot (release it with l.fetched).
func (l *fetchLimits) start(ctx context.Context, c manifest.Chunk) (held, error) {
	w := l.weight(c)
	if err := l.bytes.Acquire(ctx, w); err != nil {
		return held{}, err
	}
	select {
	case l.gets <- struct{}{}:
		return held{l, w}, nil
	case <-ctx.Done():
		l.bytes.Release(w)
		return held{}, ctx.Err()
	}
}

// fetched frees the GET slot of a fetch that has ended.
func (l *fetchLimits) fetched() { <-l.gets }

// held is a chunk's share of the budget: it is released once the chunk's
// plain bytes are consumed (or dropped).
type held struct {
	l *fetchLimits
	n int64
}

func (h held) release() {
	if h.l != nil {
		h.l.bytes.Release(h.n)
	}
}

// fetch downloads one chunk and, once l lets it, opens it with a pooled
// decoder: its stored and plain sizes and, with a key, its name are
// checked. Errors wrap pipeline.ErrIntegrity, pipeline.ErrDecrypt or
// storage.ErrNotFound and name the chunk's key.
func (r *Reader) fetch(ctx context.Context, l *fetchLimits, c manifest.Chunk, first bool) ([]byte, error) {
	stored, err := r.download(ctx, c)
	defer storedBufs.put(stored)
	if err != nil {
		return nil, err
	}
	if !first && l.started != nil {
		select {
		case <-l.started:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	select {
	case l.opening <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-l.opening }()
	dec, err := decoders.get()
	if err != nil {
		return nil, err
	}
	defer decoders.put(dec)
	return r.open(c, stored, dec)
}

type fetchedChunk struct {
	data []byte
	err  error
	held held
}

// fetchInOrder fetches chunks ahead of the consumer, several at once within
// the reader's limits, and delivers them in order, stopping at the first
// error (which it delivers) or when ctx ends. The consumer releases each
// delivered chunk's held share once it has used its bytes. The channel
// closes only after every fetch it started has returned.
func (r *Reader) fetchInOrder(ctx context.Context, chunks []manifest.Chunk, started <-chan struct{}) <-chan fetchedChunk {
	lim := r.fetchLimits()
	lim.started = started
	out := make(chan fetchedChunk)
	futures := make(chan chan fetchedChunk, lim.queue())
	var fetching sync.WaitGroup
	go func() {
		defer close(futures)
		for i, c := range chunks {
			h, err := lim.start(ctx, c)
			if err != nil {
				return
			}
			f := make(chan fetchedChunk, 1)
			select {
			case futures <- f:
			case <-ctx.Done():
				lim.fetched()
				h.release()
				return
			}
			fetching.Add(1)
			go func() {
				defer fetching.Done()
				data, err := r.fetch(ctx, lim, c, i == 0)
				lim.fetched()
				if err != nil && ctx.Err() == nil {
					err = fmt.Errorf("chunk %d of %d: %w", i+1, len(chunks), err)
				}
				f <- fetchedChunk{data: data, err: err, held: h}
			}()
		}
	}()
	go func() {
		defer close(out)
		deliverInOrder(ctx, futures, out)
		for range futures { // let the producer finish
		}
		fetching.Wait()
	}()
	return out
}

// deliverInOrder hands each future's chunk to out in order until an error
// is delivered or ctx ends.
func deliverInOrder(ctx context.Context, futures <-chan chan fetchedChunk, out chan<- fetchedChunk) {
	for f := range futures {
		res := <-f
		select {
		case out <- res:
		case <-ctx.Done():
			return
		}
		if res.err != nil || ctx.Err() != nil {
			return
		}
	}
}
