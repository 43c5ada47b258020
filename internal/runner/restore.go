package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/chunked"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/pipeline"
	"github.com/coffer-dev/coffer/internal/progress"
	"github.com/coffer-dev/coffer/internal/storage"
)

// VerifyResult is one target's verification.
type VerifyResult struct {
	Target string
	Object string
	Err    error
}

// Verify downloads, decrypts and decompresses every object of a backup and
// checks sizes and checksums against the manifest, touching no database.
func (r *Runner) Verify(ctx context.Context, id string) (*manifest.Manifest, []VerifyResult, error) {
	ids, err := r.cfg.Identities()
	if err != nil {
		return nil, nil, err
	}
	m, err := r.catalog.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	r.readingBackup(m)
	if m.FormatVersion == manifest.FormatChunked {
		results, err := r.verifyChunked(ctx, m, ids)
		return m, results, err
	}
	var results []VerifyResult
	for _, t := range m.Targets {
		err := r.read(ctx, m, t, ids, func(rd io.Reader) error {
			_, err := io.Copy(io.Discard, rd)
			return err
		})
		results = append(results, VerifyResult{Target: t.Name, Object: t.Object, Err: err})
	}
	return m, results, nil
}

// readingBackup tells Options.ReadingBackup, if set, that m is read.
func (r *Runner) readingBackup(m *manifest.Manifest) {
	if r.opts.ReadingBackup != nil {
		r.opts.ReadingBackup(m)
	}
}

// RestoreRequest says what to restore where.
type RestoreRequest struct {
	// BackupID or "latest".
	BackupID string
	// Target restores only this target; empty means every target.
	Target string
	// IntoDatabase restores into another database; needs a single target.
	IntoDatabase string
	// IntoPath restores into another directory or file (filesystem, etcd,
	// git engines); needs a single target.
	IntoPath string
	// Clean allows overwriting a database that has tables.
	Clean bool
	// IgnoreDatabaseProperties restores into an existing database whose
	// encoding or collation differ from the source's.
	IgnoreDatabaseProperties bool
	// SkipVerify skips the full verification pass before restoring into an
	// existing destination. Without it a corrupt object is found before
	// that destination is touched. A new database (engine.Creating) is
	// checked while it is restored, and dropped when anything fails, and a
	// format 2 backup restored all or nothing (engine.Atomic) is checked
	// as it streams and undone, with or without SkipVerify.
	SkipVerify bool
	// Kubernetes tunes the restore of kubernetes targets (namespace
	// mapping, filters, existing objects, dry run).
	Kubernetes *v1alpha1.KubernetesRestoreOptions
	// Progress, when set, counts each restored target's bytes (the daemon
	// shows it in its API). Targets restored into an existing destination
	// wait through its verification pass.
	Progress *progress.Set
}

// Restore restores a backup. The age identity is checked before the first
// database is touched. The backup's integrity is checked before an existing
// destination is touched (a full read of its object, or of each of its
// distinct chunks, first), or while it is restored where the restore is all
// or nothing, undone by a failed check (restoreatomic.go), and while
// a new database is restored: the database this restore created is dropped
// again when a check fails. Either way a corrupt backup leaves every
// destination as it was.
func (r *Runner) Restore(ctx context.Context, req RestoreRequest) (*manifest.Manifest, error) {
	if err := r.checkRequest(req); err != nil {
		return nil, err
	}
	ids, err := r.cfg.Identities()
	if err != nil {
		return nil, err
	}
	m, err := r.catalog.Get(ctx, req.BackupID)
	if err != nil {
		return nil, err
	}
	r.readingBackup(m)
	plan, err := r.restorePlan(m, req)
	if err != nil {
		return nil, err
	}
	r.findNewDatabases(ctx, plan, req)
	r.findAtomicRestores(m, plan, req)
	if !req.SkipVerify {
		for _, p := range plan {
			if p.newDB != "" || p.atomic {
				continue // checked while it is restored (restorenew.go, restoreatomic.go)
			}
			if err := r.verifyTarget(ctx, m, p, ids); err != nil {
				return m, err
			}
		}
	}
	// A target whose items partly failed does not stop the others.
	var partial []error
	for _, p := range plan {
		start := r.opts.Now()
		tp := req.Progress.Target(p.rec.Name)
		tp.Start(start)
		err := r.restoreTarget(ctx, m, p, ids, req, tp)
		tp.End(err)
		if errors.Is(err, engine.ErrPartiallyFailed) {
			partial = append(partial, fmt.Errorf("restoring target %q of backup %s: %w", p.rec.Name, m.ID, err))
			continue
		}
		if err != nil {
			return m, fmt.Errorf("restoring target %q of backup %s: %w", p.rec.Name, m.ID, err)
		}
		r.opts.Log.Info("target restored", "backup", m.ID, "target", p.target.Spec.Name, "into", req.destination(),
			"duration", r.opts.Now().Sub(start).Round(time.Millisecond))
	}
	return m, errors.Join(partial...)
}

// verifyTarget checks a target's object or chunks in full, before any
// database is touched: a format 2 target whose chunks the dedup key named
// chunk by chunk, each distinct chunk once (checkChunks); any other by
// streaming it. A format 2 target with a whole-stream SHA-256 (cut before
// FastCDC) is streamed too.
func (r *Runner) verifyTarget(ctx context.Context, m *manifest.Manifest, p restoreStep, ids []age.Identity) error {
	checked := false
	var err error
	if m.FormatVersion == manifest.FormatChunked && p.rec.PlainSHA256 == "" {
		var chk chunked.Checked
		if chk, checked, err = r.checkChunks(ctx, m, []manifest.Target{p.rec}, ids); checked && err == nil {
			err = firstBad(m, p.rec, chk)
		}
	}
	if !checked && err == nil {
		err = r.read(ctx, m, p.rec, ids, func(rd io.Reader) error { _, err := io.Copy(io.Discard, rd); return err })
	}
	if err != nil {
		return fmt.Errorf("not restoring: %w", err)
	}
	return nil
}

// restoreTarget streams one target into its engine: into a new database
// while checking its integrity (restoreNew); where the destination exists,
// all or nothing while checking it (p.atomic), or as verified before.
func (r *Runner) restoreTarget(ctx context.Context, m *manifest.Manifest, p restoreStep, ids []age.Identity, req RestoreRequest, tp *progress.Target) error {
	opts := req.engineOptions(p)
	store := countStored(r.store, tp)
	read := func(consume pipeline.ConsumeFunc) error { return r.readFrom(ctx, store, m, p.rec, ids, consume) }
	restore := func(opts engine.RestoreOptions) pipeline.ConsumeFunc {
		return func(rd io.Reader) error { return p.engine.Restore(ctx, p.target, tp.PlainReader(rd), opts) }
	}
	if p.newDB != "" {
		nd := newDatabase{engine: p.engine.(engine.Creating), target: p.target, name: p.newDB, source: p.rec.Database,
			staged: true, unfinished: p.unfinished}
		log := r.opts.Log.With("backup", m.ID, "target", p.rec.Name)
		_, err := r.restoreNew(ctx, log, nd, read, func(rd io.Reader, db string, many bool) error {
			created := opts
			created.IntoDatabase = db
			created.ManyTransactions = many
			created.NewDatabase = true
			created.IgnoreDatabaseProperties = true // created just now with the source's properties
			return restore(created)(rd)
		}, func() { tp.Start(time.Now()) })
		if !errors.Is(err, errNotNew) {
			return err
		}
		r.opts.Log.Info("the destination database was created by someone else meanwhile: restoring into it as into an existing one",
			"backup", m.ID, "target", p.rec.Name, "database", p.newDB)
		if !p.atomic && !req.SkipVerify {
			if err := r.verifyTarget(ctx, m, p, ids); err != nil {
				return err
			}
		}
	}
	if !p.atomic {
		return read(restore(opts))
	}
	r.opts.Log.Info("restoring all or nothing, checked as it streams: a failed check undoes it",
		"backup", m.ID, "target", p.rec.Name, "into", req.destination())
	err := read(restore(opts))
	switch {
	case errors.Is(err, engine.ErrInputAfterRestore):
		return fmt.Errorf("%w (the restore had committed: it holds only bytes checked before the engine read them)", err)
	case checkFailed(err):
		return fmt.Errorf("%w (the restore is all or nothing: the destination is as it was)", err)
	}
	return err
}

type restoreStep struct {
	rec    manifest.Target
	target engine.Target
	engine engine.Engine
	// newDB is the destination database when it did not exist as the
	// restore started and the engine can create it (engine.Creating), or
	// when an interrupted restore left it unfinished (unfinished).
	newDB      string
	unfinished bool
	// atomic: the engine restores all or nothing and every byte is checked
	// before it reaches the engine, so an existing destination is checked
	// while it is restored (restoreatomic.go).
	atomic bool
}

// engineOptions are the engine's options for restoring step p.
func (req RestoreRequest) engineOptions(p restoreStep) engine.RestoreOptions {
	return engine.RestoreOptions{
		IntoDatabase: req.IntoDatabase, IntoPath: req.IntoPath, Clean: req.Clean,
		Database: p.rec.Database, IgnoreDatabaseProperties: req.IgnoreDatabaseProperties,
		Kubernetes: req.Kubernetes,
	}
}

func (r *Runner) restorePlan(m *manifest.Manifest, req RestoreRequest) ([]restoreStep, error) {
	recs := m.Targets
	if req.Target != "" {
		rec, ok := m.Target(req.Target)
		if !ok {
			return nil, fmt.Errorf("%w: backup %s has no target %q (it has %s)", ErrRequest, m.ID, req.Target, targetNames(m))
		}
		recs = []manifest.Target{rec}
	}
	if kind, _ := req.override(); kind != "" && len(recs) > 1 {
		return nil, fmt.Errorf("%w: backup %s has %d targets: --into-%s needs --target", ErrRequest, m.ID, len(recs), kind)
	}
	var plan []restoreStep
	for _, rec := range recs {
		step, err := r.restoreStep(m, rec, req)
		if err != nil {
			return nil, err
		}
		plan = append(plan, step)
	}
	return plan, nil
}

// restoreStep pairs a recorded target with its engine and destination in
// the config, refusing what would restore into the wrong kind of place.
func (r *Runner) restoreStep(m *manifest.Manifest, rec manifest.Target, req RestoreRequest) (restoreStep, error) {
	t, ok := r.cfg.Target(rec.Name)
	if !ok {
		return restoreStep{}, fmt.Errorf("%w: target %q of backup %s is not in %s: the config says where to restore it", ErrRequest, rec.Name, m.ID, r.cfg.Path)
	}
	eng, err := r.opts.Engine(t.Spec)
	if err != nil {
		return restoreStep{}, fmt.Errorf("target %q: %w", rec.Name, err)
	}
	if eng.Name() != rec.Engine {
		return restoreStep{}, fmt.Errorf("%w: target %q was backed up with engine %s but the config now says %s", ErrRequest, rec.Name, rec.Engine, eng.Name())
	}
	if err := checkDestination(eng, rec.Name, req); err != nil {
		return restoreStep{}, err
	}
	if rec.Source != nil {
		if now := eng.Source(t); now.Kind != rec.Source.Kind {
			return restoreStep{}, fmt.Errorf("%w: target %q of backup %s was backed up from a %s (%s), but the config now restores it into a %s (%s): a backup is only restored into the kind of place it came from",
				ErrRequest, rec.Name, m.ID, rec.Source.Kind, rec.Source.Identity, now.Kind, now.Identity)
		}
	}
	return restoreStep{rec: rec, target: t, engine: eng}, nil
}

func targetNames(m *manifest.Manifest) string {
	names := make([]string, len(m.Targets))
	for i, t := range m.Targets {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// read streams one target's object through the restore pipeline, naming the
// backup, target and object in any error.
func (r *Runner) read(ctx context.Context, m *manifest.Manifest, t manifest.Target, ids []age.Identity, consume pipeline.ConsumeFunc) error {
	return r.readFrom(ctx, r.store, m, t, ids, consume)
}

// readFrom is read through store: r's own, or one that counts progress.
func (r *Runner) readFrom(ctx context.Context, store storage.Store, m *manifest.Manifest, t manifest.Target, ids []age.Identity, consume pipeline.ConsumeFunc) error {
	want := pipeline.Sums{Size: t.Size, SHA256: t.SHA256, PlainSize: t.PlainSize, PlainSHA256: t.PlainSHA256}
	if m.Encryption == nil {
		ids = nil // stored in clear: the identity, if any, is not needed
	} else if len(ids) == 0 {
		return fmt.Errorf("backup %s is encrypted with age but the storage in %s has no encryption.identitySecretRef", m.ID, r.cfg.Path)
	}
	if m.FormatVersion == manifest.FormatChunked {
		return r.readChunked(ctx, store, m, t, ids, consume)
	}
	if err := pipeline.Read(ctx, store, t.Object, ids, want, consume); err != nil {
		return fmt.Errorf("backup %s, target %q, object %s: %w", m.ID, t.Name, t.Object, err)
	}
	return nil
}
