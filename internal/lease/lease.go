// Package lease is the single-writer lease of one backup definition, kept in
// the definition's own object storage so that two runners pointed at the same
// definition and storage never both back up or prune.
//
// It is built on storage.Store.CreateExclusive alone, because object stores
// offer no compare-and-swap. Every acquisition creates a new generation
// object (layout.Definition.LockKey), so nobody ever
// overwrites or deletes a lock someone else still holds: a holder rewrites
// only its own generation (Renew), the winner of a takeover deletes only
// generations older than its own, and a holder deletes its own on Release.
// The highest generation is the lease.
//
// Expiry is judged by wall clocks, so the lease is only as good as the
// clocks: runners must agree to well under Options.Margin. A holder fences
// itself: Valid turns false Margin before the lease expires unless a renewal
// succeeded, so a partitioned runner stops before anyone can take over.
// docs/lease.md describes the objects, timings, guarantees and limits.
package lease

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/storage"
)

// DefaultTTL is how long a lease lasts without renewal.
const DefaultTTL = 60 * time.Second

// ErrHeld: another runner holds the lease. Acquire returns a *HeldError,
// which wraps it.
var ErrHeld = errors.New("lease is held by another runner")

// ErrLost: the lease is no longer this holder's, or may not be. The holder
// must stop writing at once.
var ErrLost = errors.New("lease lost")

// Options tune a lease; zero values get defaults.
type Options struct {
	// TTL is how long the lease lasts after each renewal (default
	// DefaultTTL). Another runner may take over once it has passed.
	TTL time.Duration
	// Margin is how long before expiry the holder stops trusting an
	// unrenewed lease (default TTL/4). It must cover the clock skew between
	// runners and the time a renewal takes to reach storage.
	Margin time.Duration
	// Holder names this runner in lock objects and errors (default
	// hostname/pid/random). It must not hold secrets.
	Holder string
	// Now is the clock (default time.Now), injected by tests.
	Now func() time.Time
}

func (o Options) withDefaults() (Options, error) {
	if o.TTL == 0 {
		o.TTL = DefaultTTL
	}
	if o.TTL < 0 {
		return o, fmt.Errorf("lease TTL %v is negative", o.TTL)
	}
	if o.Margin == 0 {
		o.Margin = o.TTL / 4
	}
	if o.Margin < 0 || o.Margin >= o.TTL {
		return o, fmt.Errorf("lease margin %v must be positive and shorter than the TTL %v", o.Margin, o.TTL)
	}
	if o.Holder == "" {
		o.Holder = defaultHolder()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// defaultHolder is hostname/pid/random: the pod (or machine) and process for
// people reading it, the random part so that a restarted pod, which often
// has the same pid, is still someone else.
func defaultHolder() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// HeldError says who holds the lease and until when.
type HeldError struct {
	Namespace, Definition string
	Holder                string
	Generation            uint64
	// Until is when the lease expires unless renewed.
	Until time.Time
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("lease for %s/%s is held by %s until %s",
		e.Namespace, e.Definition, e.Holder, e.Until.UTC().Format(time.RFC3339))
}

// Unwrap makes errors.Is(err, ErrHeld) true.
func (e *HeldError) Unwrap() error { return ErrHeld }

// Lease is one held generation of a definition's lease. Its methods are safe
// for concurrent use.
type Lease struct {
	store      storage.Store
	def        layout.Definition
	opts       Options
	gen        uint64
	acquiredAt time.Time

	// op serialises the storage operations of Renew and Release.
	op sync.Mutex

	mu sync.Mutex
	// renewedAt is when the last successful write of our lock object
	// started; the stored expiry is renewedAt + TTL.
	renewedAt time.Time
	lost      bool
	released  bool
}

// Holder names this lease's holder.
func (l *Lease) Holder() string { return l.opts.Holder }

// Generation is the number of this lease's lock object. It grows with every
// takeover; after a clean Release with no older objects left, numbering
// starts again at 1.
func (l *Lease) Generation() uint64 { return l.gen }

// Valid reports whether the holder may still act on the lease at now: it
// has not been lost or released, and the last successful renewal is less
// than TTL − Margin ago.
func (l *Lease) Valid(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.lost && !l.released && now.Before(l.validUntilLocked())
}

// ExpiresAt is the expiry stored in the lock object: nobody else can take
// over before it.
func (l *Lease) ExpiresAt() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.renewedAt.Add(l.opts.TTL)
}

func (l *Lease) validUntilLocked() time.Time {
	return l.renewedAt.Add(l.opts.TTL - l.opts.Margin)
}

// name is namespace/definition, for messages.
func (l *Lease) name() string { return l.def.String() }
