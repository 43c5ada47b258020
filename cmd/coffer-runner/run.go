package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/config"
	"github.com/coffer-dev/coffer/internal/daemon"
	"github.com/coffer-dev/coffer/internal/lease"
	"github.com/coffer-dev/coffer/internal/runner"
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
the schedule; the API keeps serving.`,
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
			if opts.Token, err = cfg.Secrets.Value(&v1alpha1.SecretKeySelector{Name: daemon.APITokenSecret, Key: "token"}); err != nil {
				return fmt.Errorf("%s: the API token: %w", cfg.Path, err)
			}
			ctx := cmd.Context()
			go exitAfterShutdownTimeout(ctx, opts.ShutdownTimeout)
			return daemon.Run(ctx, cfg, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Listen, "listen", ":8080", "address of the HTTP API and metrics")
	f.DurationVar(&opts.LeaseTTL, "lease-ttl", lease.DefaultTTL, "how long the lease lasts without renewal before another runner may take over")
	f.DurationVar(&opts.OrphanGrace, "orphan-grace", runner.DefaultOrphanGrace, "age after which objects without a manifest are swept")
	f.StringVar(&opts.AdvertiseURL, "advertise-url", "", "how push sources (CockroachDB, volume reader pods) reach this runner, e.g. http://runner-ns-name.coffer-system.svc:8080")
	f.DurationVar(&opts.VolumeWait, "volume-wait", 0, "how long a volume backup waits for its reader pod (default 15m)")
	f.DurationVar(&opts.ShutdownTimeout, "shutdown-timeout", 25*time.Second, "after SIGTERM, exit at the latest after this long")
	return cmd
}

// exitAfterShutdownTimeout bounds shutdown: aborting uploads and releasing the
// lease must fit in the pod's termination grace period.
func exitAfterShutdownTimeout(ctx context.Context, timeout time.Duration) {
	<-ctx.Done()
	time.Sleep(timeout)
	fmt.Fprintln(os.Stderr, "Error: shutdown took longer than", timeout)
	os.Exit(1)
}
