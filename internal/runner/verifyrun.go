package runner

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/config"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/metrics"
	"github.com/coffer-dev/coffer/internal/pipeline"
	"github.com/coffer-dev/coffer/internal/storage"
)

// Selection says which backups a scheduled verification reads: the newest
// Newest, or, with a Budget (bytes), backups in turn after Cursor until
// their stored bytes would exceed it (at least one).
type Selection struct {
	Newest int
	Budget int64
	Cursor string
}

// Select applies the selection to ms (oldest first) and returns the
// backups to read and the cursor the next rotating run continues after.
func (s Selection) Select(ms []*manifest.Manifest) ([]*manifest.Manifest, string) {
	if len(ms) == 0 {
		return nil, s.Cursor
	}
	if s.Budget <= 0 {
		n := max(s.Newest, 1)
		return ms[max(len(ms)-n, 0):], s.Cursor
	}
	start := 0
	for start < len(ms) && ms[start].ID <= s.Cursor {
		start++
	}
	if start == len(ms) {
		start = 0 // every backup has had its turn: begin again
	}
	var out []*manifest.Manifest
	var used int64
	for i := range ms {
		m := ms[(start+i)%len(ms)]
		size := storedSize(m)
		if len(out) > 0 && used+size > s.Budget {
			break
		}
		out = append(out, m)
		used += size
	}
	return out, out[len(out)-1].ID
}

func storedSize(m *manifest.Manifest) int64 {
	var n int64
	for _, t := range m.Targets {
		n += t.Size
	}
	return n
}

// Checked is what re-reading some backups found.
type Checked struct {
	Verified []string
	Bytes    int64
	Problems []catalog.ObjectProblem
}

// CheckBackups re-reads every object of the backups ms. With the age
// identity each object goes through the whole restore pipeline (stored
// and plain sizes and SHA-256, age authentication, zstd checksums);
// without it, where the storage encrypts, only the stored bytes' size and
// SHA-256 are checked, which is what bit rot changes. Each problem is
// logged naming backup and object.
func (r *Runner) CheckBackups(ctx context.Context, ms []*manifest.Manifest) (Checked, error) {
	var out Checked
	ids, err := r.cfg.Identities()
	storedOnly := errors.Is(err, config.ErrNoIdentity)
	if err != nil && !storedOnly {
		return out, err
	}
	ms = r.wholeManifests(ctx, ms, &out)
	if err := r.checkChunked(ctx, ms, ids, storedOnly, &out); err != nil {
		return out, err
	}
	for _, m := range ms {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		if m.FormatVersion == manifest.FormatChunked {
			out.Verified = append(out.Verified, m.ID) // checked above, each shared chunk once
			continue
		}
		for _, t := range m.Targets {
			var err error
			if storedOnly && m.Encryption != nil {
				err = r.checkStored(ctx, m, t)
			} else {
				err = r.read(ctx, m, t, ids, func(rd io.Reader) error { _, err := io.Copy(io.Discard, rd); return err })
			}
			out.Bytes += t.Size
			if err == nil {
				continue
			}
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			r.reportProblem(&out, m, t, err)
		}
		out.Verified = append(out.Verified, m.ID)
	}
	return out, nil
}

// checkStored reads one object and compares its size and SHA-256 with
// the manifest, without decrypting it.
func (r *Runner) checkStored(ctx context.Context, m *manifest.Manifest, t manifest.Target) error {
	rc, err := r.store.Get(ctx, t.Object)
	if err != nil {
		return fmt.Errorf("backup %s, target %q, object %s: %w", m.ID, t.Name, t.Object, err)
	}
	defer rc.Close()
	sums, err := pipeline.Digest(rc)
	if err != nil {
		return fmt.Errorf("backup %s, target %q, object %s: reading: %w", m.ID, t.Name, t.Object, err)
	}
	if sums.Size != t.Size || sums.SHA256 != t.SHA256 {
		return fmt.Errorf("backup %s, target %q, object %s: %w: stored size %d sha256 %s, manifest says %d %s",
			m.ID, t.Name, t.Object, pipeline.ErrIntegrity, sums.Size, sums.SHA256, t.Size, t.SHA256)
	}
	return nil
}

// wholeManifests reads again the listing summaries among ms, whose chunk
// lists were left out. A backup deleted since the listing (by retention)
// is left out; one whose manifest cannot be read now is a problem.
func (r *Runner) wholeManifests(ctx context.Context, ms []*manifest.Manifest, out *Checked) []*manifest.Manifest {
	whole := make([]*manifest.Manifest, 0, len(ms))
	for _, m := range ms {
		full, err := r.catalog.Full(ctx, m)
		switch {
		case err == nil:
			whole = append(whole, full)
		case errors.Is(err, storage.ErrNotFound) || ctx.Err() != nil:
		default:
			key := r.catalog.Definition.Backup(m.ID).ManifestKey()
			r.opts.Log.Error("verification could not read a manifest", "storage", r.From(), "backup", m.ID, "object", key, "error", err)
			out.Problems = append(out.Problems, catalog.ObjectProblem{Storage: r.From(), BackupID: m.ID, Target: "-",
				Object: key, Problem: metrics.ProblemCorrupt, Error: err.Error()})
		}
	}
	return whole
}
