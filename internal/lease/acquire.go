package lease

import (
	"context"
	"errors"
	"fmt"

	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/storage"
)

// maxAttempts bounds how often Acquire starts over when lock objects vanish
// while it reads them (a holder releasing, a winner cleaning up).
const maxAttempts = 5

// errRetry: what Acquire read is already out of date; start over.
var errRetry = errors.New("lock objects changed while reading them")

// Acquire takes the lease of namespace/definition in store, or returns a
// *HeldError (errors.Is ErrHeld) naming the runner that holds it.
//
// It reads the highest generation. None, or an expired one, is free: it
// creates the next generation with CreateExclusive, so of runners racing
// for it exactly one creates it, and the others get ErrHeld naming that
// winner. The winner then lists again and backs off if any other unexpired
// lock object exists, which covers a contender that acted on a listing made
// before a release or cleanup. Finally it deletes the older generations.
func Acquire(ctx context.Context, store storage.Store, namespace, definition string, o Options) (*Lease, error) {
	def := layout.Definition{Namespace: namespace, Name: definition}
	if err := def.Validate(); err != nil {
		return nil, fmt.Errorf("lease: %w", err)
	}
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	l := &Lease{store: store, def: def, opts: o}
	for range maxAttempts {
		err = l.try(ctx)
		if !errors.Is(err, errRetry) {
			break
		}
	}
	if errors.Is(err, errRetry) {
		return nil, fmt.Errorf("acquire lease for %s: %w %d times", l.name(), err, maxAttempts)
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

// try is one attempt of Acquire.
func (l *Lease) try(ctx context.Context) error {
	locks, err := listLocks(ctx, l.store, l.def)
	if err != nil {
		return fmt.Errorf("acquire lease for %s: %w", l.name(), err)
	}
	gen := uint64(1)
	if n := len(locks); n > 0 {
		top := locks[n-1]
		rec, err := l.read(ctx, top)
		if err != nil {
			return err
		}
		if l.opts.Now().Before(rec.ExpiresAt) {
			return l.held(rec)
		}
		gen = top.gen + 1
	}
	if err := l.create(ctx, gen); err != nil {
		return err
	}
	locks, err = l.verify(ctx)
	if err != nil {
		l.deleteOwn(ctx)
		return err
	}
	for _, o := range locks {
		if o.gen < l.gen {
			// Best effort: a leftover is harmless, and the next winner
			// tries again.
			_ = l.store.Delete(ctx, o.key)
		}
	}
	return nil
}

// create writes generation gen, or reports who beat us to it.
func (l *Lease) create(ctx context.Context, gen uint64) error {
	start := l.opts.Now()
	rec := record{Holder: l.opts.Holder, Generation: gen, AcquiredAt: start, RenewedAt: start, ExpiresAt: start.Add(l.opts.TTL)}
	key := l.def.LockKey(gen)
	err := l.store.CreateExclusive(ctx, key, rec.encode())
	if errors.Is(err, storage.ErrExists) {
		winner, err := l.read(ctx, lockObject{key: key, gen: gen, modTime: start})
		if err != nil {
			return err
		}
		if l.opts.Now().Before(winner.ExpiresAt) {
			return l.held(winner)
		}
		return errRetry // won and already expired: a crash; look again
	}
	if err != nil {
		return fmt.Errorf("acquire lease for %s: %w", l.name(), err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gen, l.acquiredAt, l.renewedAt = gen, start, start
	l.lost, l.released = false, false
	return nil
}

// verify lists the lock objects after our create and returns them, or an
// error if someone else holds an unexpired generation or we took so long
// that our own lease is no longer valid.
func (l *Lease) verify(ctx context.Context) ([]lockObject, error) {
	locks, err := listLocks(ctx, l.store, l.def)
	if err != nil {
		return nil, fmt.Errorf("acquire lease for %s: %w", l.name(), err)
	}
	for i := len(locks) - 1; i >= 0; i-- {
		o := locks[i]
		if o.gen == l.gen {
			continue
		}
		rec, err := l.read(ctx, o)
		if errors.Is(err, errRetry) && o.gen < l.gen {
			continue // an old generation, deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		if o.gen > l.gen || l.opts.Now().Before(rec.ExpiresAt) {
			return nil, l.held(rec)
		}
	}
	if !l.Valid(l.opts.Now()) {
		return nil, fmt.Errorf("acquire lease for %s: %w: taking it took longer than TTL − margin (%v)",
			l.name(), ErrLost, l.opts.TTL-l.opts.Margin)
	}
	return locks, nil
}

// deleteOwn removes our generation after backing off, so the runner we
// deferred to is not blocked by it.
func (l *Lease) deleteOwn(ctx context.Context) {
	_ = l.store.Delete(ctx, l.def.LockKey(l.gen))
	l.mu.Lock()
	l.released = true
	l.mu.Unlock()
}

// read reads o for Acquire: a vanished object means our view is stale.
func (l *Lease) read(ctx context.Context, o lockObject) (record, error) {
	rec, err := readRecord(ctx, l.store, o, l.opts.TTL)
	if errors.Is(err, storage.ErrNotFound) {
		return record{}, errRetry
	}
	if err != nil {
		return record{}, fmt.Errorf("acquire lease for %s: %w", l.name(), err)
	}
	return rec, nil
}

func (l *Lease) held(rec record) *HeldError {
	return &HeldError{Namespace: l.def.Namespace, Definition: l.def.Name,
		Holder: rec.Holder, Generation: rec.Generation, Until: rec.ExpiresAt}
}
