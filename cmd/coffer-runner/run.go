package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/config"
	"github.com/coffer-dev/coffer/internal/daemon"
	"github.com/coffer-dev/coffer/internal/lease"
	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

func newRunCommand(g *globals) *cobra.Command {
	opts := daemon.Options{Version: version}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run until SIGTERM: scheduled backups, retention, HTTP API and metrics",
		Long: `Run the runner daemon for the config's definition. It takes the definition's
single-writer lease in storage (a second runner waits), backs up on the cron
schedule (spec.schedule, spec.timeZone), applies retention after each committed
backup, and serves /healthz, /readyz, /metrics and the /v1 API (bearer token from
the Secret "coffer-api-token", key "token", in the config). suspend: true pauses
the schedule; the API keeps serving.

SIGTERM or SIGINT stops it gracefully: no new backup or restore starts, the one
in flight gets --drain-timeout to finish (then it is aborted and recorded
Failed), the lease is released, and the process exits. A second signal aborts
at once. The process exits at the latest --drain-timeout + --shutdown-timeout
after the first signal.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.configPath == "" {
				return usageError{errors.New("-f/--file is required: the config file to use")}
			}
			log, err := g.logger()
			if err != nil {
				return err
			}
			cfg, err := config.Load(g.configPath)
			if err != nil {
				return err
			}
			opts.Log = log
			if opts.Token, err = cfg.Secrets.Value(&v1alpha1.SecretKeySelector{Name: runnerapi.TokenSecret, Key: runnerapi.TokenKey}); err != nil {
				return fmt.Errorf("%s: the API token: %w", cfg.Path, err)
			}
			if !cmd.Flags().Changed("drain-timeout") {
				opts.DrainTimeout = cfg.Definition.Spec.Runner.EffectiveDrainTimeout()
			}
			stopped := cmd.Context() // done at the first signal
			opts.Stop = stopped.Done()
			ctx, abort := context.WithCancel(context.WithoutCancel(stopped))
			defer abort()
			go abortOnSecondSignal(stopped, ctx, abort, log)
			go exitAfterShutdownTimeout(stopped, opts.DrainTimeout+opts.ShutdownTimeout)
			return daemon.Run(ctx, cfg, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Listen, "listen", ":8080", "address of the HTTP API and metrics")
	f.DurationVar(&opts.LeaseTTL, "lease-ttl", lease.DefaultTTL, "how long the lease lasts without renewal before another runner may take over")
	f.DurationVar(&opts.OrphanGrace, "orphan-grace", runner.DefaultOrphanGrace, "age after which objects without a manifest are swept")
	f.StringVar(&opts.AdvertiseURL, "advertise-url", "", "how push sources (CockroachDB, volume reader pods) reach this runner, e.g. http://runner-ns-name.coffer-system.svc:8080")
	f.DurationVar(&opts.VolumeWait, "volume-wait", 0, "how long a volume backup waits for its reader pod (default 15m)")
	f.DurationVar(&opts.DrainTimeout, "drain-timeout", 0, "after SIGTERM, how long the backup or restore in flight may take to finish before it is aborted (default: the definition's spec.runner.drainTimeout, else 1h)")
	f.DurationVar(&opts.ShutdownTimeout, "shutdown-timeout", 25*time.Second, "after the drain, how long aborting work and releasing the lease may take before the process exits anyway")
	return cmd
}

// abortOnSecondSignal cancels the work at a second SIGTERM or SIGINT: a
// person pressing Ctrl-C twice does not want to wait for the drain.
func abortOnSecondSignal(stopped, running context.Context, abort context.CancelFunc, log *slog.Logger) {
	select {
	case <-stopped.Done():
	case <-running.Done():
		return
	}
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	select {
	case <-again:
		log.Warn("second signal: aborting the work in flight")
		abort()
	case <-running.Done():
	}
}

// exitAfterShutdownTimeout bounds shutdown: draining, aborting uploads and
// releasing the lease must fit in the pod's termination grace period.
func exitAfterShutdownTimeout(ctx context.Context, timeout time.Duration) {
	<-ctx.Done()
	time.Sleep(timeout)
	fmt.Fprintln(os.Stderr, "Error: shutdown took longer than", timeout)
	os.Exit(1)
}
