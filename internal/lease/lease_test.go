package lease_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/lease"
)

// TestLease runs every case against a filesystem store and a real MinIO.
func TestLease(t *testing.T) {
	for backend, setup := range backends {
		t.Run(backend, func(t *testing.T) {
			newStore := setup(t)
			for name, run := range leaseCases {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					run(t, env{backend: backend, store: newStore(t), clock: newClock(t0)})
				})
			}
		})
	}
}

var leaseCases = map[string]func(t *testing.T, e env){
	"acquire, release, acquire again": func(t *testing.T, e env) {
		ctx := context.Background()
		a := e.mustAcquire(t, "runner-a")
		if !a.Valid(e.clock.Now()) || a.Generation() != 1 {
			t.Fatalf("new lease: valid %v, generation %d; want valid generation 1", a.Valid(e.clock.Now()), a.Generation())
		}
		e.wantKeys(t, "lock-000000000001")
		if err := a.Release(ctx); err != nil {
			t.Fatalf("Release: %v", err)
		}
		if a.Valid(e.clock.Now()) {
			t.Fatal("released lease is still Valid")
		}
		e.wantKeys(t)
		if err := a.Release(ctx); err != nil {
			t.Fatalf("second Release: %v", err)
		}
		mustLose(t, a.Renew(ctx), "renew after release")
		e.mustAcquire(t, "runner-a")
	},

	"second holder is refused and told who holds it": func(t *testing.T, e env) {
		e.mustAcquire(t, "runner-7f/123/ab12")
		held := e.mustBeHeld(t, "runner-b", "runner-7f/123/ab12")
		want := "lease for default/shop is held by runner-7f/123/ab12 until 2026-11-21T10:31:00Z"
		if held.Error() != want {
			t.Fatalf("error = %q, want %q", held.Error(), want)
		}
		e.wantKeys(t, "lock-000000000001")
	},

	"takeover only after expiry": func(t *testing.T, e env) {
		ctx := context.Background()
		a := e.mustAcquire(t, "runner-a")
		e.clock.Advance(ttl - time.Second)
		e.mustBeHeld(t, "runner-b", "runner-a")
		e.clock.Advance(2 * time.Second)
		b := e.mustAcquire(t, "runner-b")
		if b.Generation() != 2 {
			t.Fatalf("takeover generation = %d, want 2", b.Generation())
		}
		e.wantKeys(t, "lock-000000000002")
		mustLose(t, a.Renew(ctx), "renew after expiry")
		mustLose(t, a.Release(ctx), "release after expiry")
		e.wantKeys(t, "lock-000000000002")
		if err := b.Renew(ctx); err != nil {
			t.Fatalf("new holder's Renew: %v", err)
		}
	},

	"renewal extends the lease": func(t *testing.T, e env) {
		ctx := context.Background()
		a := e.mustAcquire(t, "runner-a")
		e.clock.Advance(30 * time.Second)
		if err := a.Renew(ctx); err != nil {
			t.Fatalf("Renew: %v", err)
		}
		e.clock.Advance(40 * time.Second) // 70s after acquiring, 40s after renewing
		if !a.Valid(e.clock.Now()) {
			t.Fatal("renewed lease not Valid 40s later")
		}
		held := e.mustBeHeld(t, "runner-b", "runner-a")
		if want := t0.Add(90 * time.Second); !held.Until.Equal(want) {
			t.Fatalf("held until %v, want %v", held.Until, want)
		}
		rec := readLock(t, e, "lock-000000000001")
		want := map[string]any{"holder": "runner-a", "generation": 1.0, "acquiredAt": "2026-11-21T10:30:00Z",
			"renewedAt": "2026-11-21T10:30:30Z", "expiresAt": "2026-11-21T10:31:30Z"}
		if fmt.Sprint(rec) != fmt.Sprint(want) {
			t.Fatalf("lock object = %v, want %v", rec, want)
		}
	},

	"not valid after TTL minus margin without renewal": func(t *testing.T, e env) {
		ctx := context.Background()
		a := e.mustAcquire(t, "runner-a")
		margin := ttl / 4 // the default
		if !a.Valid(t0.Add(ttl - margin - time.Millisecond)) {
			t.Fatal("not Valid just before TTL − margin")
		}
		if a.Valid(t0.Add(ttl - margin)) {
			t.Fatal("still Valid at TTL − margin")
		}
		e.clock.Advance(ttl - margin)
		mustLose(t, a.Renew(ctx), "renew after TTL − margin")
		e.clock.Advance(-time.Minute)
		if a.Valid(e.clock.Now()) {
			t.Fatal("a lost lease became Valid again")
		}
		// Nobody else can take it before it expires.
		e.clock.Advance(time.Minute)
		e.mustBeHeld(t, "runner-b", "runner-a")
		mustLose(t, a.Release(ctx), "release of a lapsed lease")
		e.wantKeys(t, "lock-000000000001")
	},

	"renew after someone took over is lost": func(t *testing.T, e env) {
		ctx := context.Background()
		a := e.mustAcquire(t, "runner-a")
		// b's clock is far ahead: to b, a's lease has expired while a
		// still trusts it. a's next renewal must notice.
		b := env{backend: e.backend, store: e.store, clock: newClock(t0.Add(2 * ttl))}
		b.mustAcquire(t, "runner-b")
		err := a.Renew(ctx)
		mustLose(t, err, "renew after takeover")
		if !strings.Contains(err.Error(), "taken over by runner-b (generation 2)") {
			t.Fatalf("error %q does not name the new holder", err)
		}
		if a.Valid(e.clock.Now()) {
			t.Fatal("lost lease still Valid")
		}
		b.wantKeys(t, "lock-000000000002")
	},

	"release lets the next holder in at once": func(t *testing.T, e env) {
		a := e.mustAcquire(t, "runner-a")
		if err := a.Release(context.Background()); err != nil {
			t.Fatalf("Release: %v", err)
		}
		e.mustAcquire(t, "runner-b")
	},

	"crashed holder blocks until expiry, then is replaced and cleaned up": func(t *testing.T, e env) {
		e.mustAcquire(t, "runner-crashed") // never renewed nor released
		e.clock.Advance(30 * time.Second)
		held := e.mustBeHeld(t, "runner-b", "runner-crashed")
		if !held.Until.Equal(t0.Add(ttl)) {
			t.Fatalf("held until %v, want %v", held.Until, t0.Add(ttl))
		}
		e.clock.Advance(31 * time.Second)
		b := e.mustAcquire(t, "runner-b")
		if b.Generation() != 2 {
			t.Fatalf("generation = %d, want 2", b.Generation())
		}
		e.wantKeys(t, "lock-000000000002")
	},

	"racing for an expired lease, exactly one wins": func(t *testing.T, e env) {
		e.mustAcquire(t, "runner-crashed")
		for round := range 3 {
			e.clock.Advance(ttl + time.Second)
			race(t, e, contenders[e.backend], fmt.Sprintf("round%d", round))
		}
	},

	"racing for a free lease, exactly one wins": func(t *testing.T, e env) {
		race(t, e, contenders[e.backend], "round0")
	},

	"a contender acting on a stale listing backs off": func(t *testing.T, e env) {
		ctx := context.Background()
		e.mustAcquire(t, "runner-crashed")
		e.clock.Advance(ttl + time.Second)
		// c has seen generation 1 expired and is about to create 2. Before
		// it does, w takes and releases generation 2 and b starts over at 1.
		var b *lease.Lease
		hooked := &hookStore{Store: e.store, beforeCreate: func(string) {
			w := e.mustAcquire(t, "runner-w")
			if err := w.Release(ctx); err != nil {
				t.Errorf("Release: %v", err)
			}
			b = e.mustAcquire(t, "runner-b")
		}}
		c := env{backend: e.backend, store: hooked, clock: e.clock}
		c.mustBeHeld(t, "runner-c", "runner-b")
		if b.Generation() != 1 {
			t.Fatalf("b's generation = %d, want 1", b.Generation())
		}
		e.wantKeys(t, "lock-000000000001")
		if err := b.Renew(ctx); err != nil {
			t.Fatalf("b's Renew: %v", err)
		}
	},

	"an unreadable lock object blocks for one TTL": func(t *testing.T, e env) {
		ctx := context.Background()
		// Its age comes from the store's clock, so run near real time.
		e.clock = newClock(time.Now())
		if err := e.store.Put(ctx, ns+"/"+def+"/lock-000000000001", strings.NewReader("{torn")); err != nil {
			t.Fatalf("Put: %v", err)
		}
		_, err := lease.Acquire(ctx, e.store, ns, def, e.opts("runner-b"))
		if !errors.Is(err, lease.ErrHeld) || !strings.Contains(err.Error(), "unreadable lock object") {
			t.Fatalf("Acquire = %v, want ErrHeld by an unreadable lock object", err)
		}
		e.clock.Advance(ttl + time.Minute)
		e.mustAcquire(t, "runner-b")
		e.wantKeys(t, "lock-000000000002")
	},
}

// race lets n runners acquire at once: exactly one must win, and every
// other must be told that the winner holds the lease. The winner then
// releases nothing: the next round starts from its expiry.
func race(t *testing.T, e env, n int, round string) {
	t.Helper()
	start := make(chan struct{})
	leases := make([]*lease.Lease, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			leases[i], errs[i] = lease.Acquire(context.Background(), e.store, ns, def, e.opts(fmt.Sprintf("%s-runner-%d", round, i)))
		})
	}
	close(start)
	wg.Wait()
	winner := ""
	for i, l := range leases {
		if l != nil {
			if winner != "" {
				t.Fatalf("%s: both %s and %s hold the lease", round, winner, l.Holder())
			}
			winner = l.Holder()
			continue
		}
		if !errors.Is(errs[i], lease.ErrHeld) {
			t.Fatalf("%s: contender %d: %v, want ErrHeld", round, i, errs[i])
		}
	}
	if winner == "" {
		t.Fatalf("%s: nobody won: %v", round, errs)
	}
	for i, err := range errs {
		var held *lease.HeldError
		if errors.As(err, &held) && held.Holder != winner {
			t.Fatalf("%s: contender %d told %q holds it, but %s won", round, i, held.Holder, winner)
		}
	}
	if keys := e.lockKeys(t); len(keys) != 1 {
		t.Fatalf("%s: lock objects after the race = %q, want only the winner's", round, keys)
	}
}

// readLock decodes a lock object as generic JSON.
func readLock(t *testing.T, e env, name string) map[string]any {
	t.Helper()
	rc, err := e.store.Get(context.Background(), ns+"/"+def+"/"+name)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer func() { _ = rc.Close() }()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("lock object %s: %v", data, err)
	}
	return out
}

func TestAcquireRejectsBadInput(t *testing.T) {
	store := backends["filesystem"](t)(t)
	cases := map[string]struct {
		namespace, definition string
		opts                  lease.Options
	}{
		"empty namespace":         {namespace: "", definition: def},
		"slash in definition":     {namespace: ns, definition: "a/b"},
		"negative TTL":            {namespace: ns, definition: def, opts: lease.Options{TTL: -time.Second}},
		"margin as long as TTL":   {namespace: ns, definition: def, opts: lease.Options{TTL: time.Second, Margin: time.Second}},
		"negative margin":         {namespace: ns, definition: def, opts: lease.Options{Margin: -time.Second}},
		"margin over default TTL": {namespace: ns, definition: def, opts: lease.Options{Margin: 2 * lease.DefaultTTL}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if l, err := lease.Acquire(context.Background(), store, c.namespace, c.definition, c.opts); err == nil {
				t.Fatalf("Acquire succeeded with generation %d, want an error", l.Generation())
			}
		})
	}
}

func TestDefaultHolder(t *testing.T) {
	store := backends["filesystem"](t)(t)
	l, err := lease.Acquire(context.Background(), store, ns, def, lease.Options{})
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	if parts := strings.Split(l.Holder(), "/"); len(parts) != 3 || parts[0] == "" || len(parts[2]) != 8 {
		t.Fatalf("default holder %q is not hostname/pid/random", l.Holder())
	}
	if !l.ExpiresAt().After(time.Now()) {
		t.Fatalf("ExpiresAt %v is not in the future", l.ExpiresAt())
	}
}
