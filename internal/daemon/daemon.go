// Package daemon is `coffer-runner run`: the long-running runner of one
// definition. It holds the definition's single-writer lease, takes backups on
// the cron schedule, applies retention after each committed backup, serves
// the HTTP API and metrics, and shuts down without committing anything half
// done.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coffer-dev/coffer/internal/engine/all"
	"github.com/coffer-dev/coffer/internal/engine/volume"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/config"
	"github.com/coffer-dev/coffer/internal/lease"
	"github.com/coffer-dev/coffer/internal/metrics"
	"github.com/coffer-dev/coffer/internal/pushendpoint"
	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/runnerapi"
	"github.com/coffer-dev/coffer/internal/scheduler"
)

// Options configure the daemon; zero values get defaults.
type Options struct {
	Version string
	Log     *slog.Logger
	// Clock drives the schedule; nil means the real clock.
	Clock scheduler.Clock
	// Listen is the API address, e.g. ":8080" (in a pod) or "127.0.0.1:8080".
	Listen string
	// Listener, when set, is used instead of Listen (tests: a port the
	// kernel picked, with no race for a "free" one).
	Listener net.Listener
	// Token authorizes /v1 requests (from the config's API Secret).
	Token string
	// LeaseTTL: another runner may take over this long after the last renewal.
	LeaseTTL time.Duration
	// OrphanGrace: objects without a manifest older than this are swept.
	OrphanGrace time.Duration
	// ShutdownTimeout bounds the abort and cleanup that follow the drain:
	// the process exits at the latest DrainTimeout + ShutdownTimeout after
	// Stop (cmd/coffer-runner enforces it).
	ShutdownTimeout time.Duration
	// Stop, when closed, asks for a graceful stop: no new backup or restore
	// is started, the one in flight gets DrainTimeout to finish (then it is
	// aborted), and Run returns once it has ended and the lease is released.
	// Cancelling Run's ctx instead aborts the work in flight at once.
	Stop <-chan struct{}
	// DrainTimeout: see Stop. Zero aborts at once.
	DrainTimeout time.Duration
	// InFlightWindow: retention deletes nothing younger (see retention.Policy).
	InFlightWindow time.Duration
	// AdvertiseURL is how push sources (CockroachDB, reader pods) reach this
	// runner, e.g. http://runner-shop-db.coffer-system.svc:8080.
	AdvertiseURL string
	// VolumeWait bounds the wait for a volume's reader pod.
	VolumeWait time.Duration

	// afterScheduledJob, in tests, learns that a scheduled backup and its
	// retention are done.
	afterScheduledJob func()
	// Registry for metrics; nil means a new one.
	Registry *prometheus.Registry
}

// Daemon is one running runner.
type Daemon struct {
	cfg     *config.Config
	opts    Options
	log     *slog.Logger
	runner  *runner.Runner
	metrics *metrics.Metrics
	jobs    *jobs
	// offsite reads the storage's offsite copy (nil without one);
	// proving runs the copy, verification and restore tests.
	offsite  *runner.Runner
	proving  *proving
	pmetrics *metrics.Proving
	// push serves push sources beside the API; nil when no target needs it.
	push *pushendpoint.Endpoint
	// volumes lists volume targets waiting for reader pods; nil without push.
	volumes *volume.Service
	// ctx is the daemon's lifetime: background jobs run under it.
	ctx context.Context

	leaseMu   sync.Mutex
	lease     *lease.Lease
	holder    error           // why the lease is not held, for /readyz
	leaderCtx context.Context // cancelled when the lease is lost
}

// Run runs the daemon until ctx is done.
func Run(ctx context.Context, cfg *config.Config, opts Options) error {
	d, err := newDaemon(ctx, cfg, opts)
	if err != nil {
		return err
	}
	defer d.runner.Close()
	if d.offsite != nil {
		defer d.offsite.Close()
	}
	return d.run(ctx)
}

func newDaemon(ctx context.Context, cfg *config.Config, opts Options) (*Daemon, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = scheduler.RealClock{}
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = lease.DefaultTTL
	}
	if opts.OrphanGrace <= 0 {
		opts.OrphanGrace = runner.DefaultOrphanGrace
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 25 * time.Second
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Token == "" {
		return nil, errors.New("the API needs a bearer token: add a Secret named " + runnerapi.TokenSecret + " with key " + runnerapi.TokenKey + " to the config")
	}
	push, err := pushEndpoint(cfg, opts.AdvertiseURL, opts.Log)
	if err != nil {
		return nil, err
	}
	var vols *volume.Service
	if push != nil {
		vols = volume.NewService(push, opts.VolumeWait)
	}
	// Cockroach targets get the daemon's push endpoint, so their sessions
	// live on the runner's port, and claim-backed targets the volume engine.
	r, err := runner.New(ctx, cfg, runner.Options{Version: opts.Version, Log: opts.Log, Now: opts.Clock.Now, RecordFailures: true,
		Engine: all.With(all.Services{Log: opts.Log, Push: push, Volumes: vols})})
	if err != nil {
		return nil, err
	}
	d := &Daemon{cfg: cfg, opts: opts, runner: r, push: push, volumes: vols, holder: errors.New("lease not acquired yet"),
		log:      opts.Log.With("namespace", cfg.Namespace(), "definition", cfg.Name()),
		metrics:  metrics.New(opts.Registry, cfg.Namespace(), cfg.Name()),
		pmetrics: metrics.NewProving(opts.Registry, cfg.Namespace(), cfg.Name(), opts.Clock.Now)}
	d.jobs = newJobs(d)
	if r.HasOffsite() {
		if d.offsite, err = runner.New(ctx, cfg, runner.Options{Version: opts.Version, Log: opts.Log, Now: opts.Clock.Now,
			From: v1alpha1.FromOffsite, Engine: all.With(all.Services{Log: opts.Log, Push: push, Volumes: vols})}); err != nil {
			r.Close()
			return nil, err
		}
	}
	d.proving = newProving(d)
	return d, nil
}

func (d *Daemon) now() time.Time { return d.opts.Clock.Now().UTC() }

// run serves the API until the work has ended: a graceful stop keeps it
// answering while the job in flight drains, so its outcome can be read.
func (d *Daemon) run(ctx context.Context) error {
	work, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	d.ctx = work
	accept, stopAccepting := context.WithCancel(work)
	defer stopAccepting()
	go d.drainOnStop(work, stopAccepting, abort)

	serveCtx, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServing()
	handler := withPush(runnerapi.NewHandler(d.jobs, d.opts.Token, d.metrics.Handler(), d.log), d.push)
	var wg sync.WaitGroup
	serveErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if d.opts.Listener != nil {
			serveErr <- runnerapi.ServeListener(serveCtx, d.opts.Listener, handler, d.log)
			return
		}
		serveErr <- runnerapi.Serve(serveCtx, d.opts.Listen, handler, d.log)
	}()

	if ms, _ := d.runner.Catalog().List(ctx); len(ms) > 0 {
		d.metrics.SeedLastSuccess(ms[len(ms)-1])
	}
	d.log.Info("runner started", "listen", d.opts.Listen, "schedule", d.cfg.Definition.Spec.Schedule, "suspended", d.cfg.Definition.Spec.Suspend)
	err := d.leadAndSchedule(accept)
	d.jobs.wg.Wait()
	stopServing()
	wg.Wait()
	if serr := <-serveErr; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	d.log.Info("runner stopped")
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// leadAndSchedule waits for the lease, then runs the schedule while it is
// held and ctx (accepting work) lasts. Jobs run under the leader context,
// which is cancelled only by losing the lease or an abort (d.ctx): a graceful
// stop ends the schedule, not the job in flight. The lease is released only
// after the jobs have stopped, so a successor never overlaps with them.
func (d *Daemon) leadAndSchedule(ctx context.Context) error {
	for ctx.Err() == nil {
		l, err := d.acquire(ctx)
		if err != nil {
			return err
		}
		leaderCtx, stopLeading := context.WithCancelCause(d.ctx)
		// Whoever held the lease before is gone: its restores are over.
		d.tidyRestores(leaderCtx)
		d.setLease(l, nil, leaderCtx)
		keepCtx, stopKeeping := context.WithCancel(context.WithoutCancel(ctx))
		kept := make(chan struct{})
		go func() {
			defer close(kept)
			l.KeepAlive(keepCtx, d.opts.LeaseTTL/3, func(err error) {
				d.log.Error("lease lost: stopping backups and restores", "error", err)
				d.setLease(nil, err, nil)
				stopLeading(fmt.Errorf("this runner lost its lease: %w", err))
			})
		}()
		schedCtx, stopSchedule := context.WithCancel(leaderCtx)
		stopOnStop := context.AfterFunc(ctx, stopSchedule)
		d.proving.start(schedCtx)
		d.schedule(schedCtx, leaderCtx)
		stopOnStop()
		stopSchedule()
		d.proving.wait()
		d.jobs.wg.Wait()
		stopLeading(nil)
		// Readiness keeps saying why the lease went until the next acquire
		// says more; "stopping" only when the runner is.
		why := errors.New("runner stopping")
		if cause := context.Cause(leaderCtx); ctx.Err() == nil && !errors.Is(cause, context.Canceled) {
			why = cause
		}
		d.setLease(nil, why, nil)
		stopKeeping() // KeepAlive releases the lease as it returns
		<-kept
	}
	return ctx.Err()
}

// acquire retries until the lease is won or ctx ends.
func (d *Daemon) acquire(ctx context.Context) (*lease.Lease, error) {
	for {
		l, err := lease.Acquire(ctx, d.runner.Catalog().Store, d.cfg.Namespace(), d.cfg.Name(), lease.Options{TTL: d.opts.LeaseTTL})
		if err == nil {
			d.log.Info("lease acquired", "holder", l.Holder())
			return l, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !errors.Is(err, lease.ErrHeld) {
			d.log.Error("cannot acquire the lease", "error", err)
			err = &storageError{err: err}
		} else {
			d.log.Warn("another runner holds the lease: not backing up", "error", err)
		}
		d.setLease(nil, err, nil)
		t := time.NewTimer(d.opts.LeaseTTL / 3)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func (d *Daemon) setLease(l *lease.Lease, why error, leaderCtx context.Context) {
	d.leaseMu.Lock()
	defer d.leaseMu.Unlock()
	d.lease, d.holder, d.leaderCtx = l, why, leaderCtx
	d.metrics.SetLeaseHeld(l != nil)
}

// leader returns the context jobs run under while the lease is held.
func (d *Daemon) leader() (context.Context, error) {
	if err := d.leaseReady(); err != nil {
		return nil, err
	}
	d.leaseMu.Lock()
	defer d.leaseMu.Unlock()
	return d.leaderCtx, nil
}
