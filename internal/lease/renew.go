package lease

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

// releaseTimeout bounds the Release that KeepAlive makes after its context
// is done.
const releaseTimeout = 10 * time.Second

// Renew extends the lease to TTL from now by rewriting our own lock object.
// It first checks that the lease is still ours: an error wrapping ErrLost
// means it is not (a higher generation exists, our object is gone or names
// someone else, or we did not renew within TTL − Margin), and the holder
// must stop at once; the lease stays lost. Any other error is a failed
// attempt that may be retried while Valid is true.
func (l *Lease) Renew(ctx context.Context) error {
	l.op.Lock()
	defer l.op.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	start := l.opts.Now()
	if !l.Valid(start) {
		return l.lose("not renewed within TTL − margin (%v)", l.opts.TTL-l.opts.Margin)
	}
	if err := l.checkOwn(ctx); err != nil {
		return err
	}
	rec := record{Holder: l.opts.Holder, Generation: l.gen, AcquiredAt: l.acquiredAt,
		RenewedAt: start, ExpiresAt: start.Add(l.opts.TTL)}
	if err := l.store.Put(ctx, l.key(), bytes.NewReader(rec.encode())); err != nil {
		return fmt.Errorf("renew lease for %s: %w", l.name(), err)
	}
	// A renewal that lands after we stopped trusting the lease may have
	// raced a takeover: we cannot tell, so it does not count.
	if !l.Valid(l.opts.Now()) {
		return l.lose("the renewal completed only after TTL − margin (%v)", l.opts.TTL-l.opts.Margin)
	}
	l.mu.Lock()
	l.renewedAt = start
	l.mu.Unlock()
	return nil
}

// checkOwn confirms that our generation is the highest and still holds our
// record, so a Put never overwrites someone else's lock.
func (l *Lease) checkOwn(ctx context.Context) error {
	locks, err := listLocks(ctx, l.store, l.def)
	if err != nil {
		return fmt.Errorf("renew lease for %s: %w", l.name(), err)
	}
	var own *lockObject
	for i, o := range locks {
		if o.gen > l.gen {
			top := locks[len(locks)-1]
			who := "another runner"
			if rec, err := readRecord(ctx, l.store, top, l.opts.TTL); err == nil {
				who = rec.Holder
			}
			return l.lose("taken over by %s (generation %d)", who, top.gen)
		}
		if o.gen == l.gen {
			own = &locks[i]
		}
	}
	if own == nil {
		return l.lose("its lock object %s is gone", l.key())
	}
	rec, err := readRecord(ctx, l.store, *own, l.opts.TTL)
	if errors.Is(err, storage.ErrNotFound) {
		return l.lose("its lock object %s is gone", l.key())
	}
	if err != nil {
		return fmt.Errorf("renew lease for %s: %w", l.name(), err)
	}
	if rec.Holder != l.opts.Holder {
		return l.lose("its lock object %s now names %s", l.key(), rec.Holder)
	}
	return nil
}

// Release ends the lease at once by deleting our lock object, so the next
// runner need not wait for it to expire. Stop all work before calling it.
// A lease that is lost or no longer Valid is not deleted (by then the key
// could in principle name someone else's lock): Release returns an error
// wrapping ErrLost, and the object expires on its own. After Release the
// lease is never Valid again, whatever the error; releasing twice is a
// no-op.
func (l *Lease) Release(ctx context.Context) error {
	l.op.Lock()
	defer l.op.Unlock()
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return nil
	}
	valid := !l.lost && l.opts.Now().Before(l.validUntilLocked())
	expires := l.renewedAt.Add(l.opts.TTL)
	l.released = true
	l.mu.Unlock()
	if !valid {
		return fmt.Errorf("release lease for %s: %w: leaving %s to expire at %s",
			l.name(), ErrLost, l.key(), expires.UTC().Format(time.RFC3339))
	}
	if err := l.store.Delete(ctx, l.key()); err != nil {
		return fmt.Errorf("release lease for %s: %w", l.name(), err)
	}
	return nil
}

// KeepAlive renews the lease every interval until ctx is done, then releases
// it on a fresh context (at most releaseTimeout). If the lease is lost it
// calls lost (if not nil) once, with an error wrapping ErrLost, and returns
// without releasing. A failed renewal is retried at the next tick; lost is
// called as soon as the lease stops being Valid, not at the tick after, so
// the caller can stop its work before anyone else may take over. every is
// capped at (TTL − Margin)/2, so a failed renewal gets a second chance
// before the lease lapses; zero means that cap.
//
// The waits use real time; Valid and the stored times use Options.Now.
func (l *Lease) KeepAlive(ctx context.Context, every time.Duration, lost func(error)) {
	if limit := (l.opts.TTL - l.opts.Margin) / 2; every <= 0 || every > limit {
		every = limit
	}
	for {
		timer := time.NewTimer(max(0, min(every, l.validFor())))
		select {
		case <-ctx.Done():
			timer.Stop()
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
			_ = l.Release(rctx) // a lease left behind expires on its own
			cancel()
			return
		case <-timer.C:
		}
		// At the lapse this fails at once with ErrLost.
		err := l.renewBounded(ctx)
		switch {
		case err == nil:
			continue
		case l.isReleased():
			return // by the caller
		case !errors.Is(err, ErrLost) && l.Valid(l.opts.Now()):
			continue // retried at the next tick
		case !errors.Is(err, ErrLost):
			err = l.lose("no successful renewal in time; last error: %v", err)
		}
		if lost != nil {
			lost(err)
		}
		return
	}
}

// validFor is how long the lease stays Valid without another renewal.
func (l *Lease) validFor() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.validUntilLocked().Sub(l.opts.Now())
}

// renewBounded renews with a deadline at the moment the lease stops being
// Valid, so a hanging storage call cannot outlive it.
func (l *Lease) renewBounded(ctx context.Context) error {
	left := l.validFor()
	if left <= 0 {
		return l.Renew(ctx) // reports the lapse
	}
	rctx, cancel := context.WithTimeout(ctx, left)
	defer cancel()
	return l.Renew(rctx)
}

// usable returns an error wrapping ErrLost once the lease is lost or
// released.
func (l *Lease) usable() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.released:
		return fmt.Errorf("lease for %s: %w: it was released", l.name(), ErrLost)
	case l.lost:
		return fmt.Errorf("lease for %s: %w", l.name(), ErrLost)
	}
	return nil
}

func (l *Lease) isReleased() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.released
}

// lose marks the lease lost for good and says why.
func (l *Lease) lose(format string, args ...any) error {
	l.mu.Lock()
	l.lost = true
	l.mu.Unlock()
	return fmt.Errorf("lease for %s: %w: %s", l.name(), ErrLost, fmt.Sprintf(format, args...))
}

func (l *Lease) key() string { return l.def.LockKey(l.gen) }
