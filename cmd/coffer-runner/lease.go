package main

import (
	"context"
	"time"

	"github.com/coffer-dev/coffer/internal/lease"
	"github.com/coffer-dev/coffer/internal/runner"
)

// holdLease takes the definition's single-writer lease for a one-shot
// command (backup, prune, label), so it never runs beside a daemon or another
// command on the same definition and storage. The returned context is
// cancelled if the lease is lost; release lets it go.
func (g *globals) holdLease(ctx context.Context, r *runner.Runner) (context.Context, func(), error) {
	c := r.Catalog()
	ttl := g.leaseTTL
	if ttl <= 0 {
		ttl = lease.DefaultTTL
	}
	l, err := lease.Acquire(ctx, c.Store, c.Definition.Namespace, c.Definition.Name, lease.Options{TTL: ttl})
	if err != nil {
		return nil, nil, err
	}
	held, lost := context.WithCancelCause(ctx)
	keep, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.KeepAlive(keep, ttl/3, func(err error) { lost(err) })
	}()
	return held, func() {
		stop() // KeepAlive releases the lease as it returns
		select {
		case <-done:
		case <-time.After(15 * time.Second):
		}
		lost(nil)
	}, nil
}
