package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/coffer-dev/coffer/internal/metrics"
	"github.com/coffer-dev/coffer/internal/offsite"
)

// Offsite runs: after each committed backup (kicked), and otherwise every
// offsiteRecheck; a failed run is retried after offsiteRetryMin, doubling
// up to offsiteRetryMax.
const (
	offsiteRecheck  = time.Hour
	offsiteRetryMin = time.Minute
	offsiteRetryMax = 30 * time.Minute
)

// offsiteLoop copies what the offsite copy lacks and applies its
// retention: once when the lease is won (catching up on what a stopped
// runner missed), then after every backup and on the timers above.
func (p *proving) offsiteLoop(ctx context.Context) {
	retry := offsiteRetryMin
	for ctx.Err() == nil {
		wait := offsiteRecheck
		if err := p.offsiteRun(ctx); err != nil && ctx.Err() == nil {
			wait, retry = retry, min(retry*2, offsiteRetryMax)
			p.setOffsiteRetry(p.d.now().Add(wait))
		} else {
			retry = offsiteRetryMin
		}
		if !p.sleep(ctx, wait, p.kick) {
			return
		}
	}
}

// offsiteRun is one copy and retention run.
func (p *proving) offsiteRun(ctx context.Context) error {
	d := p.d
	rep, err := d.runner.CopyOffsite(ctx, d.opts.InFlightWindow)
	if err != nil && ctx.Err() == nil {
		d.log.Error("offsite copy incomplete; retrying later", "copied", len(rep.Copied), "waiting", len(rep.Waiting), "error", err)
	}
	if errors.Is(err, offsite.ErrForeignOffsite) { // its retention would delete another primary's backups
		p.recordOffsite(ctx, rep, err)
		return err
	}
	prep, perr := d.offsite.Prune(ctx, false, d.opts.OrphanGrace, d.opts.InFlightWindow)
	if prep != nil && perr == nil {
		d.pmetrics.OffsiteRetentionDeleted(len(prep.Plan.Delete))
	}
	if perr != nil && ctx.Err() == nil {
		d.log.Error("offsite retention failed: nothing more deleted offsite", "error", perr)
	}
	err = errors.Join(err, perr)
	p.recordOffsite(ctx, rep, err)
	return err
}

// recordOffsite updates the metrics and the status after a run.
func (p *proving) recordOffsite(ctx context.Context, rep offsite.Report, err error) {
	run := metrics.OffsiteRun{End: p.d.now(), Copied: len(rep.Copied), Failed: rep.Failed, Bytes: rep.Bytes(),
		Waiting: len(rep.Waiting), OK: err == nil}
	waiting := map[string]bool{}
	var ids []string
	for _, m := range rep.Waiting {
		waiting[m.ID] = true
		ids = append(ids, m.ID)
		if run.OldestWaiting.IsZero() || m.EndTime.Before(run.OldestWaiting) {
			run.OldestWaiting = m.EndTime
		}
		if m.EndTime.After(run.NewestWaiting) {
			run.NewestWaiting = m.EndTime
		}
	}
	held, lerr := p.d.offsite.Catalog().List(ctx)
	there := map[string]bool{}
	for _, m := range held {
		there[m.ID] = true
	}
	run.Held = len(held)
	p.d.pmetrics.OffsiteRun(run)

	p.mu.Lock()
	defer p.mu.Unlock()
	if lerr == nil || len(held) > 0 {
		p.offsiteIDs = there
		p.offsite.Backups = len(held)
	}
	p.waitingIDs, p.offsite.Waiting = waiting, ids
	p.offsite.LastRunTime, p.offsite.Error, p.offsite.NextRetryTime = run.End, "", time.Time{}
	if err != nil {
		p.offsite.Error = err.Error()
	} else if len(ids) == 0 {
		p.offsite.LastSuccessTime = run.End
	}
}

func (p *proving) setOffsiteRetry(at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.offsite.NextRetryTime = at
}
