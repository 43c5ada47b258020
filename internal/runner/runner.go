// Package runner carries out Coffer's jobs for one definition: take a backup
// set, list, verify and restore. It is driven by the coffer-runner commands
// and by the daemon (internal/daemon); it owns no schedule and no flags.
package runner

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/config"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/all"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
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
	// From is the storage the runner reads and prunes: v1alpha1.FromPrimary
	// (or empty) or v1alpha1.FromOffsite, the storage's offsite copy.
	From string
	// ReadingBackup, when set, is told each backup Restore and Verify read,
	// once its whole manifest is in memory and before any object or chunk
	// is read: the one-shot commands size their memory limit by it.
	ReadingBackup func(*manifest.Manifest)
}

// Runner runs jobs for the definition of one config.
type Runner struct {
	cfg     *config.Config
	store   storage.Store
	catalog catalog.Catalog
	// offsite is the offsite copy, when the runner reads the primary and
	// the storage has one: what copies go to, and what retention of the
	// primary asks before deleting (offsite.go).
	offsite *catalog.Catalog
	opts    Options
	// writeMu makes labelling and pruning exclude each other.
	writeMu sync.Mutex
	// chunkMu: format 2 backups hold it shared, the chunk sweep exclusive,
	// so the sweep never runs while a backup may reuse a chunk no manifest
	// references yet (the lease excludes other processes).
	chunkMu sync.RWMutex
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
	def := layout.Definition{Namespace: cfg.Namespace(), Name: cfg.Name()}
	store, err := openStore(ctx, cfg, opts.From)
	if err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg, store: store, opts: opts,
		catalog: catalog.Catalog{Store: store, Definition: def, Cache: catalog.NewCache()}}
	if opts.From != v1alpha1.FromOffsite && cfg.HasOffsite() {
		off, err := openStore(ctx, cfg, v1alpha1.FromOffsite)
		if err != nil {
			store.Close()
			return nil, err
		}
		r.offsite = &catalog.Catalog{Store: off, Definition: def, Cache: catalog.NewCache()}
	}
	return r, nil
}

// Close releases the storage.
func (r *Runner) Close() error {
	err := r.store.Close()
	if r.offsite != nil {
		err = errors.Join(err, r.offsite.Store.Close())
	}
	return err
}

// Catalog is the definition's backups.
func (r *Runner) Catalog() catalog.Catalog { return r.catalog }
