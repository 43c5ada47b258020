package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coffer-dev/coffer/internal/lease"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// storageError marks a lease acquire that failed because storage did not
// answer, so readiness can say so rather than "no lease".
type storageError struct{ err error }

func (e *storageError) Error() string { return e.err.Error() }
func (e *storageError) Unwrap() error { return e.err }

// Ready: storage reachable and the lease held. Its errors are
// *runnerapi.NotReadyError, so GET /v1/readiness (and the definition's
// Ready condition) tells a storage that does not answer from a lease that
// another runner holds.
func (j *jobs) Ready(ctx context.Context) error {
	if err := j.d.leaseReady(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	// The failure records' directory: a listing that proves storage answers
	// without paging through every backup.
	cat := j.d.runner.Catalog()
	if _, err := cat.Store.List(ctx, cat.Definition.FailuresDir()); err != nil {
		return j.d.storageUnreachable(err)
	}
	return nil
}

// leaseReady is nil while this runner holds a valid lease; otherwise a
// *runnerapi.NotReadyError saying why not.
func (d *Daemon) leaseReady() error {
	d.leaseMu.Lock()
	defer d.leaseMu.Unlock()
	// The lease runs on real time: it is shared with other processes.
	if d.lease != nil && d.lease.Valid(time.Now()) {
		return nil
	}
	return d.whyNoLease(d.holder)
}

// whyNoLease classifies why (the last acquire's or loss's error) into a
// readiness reason. Only storage's Describe() and the lease's holder name
// appear: neither holds a secret.
func (d *Daemon) whyNoLease(why error) *runnerapi.NotReadyError {
	var held *lease.HeldError
	var unreachable *storageError
	switch {
	case errors.As(why, &held):
		return &runnerapi.NotReadyError{Reason: runnerapi.ReadinessLeaseHeld,
			Message: fmt.Sprintf("lease held by %s until %s", held.Holder, held.Until.UTC().Format(time.RFC3339))}
	case errors.As(why, &unreachable):
		return d.storageUnreachable(unreachable.err)
	case why != nil:
		return &runnerapi.NotReadyError{Reason: runnerapi.ReadinessLeaseNotHeld, Message: "not holding the lease: " + why.Error()}
	}
	return &runnerapi.NotReadyError{Reason: runnerapi.ReadinessLeaseNotHeld, Message: "not holding the lease"}
}

func (d *Daemon) storageUnreachable(err error) *runnerapi.NotReadyError {
	return &runnerapi.NotReadyError{Reason: runnerapi.ReadinessStorageUnreachable,
		Message: fmt.Sprintf("storage %s is not reachable: %v", d.runner.Catalog().Store.Describe(), err)}
}
