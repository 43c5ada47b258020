package lease_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/lease"
	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/testutil"
)

const (
	ns  = "default"
	def = "shop"
	ttl = time.Minute
)

// t0 is when every test's clock starts.
var t0 = time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)

// clock is a manual clock; each runner in a test may have its own, to
// simulate skew.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// backends set up a backend once per test run and return a maker of fresh,
// empty stores.
var backends = map[string]func(t *testing.T) func(t *testing.T) storage.Store{
	"filesystem": func(*testing.T) func(t *testing.T) storage.Store {
		return func(t *testing.T) storage.Store {
			return openStore(t, storage.Config{Filesystem: &storage.FilesystemConfig{Path: t.TempDir()}})
		}
	},
	"s3": func(t *testing.T) func(t *testing.T) storage.Store {
		m := testutil.StartMinIO(t)
		return func(t *testing.T) storage.Store {
			return openStore(t, m.StorageConfig("t/"+t.Name()))
		}
	},
}

// contenders is how many runners race for one lease on each backend.
var contenders = map[string]int{"filesystem": 8, "s3": 2}

func openStore(t *testing.T, c storage.Config) storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), c)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// env is one test's store and clock.
type env struct {
	backend string
	store   storage.Store
	clock   *clock
}

// opts are the options of the runner called holder, on e's clock.
func (e env) opts(holder string) lease.Options {
	return lease.Options{TTL: ttl, Holder: holder, Now: e.clock.Now}
}

func (e env) mustAcquire(t *testing.T, holder string) *lease.Lease {
	t.Helper()
	l, err := lease.Acquire(context.Background(), e.store, ns, def, e.opts(holder))
	if err != nil {
		t.Fatalf("Acquire(%s): %v", holder, err)
	}
	if l.Holder() != holder {
		t.Fatalf("Holder() = %q, want %q", l.Holder(), holder)
	}
	return l
}

// mustBeHeld acquires as holder and expects a refusal naming owner.
func (e env) mustBeHeld(t *testing.T, holder, owner string) *lease.HeldError {
	t.Helper()
	l, err := lease.Acquire(context.Background(), e.store, ns, def, e.opts(holder))
	if err == nil {
		t.Fatalf("Acquire(%s) won generation %d, want ErrHeld by %s", holder, l.Generation(), owner)
	}
	var held *lease.HeldError
	if !errors.Is(err, lease.ErrHeld) || !errors.As(err, &held) {
		t.Fatalf("Acquire(%s) = %v, want a HeldError", holder, err)
	}
	if held.Holder != owner {
		t.Fatalf("Acquire(%s) = %v, want it held by %s", holder, err, owner)
	}
	return held
}

// lockKeys lists the definition's objects.
func (e env) lockKeys(t *testing.T) []string {
	t.Helper()
	objs, err := e.store.List(context.Background(), ns+"/"+def+"/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, strings.TrimPrefix(o.Key, ns+"/"+def+"/"))
	}
	return keys
}

func (e env) wantKeys(t *testing.T, want ...string) {
	t.Helper()
	got := e.lockKeys(t)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("lock objects = %q, want %q", got, want)
	}
}

func mustLose(t *testing.T, err error, why string) {
	t.Helper()
	if !errors.Is(err, lease.ErrLost) {
		t.Fatalf("got %v, want ErrLost (%s)", err, why)
	}
}

// hookStore runs hooks around a real store's operations, to stage races
// and failures at exact points.
type hookStore struct {
	storage.Store
	mu           sync.Mutex
	beforeCreate func(key string)
	putErr       error
}

func (h *hookStore) CreateExclusive(ctx context.Context, key string, data []byte) error {
	h.mu.Lock()
	hook := h.beforeCreate
	h.beforeCreate = nil
	h.mu.Unlock()
	if hook != nil {
		hook(key)
	}
	return h.Store.CreateExclusive(ctx, key, data)
}

func (h *hookStore) failPuts(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.putErr = err
}

func (h *hookStore) Put(ctx context.Context, key string, r io.Reader) error {
	h.mu.Lock()
	err := h.putErr
	h.mu.Unlock()
	if err != nil {
		return err
	}
	return h.Store.Put(ctx, key, r)
}
