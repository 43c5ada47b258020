package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// errStopping refuses new work while the daemon drains; the API answers it
// like a busy runner (409), so callers retry against the next runner.
var errStopping error = stoppingError{}

type stoppingError struct{}

func (stoppingError) Error() string {
	return "the runner is stopping: it takes no new backup or restore"
}

func (stoppingError) Is(target error) bool { return target == runnerapi.ErrBusy }

// drainOnStop turns Options.Stop into a graceful stop: new work is refused
// and the schedule ends at once; the job in flight keeps running until it
// ends or the drain timeout passes, and then abort cancels it with a cause
// that its failure record will carry. It returns when work ends.
func (d *Daemon) drainOnStop(work context.Context, stopAccepting func(), abort context.CancelCauseFunc) {
	select {
	case <-work.Done():
		return
	case <-d.opts.Stop:
	}
	running := d.jobs.stop()
	stopAccepting()
	if running {
		d.log.Info("stopping: no new work; waiting for the backup or restore in flight", "drainTimeout", d.opts.DrainTimeout)
	}
	t := time.NewTimer(d.opts.DrainTimeout)
	defer t.Stop()
	select {
	case <-work.Done():
	case <-t.C:
		if running {
			d.log.Warn("drain timeout passed: aborting the backup or restore in flight", "drainTimeout", d.opts.DrainTimeout)
		}
		abort(fmt.Errorf("aborted: the runner was stopping and this did not finish within its drain timeout (%v, spec.runner.drainTimeout)", d.opts.DrainTimeout))
	}
}
