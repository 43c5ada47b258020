// Package runner carries out Coffer's jobs for one definition: take a backup
// set, list, verify and restore. It is driven by the coffer-runner commands
// and by the daemon (internal/daemon); it owns no schedule and no flags.
package runner

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/config"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/all"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/pipeline"
	"github.com/coffer-dev/coffer/internal/storage"
)

// Options are what the caller injects.
type Options struct {
	// Version of coffer, recorded in manifests.
	Version string
	// Log receives progress; secrets are never logged.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Engine picks the engine of a target; nil means the registry's, logging to Log.
	Engine func(v1alpha1.Target) (engine.Engine, error)
	// Pipeline tunes compression.
	Pipeline pipeline.Options
	// RecordFailures writes a failure record for each failed set (daemon
	// mode, where retention keeps the newest few); single backups do not.
	RecordFailures bool
}

// Runner runs jobs for the definition of one config.
type Runner struct {
	cfg     *config.Config
	store   storage.Store
	catalog catalog.Catalog
	opts    Options
	// writeMu makes labelling and pruning exclude each other.
	writeMu sync.Mutex
}

// New opens the config's storage.
func New(ctx context.Context, cfg *config.Config, opts Options) (*Runner, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Engine == nil {
		// Engines log (per-object restore results, skipped files) where the runner does.
		opts.Engine = all.With(all.Services{Log: opts.Log})
	}
	sc, err := cfg.StorageConfig()
	if err != nil {
		return nil, err
	}
	store, err := storage.Open(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("opening storage %q: %w", cfg.Storage.Name, err)
	}
	return &Runner{
		cfg:     cfg,
		store:   store,
		catalog: catalog.Catalog{Store: store, Definition: layout.Definition{Namespace: cfg.Namespace(), Name: cfg.Name()}, Cache: catalog.NewCache()},
		opts:    opts,
	}, nil
}

// Close releases the storage.
func (r *Runner) Close() error { return r.store.Close() }

// Catalog is the definition's backups.
func (r *Runner) Catalog() catalog.Catalog { return r.catalog }
