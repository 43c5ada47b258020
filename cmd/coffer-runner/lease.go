package main

import (
	"context"
	"time"

	"github.com/coffer-dev/coffer/internal/lease"
	"github.com/coffer-dev/coffer/internal/runner"
)

// holdLease takes the definition's single-writer lease for a one-shot
// command (backup, prune), so it never runs beside a daemon or another
// command on the same definition and storage. The returned func releases it.
func (g *globals) holdLease(ctx context.Context, r *runner.Runner) (func(), error) {
	c := r.Catalog()
	l, err := lease.Acquire(ctx, c.Store, c.Namespace, c.Definition, lease.Options{})
	if err != nil {
		return nil, err
	}
	kctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.KeepAlive(kctx, lease.DefaultTTL/3, func(error) {})
	}()
	return func() {
		stop()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
		}
	}, nil
}
