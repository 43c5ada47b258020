package daemon

import (
	"context"
	"sync"
	"time"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// proving runs, while this runner holds the lease, what proves the
// definition's backups (docs/offsite.md, docs/proving.md): the offsite
// copy after every backup and on a retry timer, and the verification and
// restore test schedules. Each runs in a goroutine of its own beside the
// backups; a stop or a lost lease cancels them at once (a copy is never
// half visible, a verification only reads, and a restore test drops its
// scratch databases on a fresh context). It keeps what /v1/status shows.
type proving struct {
	d    *Daemon
	kick chan struct{} // asks the offsite loop for a run now
	wg   sync.WaitGroup

	mu          sync.Mutex
	offsite     *runnerapi.OffsiteStatus
	offsiteIDs  map[string]bool // backups the offsite copy held after the last run
	waitingIDs  map[string]bool // backups waiting for a copy after the last run
	verify      *runnerapi.VerifyStatus
	restoreTest *runnerapi.RestoreTestStatus
	// provenAt is, per backup, when a restore test last proved it.
	provenAt map[string]time.Time
}

// Record retention: the newest of each kind are kept.
const keepProvingRecords = 50

func newProving(d *Daemon) *proving {
	p := &proving{d: d, kick: make(chan struct{}, 1), provenAt: map[string]time.Time{}}
	if d.offsite != nil {
		p.offsite = &runnerapi.OffsiteStatus{Storage: d.offsite.Catalog().Store.Describe()}
	}
	if d.cfg.Definition.Spec.Verify != nil {
		p.verify = &runnerapi.VerifyStatus{}
	}
	if d.cfg.Definition.Spec.RestoreTest != nil {
		p.restoreTest = &runnerapi.RestoreTestStatus{}
	}
	return p
}

// start runs the loops the definition asks for under ctx; wait returns
// once they have all stopped.
func (p *proving) start(ctx context.Context) {
	run := func(f func(context.Context)) {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			f(ctx)
		}()
	}
	if p.offsite != nil {
		run(p.offsiteLoop)
	}
	if p.verify != nil {
		run(p.verifyLoop)
	}
	if p.restoreTest != nil {
		run(p.restoreTestLoop)
	}
}

func (p *proving) wait() { p.wg.Wait() }

// kickOffsite asks for an offsite run now (after a committed backup).
func (p *proving) kickOffsite() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Status is GET /v1/status.
func (p *proving) Status(context.Context) (runnerapi.RunnerStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var st runnerapi.RunnerStatus
	if p.offsite != nil {
		o := *p.offsite
		st.Offsite = &o
	}
	if p.verify != nil {
		v := *p.verify
		st.Verify = &v
	}
	if p.restoreTest != nil {
		r := *p.restoreTest
		st.RestoreTest = &r
	}
	return st, nil
}

// annotate adds what the proving loops know about a backup to its API
// record.
func (p *proving) annotate(b *runnerapi.Backup) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.offsiteIDs[b.ID]:
		b.Offsite = runnerapi.OffsiteCopied
	case p.waitingIDs[b.ID]:
		b.Offsite = runnerapi.OffsiteWaiting
	}
	b.ProvenRestorableTime = p.provenAt[b.ID]
}

// sleep waits d on the daemon's clock; false when ctx ended first. A kick
// channel, when given, ends the wait early.
func (p *proving) sleep(ctx context.Context, d time.Duration, kick <-chan struct{}) bool {
	t := p.d.opts.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-kick:
	case <-t.C():
	}
	return true
}

func apiProblems(ps []catalog.ObjectProblem) []runnerapi.ObjectProblem {
	out := make([]runnerapi.ObjectProblem, 0, len(ps))
	for _, q := range ps {
		out = append(out, runnerapi.ObjectProblem(q))
	}
	return out
}
