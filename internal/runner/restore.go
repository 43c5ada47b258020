package runner

import (
	"context"
	"fmt"
	"io"
	"time"

	"filippo.io/age"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/pipeline"
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
	// SkipVerify skips the full verification pass before restoring. Without
	// it a corrupt object is found before any database is touched.
	SkipVerify bool
}

// Restore restores a backup. The age identity and the backup's integrity are
// checked before the first database is touched.
func (r *Runner) Restore(ctx context.Context, req RestoreRequest) (*manifest.Manifest, error) {
	ids, err := r.cfg.Identities()
	if err != nil {
		return nil, err
	}
	m, err := r.catalog.Get(ctx, req.BackupID)
	if err != nil {
		return nil, err
	}
	plan, err := r.restorePlan(m, req)
	if err != nil {
		return nil, err
	}
	if !req.SkipVerify {
		for _, p := range plan {
			if err := r.read(ctx, m, p.rec, ids, func(rd io.Reader) error { _, err := io.Copy(io.Discard, rd); return err }); err != nil {
				return m, fmt.Errorf("not restoring: %w", err)
			}
		}
	}
	for _, p := range plan {
		start := r.opts.Now()
		dest := p.target.Spec
		err := r.read(ctx, m, p.rec, ids, func(rd io.Reader) error {
			return p.engine.Restore(ctx, p.target, rd, engine.RestoreOptions{IntoDatabase: req.IntoDatabase, IntoPath: req.IntoPath, Clean: req.Clean})
		})
		if err != nil {
			return m, fmt.Errorf("restoring target %q of backup %s: %w", p.rec.Name, m.ID, err)
		}
		r.opts.Log.Info("target restored", "backup", m.ID, "target", dest.Name, "into", req.IntoDatabase,
			"duration", r.opts.Now().Sub(start).Round(time.Millisecond))
	}
	return m, nil
}

type restoreStep struct {
	rec    manifest.Target
	target engine.Target
	engine engine.Engine
}

func (r *Runner) restorePlan(m *manifest.Manifest, req RestoreRequest) ([]restoreStep, error) {
	recs := m.Targets
	if req.Target != "" {
		rec, ok := m.Target(req.Target)
		if !ok {
			return nil, fmt.Errorf("backup %s has no target %q", m.ID, req.Target)
		}
		recs = []manifest.Target{rec}
	}
	if (req.IntoDatabase != "" || req.IntoPath != "") && len(recs) > 1 {
		return nil, fmt.Errorf("backup %s has %d targets: --into-database and --into-path need --target", m.ID, len(recs))
	}
	var plan []restoreStep
	for _, rec := range recs {
		t, ok := r.cfg.Target(rec.Name)
		if !ok {
			return nil, fmt.Errorf("target %q of backup %s is not in %s: the config says where to restore it", rec.Name, m.ID, r.cfg.Path)
		}
		eng, err := r.opts.Engine(t.Spec)
		if err != nil {
			return nil, fmt.Errorf("target %q: %w", rec.Name, err)
		}
		if eng.Name() != rec.Engine {
			return nil, fmt.Errorf("target %q was backed up with engine %s but the config now says %s", rec.Name, rec.Engine, eng.Name())
		}
		plan = append(plan, restoreStep{rec: rec, target: t, engine: eng})
	}
	return plan, nil
}

// read streams one target's object through the restore pipeline, naming the
// backup, target and object in any error.
func (r *Runner) read(ctx context.Context, m *manifest.Manifest, t manifest.Target, ids []age.Identity, consume pipeline.ConsumeFunc) error {
	want := pipeline.Sums{Size: t.Size, SHA256: t.SHA256, PlainSize: t.PlainSize, PlainSHA256: t.PlainSHA256}
	if m.Encryption == nil {
		ids = nil // stored in clear: the identity, if any, is not needed
	} else if len(ids) == 0 {
		return fmt.Errorf("backup %s is encrypted with age but the storage in %s has no encryption.identitySecretRef", m.ID, r.cfg.Path)
	}
	if err := pipeline.Read(ctx, r.store, t.Object, ids, want, consume); err != nil {
		return fmt.Errorf("backup %s, target %q, object %s: %w", m.ID, t.Name, t.Object, err)
	}
	return nil
}
