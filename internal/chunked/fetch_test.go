package chunked_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/chunked"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/pipeline"
	"github.com/coffer-dev/coffer/internal/storage"
)

// meteredStore answers every Get after a delay (with jitter, a random one
// up to it, so fetches end out of order) and counts, per the chunks' plain sizes, the
// bytes a restore holds: a chunk counts from its GET until the consumer
// has read its bytes (consumed). It also counts GETs in flight, from Get
// until the body is closed.
type meteredStore struct {
	storage.Store
	delay  time.Duration
	jitter bool
	plain  map[string]int64 // chunk key → plain size

	mu                sync.Mutex
	rnd               *mrand.Rand
	held, peakHeld    int64
	getting, peakGets int
	gets              int
}

func newMeteredStore(f *fixture, chunks []manifest.Chunk, delay time.Duration, jitter bool) *meteredStore {
	s := &meteredStore{Store: f.store, delay: delay, jitter: jitter, plain: map[string]int64{}, rnd: mrand.New(mrand.NewPCG(1, 2))}
	for _, c := range chunks {
		s.plain[def.ChunkKey(c.Hash, true)] = c.Size
	}
	return s
}

func (s *meteredStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	s.mu.Lock()
	s.gets++
	s.getting++
	s.peakGets = max(s.peakGets, s.getting)
	s.held += s.plain[key]
	s.peakHeld = max(s.peakHeld, s.held)
	delay := s.delay
	if s.jitter && delay > 0 {
		delay = time.Duration(s.rnd.Int64N(int64(delay))) + 1
	}
	s.mu.Unlock()
	rc, err := s.get(ctx, key, delay)
	if err != nil {
		s.closed()
		return nil, err
	}
	return &closeOnce{ReadCloser: rc, close: s.closed}, nil
}

func (s *meteredStore) get(ctx context.Context, key string, delay time.Duration) (io.ReadCloser, error) {
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.Store.Get(ctx, key)
}

func (s *meteredStore) closed() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.getting--
}

func (s *meteredStore) consumed(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held -= int64(n)
}

func (s *meteredStore) stats() (peakHeld int64, peakGets, getting, gets int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakHeld, s.peakGets, s.getting, s.gets
}

// consumerBuffer is how much the consumer reads at once: the bytes it has
// read and not yet counted as consumed, at most.
const consumerBuffer = 32 << 10

// consumer reads the restore into got (nil: discards it), telling the
// store what it consumed.
func (s *meteredStore) consumer(got io.Writer) pipeline.ConsumeFunc {
	if got == nil {
		got = io.Discard
	}
	return func(r io.Reader) error {
		buf := make([]byte, consumerBuffer)
		for {
			n, err := r.Read(buf)
			got.Write(buf[:n])
			s.consumed(n)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
}

type closeOnce struct {
	io.ReadCloser
	once  sync.Once
	close func()
}

func (c *closeOnce) Close() error {
	err := c.ReadCloser.Close()
	c.once.Do(c.close)
	return err
}

func largest(chunks []manifest.Chunk) int64 {
	var n int64
	for _, c := range chunks {
		n = max(n, c.Size)
	}
	return n
}

// noGoroutinesLeft fails unless the goroutine count comes back to before
// (the runtime may take a moment to retire finished ones).
func noGoroutinesLeft(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after the restore, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReadHoldsAtMostTheBudget restores a target of many chunks from a slow
// store with a budget of about three chunks, and with one larger than the
// dump: the bytes held never pass the budget by more than one chunk, several GETs run at once (never more than
// MaxFetches), and the chunks, fetched out of order, arrive in order.
func TestReadHoldsAtMostTheBudget(t *testing.T) {
	f := newFixture(t)
	data := dumpLike(8, 24<<20)
	res := f.backup(t, data)
	if len(res.Chunks) < 10 {
		t.Fatalf("%d chunks; the test needs many", len(res.Chunks))
	}
	for _, budget := range []int64{3 << 20, 64 << 20} {
		store := newMeteredStore(f, res.Chunks, 30*time.Millisecond, true)
		rd := f.reader()
		rd.Store, rd.FetchBudget = store, budget
		var got bytes.Buffer
		if err := rd.Read(context.Background(), res.Chunks, pipeline.Sums{PlainSize: res.PlainSize}, store.consumer(&got)); err != nil {
			t.Fatalf("budget %d: %v", budget, err)
		}
		if !bytes.Equal(got.Bytes(), data) {
			t.Fatalf("budget %d: restored %d bytes, not the dump's %d in order", budget, got.Len(), len(data))
		}
		peakHeld, peakGets, _, gets := store.stats()
		if limit := budget + largest(res.Chunks) + consumerBuffer; peakHeld > limit {
			t.Errorf("budget %d: held up to %d plain bytes, over budget + one chunk + the consumer's buffer (%d)", budget, peakHeld, limit)
		}
		if peakGets < 2 || peakGets > chunked.MaxFetches {
			t.Errorf("budget %d: up to %d GETs at once; want 2..%d", budget, peakGets, chunked.MaxFetches)
		}
		if gets != len(res.Chunks) {
			t.Errorf("budget %d: %d GETs for %d chunks", budget, gets, len(res.Chunks))
		}
	}
}

// TestReadChunkLargerThanBudget: a budget smaller than any chunk still
// restores, one chunk at a time.
func TestReadChunkLargerThanBudget(t *testing.T) {
	f := newFixture(t)
	data := dumpLike(9, 6<<20)
	res := f.backup(t, data)
	store := newMeteredStore(f, res.Chunks, 5*time.Millisecond, true)
	rd := f.reader()
	rd.Store, rd.FetchBudget = store, 1<<10
	var got bytes.Buffer
	if err := rd.Read(context.Background(), res.Chunks, pipeline.Sums{PlainSize: res.PlainSize}, store.consumer(&got)); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("restore with a 1 KiB budget: %d bytes, equal %v, err %v", got.Len(), bytes.Equal(got.Bytes(), data), err)
	}
	if peakHeld, peakGets, _, _ := store.stats(); peakGets != 1 || peakHeld > largest(res.Chunks)+consumerBuffer {
		t.Fatalf("a budget smaller than a chunk: %d GETs at once, %d bytes held; want one chunk at a time", peakGets, peakHeld)
	}
}

// TestReadFailsOnABadChunkInTheMiddle: a missing or damaged chunk in the
// middle of a slow restore fails it with the chunk's key, and leaves no
// fetch running and no goroutine behind.
func TestReadFailsOnABadChunkInTheMiddle(t *testing.T) {
	cases := map[string]struct {
		damage func(path string) error
		want   error
	}{
		"missing": {os.Remove, storage.ErrNotFound},
		"flipped byte": {func(p string) error {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b[len(b)/2] ^= 1
			return os.WriteFile(p, b, 0o600)
		}, pipeline.ErrIntegrity},
	}
	f := newFixture(t)
	res := f.backup(t, dumpLike(10, 16<<20))
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			bad := res.Chunks[len(res.Chunks)/2]
			path := chunkFile(f, bad)
			saved, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.WriteFile(path, saved, 0o600) })
			if err := tc.damage(path); err != nil {
				t.Fatal(err)
			}
			store := newMeteredStore(f, res.Chunks, 20*time.Millisecond, true)
			rd := f.reader()
			rd.Store, rd.FetchBudget = store, 4<<20
			before := runtime.NumGoroutine()
			var got bytes.Buffer
			err = rd.Read(context.Background(), res.Chunks, pipeline.Sums{PlainSize: res.PlainSize}, store.consumer(&got))
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), def.ChunkKey(bad.Hash, true)) {
				t.Fatalf("err = %v; want %v naming chunk %s", err, tc.want, def.ChunkKey(bad.Hash, true))
			}
			if _, _, getting, _ := store.stats(); getting != 0 {
				t.Fatalf("%d GETs still open after the restore returned", getting)
			}
			noGoroutinesLeft(t, before)
		})
	}
}

// TestReadCancelled: cancelling mid-restore ends it with the context's
// error, the consumer sees an error rather than the end of the dump, no
// GET is left open and no goroutine behind.
func TestReadCancelled(t *testing.T) {
	f := newFixture(t)
	res := f.backup(t, dumpLike(11, 16<<20))
	store := newMeteredStore(f, res.Chunks, 50*time.Millisecond, true)
	rd := f.reader()
	// A budget smaller than the dump: chunks past it cannot have been
	// fetched before the cancel.
	rd.Store, rd.FetchBudget = store, 4<<20
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := runtime.NumGoroutine()
	var consumerErr error
	err := rd.Read(ctx, res.Chunks, pipeline.Sums{PlainSize: res.PlainSize}, func(r io.Reader) error {
		if _, err := io.CopyN(io.Discard, r, 3<<20); err != nil {
			return err
		}
		cancel()
		_, consumerErr = io.Copy(io.Discard, r)
		return consumerErr
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v; want context.Canceled", err)
	}
	if consumerErr == nil {
		t.Fatal("the consumer read to a clean end of a cancelled restore")
	}
	if _, _, getting, _ := store.stats(); getting != 0 {
		t.Fatalf("%d GETs still open after the restore returned", getting)
	}
	noGoroutinesLeft(t, before)
}
