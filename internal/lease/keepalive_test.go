package lease_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/lease"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// KeepAlive ticks on real time, so these tests use a short interval and
// the filesystem store; the lease logic under it is covered on both
// backends by TestLease.

func newFilesystemEnv(t *testing.T) env {
	return env{backend: "filesystem", store: backends["filesystem"](t)(t), clock: newClock(t0)}
}

// keepAlive starts KeepAlive and returns a stop function that cancels it
// and waits for it to return, and a channel of lost errors.
func keepAlive(t *testing.T, l *lease.Lease) (stop func(), lost <-chan error, calls *atomic.Int32) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	lostc := make(chan error, 10)
	calls = new(atomic.Int32)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.KeepAlive(ctx, 2*time.Millisecond, func(err error) {
			calls.Add(1)
			lostc <- err
		})
	}()
	stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("KeepAlive did not return after its context was cancelled")
		}
	}
	t.Cleanup(cancel)
	return stop, lostc, calls
}

func TestKeepAliveRenewsAndReleases(t *testing.T) {
	e := newFilesystemEnv(t)
	a := e.mustAcquire(t, "runner-a")
	stop, lost, calls := keepAlive(t, a)
	for range 3 {
		e.clock.Advance(40 * time.Second) // beyond TTL in total: only renewals keep it
		want := e.clock.Now().Add(ttl)
		testutil.Eventually(t, 10*time.Second, "the lease is renewed", func() bool { return a.ExpiresAt().Equal(want) })
		if !a.Valid(e.clock.Now()) {
			t.Fatal("kept-alive lease not Valid")
		}
	}
	stop()
	if calls.Load() != 0 {
		t.Fatalf("lost called on a lease that was kept: %v", <-lost)
	}
	if a.Valid(e.clock.Now()) {
		t.Fatal("lease still Valid after KeepAlive released it")
	}
	e.wantKeys(t)
	e.mustAcquire(t, "runner-b")
}

func TestKeepAliveReportsTakeoverOnce(t *testing.T) {
	e := newFilesystemEnv(t)
	a := e.mustAcquire(t, "runner-a")
	stop, lost, calls := keepAlive(t, a)
	b := env{backend: e.backend, store: e.store, clock: newClock(t0.Add(2 * ttl))}
	b.mustAcquire(t, "runner-b")
	select {
	case err := <-lost:
		if !errors.Is(err, lease.ErrLost) {
			t.Fatalf("lost(%v), want ErrLost", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("lost was not called after a takeover")
	}
	stop()
	if n := calls.Load(); n != 1 {
		t.Fatalf("lost called %d times, want once", n)
	}
	// KeepAlive did not delete b's lock. a's own lock-000000000001 may be
	// back: a renewal that passed its check just before b's takeover can
	// land after b deleted it (a leftover, harmless: acquire.go).
	if got := b.lockKeys(t); !slices.Contains(got, "lock-000000000002") || slices.ContainsFunc(got, func(k string) bool {
		return k != "lock-000000000001" && k != "lock-000000000002"
	}) {
		t.Fatalf("lock objects = %q, want b's lock-000000000002 (and perhaps a's leftover lock-000000000001)", got)
	}
}

func TestKeepAliveLosesLeaseWhenRenewalsKeepFailing(t *testing.T) {
	e := newFilesystemEnv(t)
	hooked := &hookStore{Store: e.store}
	e.store = hooked
	a := e.mustAcquire(t, "runner-a")
	hooked.failPuts(errors.New("storage unreachable"))
	stop, lost, _ := keepAlive(t, a)
	e.clock.Advance(30 * time.Second)
	// Failures while the lease is Valid are retried, not reported.
	time.Sleep(20 * time.Millisecond)
	if len(lost) != 0 {
		t.Fatalf("lost reported while the lease was still Valid: %v", <-lost)
	}
	e.clock.Advance(15 * time.Second) // TTL − margin without a renewal
	select {
	case err := <-lost:
		if !errors.Is(err, lease.ErrLost) {
			t.Fatalf("lost(%v), want ErrLost", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("lost was not called after renewals failed for TTL − margin")
	}
	stop()
	e.wantKeys(t, "lock-000000000001") // left to expire, not deleted
}

func TestKeepAliveReportsLossBeforeExpiry(t *testing.T) {
	// Real time: the point is when lost is called, not just that it is.
	store := &hookStore{Store: backends["filesystem"](t)(t)}
	opts := lease.Options{TTL: 2 * time.Second, Margin: 500 * time.Millisecond, Holder: "runner-a"}
	a, err := lease.Acquire(context.Background(), store, ns, def, opts)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	store.failPuts(errors.New("storage unreachable"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lost := make(chan time.Time, 1)
	go a.KeepAlive(ctx, time.Hour, func(error) { lost <- time.Now() })
	select {
	case at := <-lost:
		if !at.Before(a.ExpiresAt()) {
			t.Fatalf("lost reported at %v, after the lease expired at %v", at, a.ExpiresAt())
		}
		if at.Before(a.ExpiresAt().Add(-opts.Margin)) {
			t.Fatalf("lost reported at %v, before the lease stopped being valid", at)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("lost was not called")
	}
}
