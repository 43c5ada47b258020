// Package offsite copies committed backups from the primary storage to the
// offsite copy (docs/offsite.md). A copy is byte for byte: objects are
// already compressed and encrypted, so the offsite storage sees only what
// the primary holds, and the runner never decrypts. Each object's size and
// SHA-256 are checked against the manifest while it streams, and a stream
// that does not match is aborted before the object becomes visible; the
// manifest is copied last, so a backup exists offsite only once every
// object is there, and an interrupted copy is finished by the next run
// (objects already copied are kept) or swept as an orphan.
//
// Format 2 backups (chunked) are copied the same way, chunk by chunk
// (chunks.go): each chunk the offsite copy lacks is copied once, however
// many targets and backups share it, then the manifest.
package offsite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
)

// ErrMismatch marks an object whose bytes, as read from the primary, do
// not match the manifest: it is not copied.
var ErrMismatch = errors.New("object does not match its manifest")

// Copier copies one definition's backups from Src to Dst. Both catalogs
// must name the same definition; Dst is written only by the holder of the
// definition's lease on Src.
type Copier struct {
	Src, Dst catalog.Catalog
	Log      *slog.Logger
	// AfterObject, in tests, runs after each object or chunk is copied;
	// chunks are copied a few at a time, so it may run concurrently.
	AfterObject func(key string)
}

// BackupCopy is what copying one backup did.
type BackupCopy struct {
	ID string
	// Bytes were streamed; Reused objects were already offsite from an
	// interrupted copy and kept.
	Bytes  int64
	Reused int
	// Chunked: a format 2 backup. Chunks is how many chunks this copy
	// streamed; Reused counts those the offsite copy already held (from
	// other backups, or an interrupted copy).
	Chunked bool
	Chunks  int
}

// CopyBackup copies backup m: every object or chunk (those already
// offsite with the manifest's size are kept), then the manifest, byte for
// byte as the primary holds it.
func (c Copier) CopyBackup(ctx context.Context, m *manifest.Manifest) (BackupCopy, error) {
	return c.copyBackup(ctx, m, &run{})
}

// copyBackup copies m within a run, which lists the offsite chunks once
// for all its backups.
func (c Copier) copyBackup(ctx context.Context, m *manifest.Manifest, st *run) (BackupCopy, error) {
	res := BackupCopy{ID: m.ID}
	if c.Src.Definition != c.Dst.Definition {
		return res, fmt.Errorf("copying %s: source and destination definitions differ", m.ID)
	}
	b := c.Src.Definition.Backup(m.ID)
	switch m.FormatVersion {
	case manifest.FormatVersion:
	case manifest.FormatChunked:
		res.Chunked = true
		// A listing holds summaries: the chunk lists are read now, for
		// one backup at a time.
		whole, err := c.Src.Full(ctx, m)
		if err != nil {
			return res, fmt.Errorf("copying %s: %w", m.ID, err)
		}
		m = whole
		if err := c.copyChunks(ctx, m, st, &res); err != nil {
			return res, err
		}
		return res, c.copyManifest(ctx, b)
	default:
		return res, fmt.Errorf("backup %s: format version %d cannot be copied offsite by this coffer: upgrade coffer", m.ID, m.FormatVersion)
	}
	present, err := c.sizes(ctx, b)
	if err != nil {
		return res, err
	}
	for _, t := range m.Targets {
		if k := layout.Parse(t.Object); k.Kind != layout.Object || k.Backup() != b {
			return res, fmt.Errorf("backup %s, target %q: object %q is not a key of this backup: not copying", m.ID, t.Name, t.Object)
		}
		if size, ok := present[t.Object]; ok && size == t.Size {
			res.Reused++
			continue
		}
		n, err := c.stream(ctx, t.Object, t.Size, t.SHA256)
		res.Bytes += n
		if err != nil {
			return res, fmt.Errorf("backup %s, target %q: %w", m.ID, t.Name, err)
		}
		if c.AfterObject != nil {
			c.AfterObject(t.Object)
		}
	}
	if err := c.checkSizes(ctx, b, m); err != nil {
		return res, err
	}
	if err := c.copyManifest(ctx, b); err != nil {
		return res, err
	}
	return res, nil
}

// sizes lists what of backup b is already offsite.
func (c Copier) sizes(ctx context.Context, b layout.Backup) (map[string]int64, error) {
	objs, err := c.Dst.Store.List(ctx, b.Dir())
	if err != nil {
		return nil, fmt.Errorf("listing %s offsite in %s: %w", b.Dir(), c.Dst.Store.Describe(), err)
	}
	out := make(map[string]int64, len(objs))
	for _, o := range objs {
		out[o.Key] = o.Size
	}
	return out, nil
}

// checkSizes lists the copied objects once more: each must be offsite with
// the manifest's size before the manifest makes the copy exist.
func (c Copier) checkSizes(ctx context.Context, b layout.Backup, m *manifest.Manifest) error {
	present, err := c.sizes(ctx, b)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range m.Targets {
		size, ok := present[t.Object]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("backup %s: %s is missing offsite after copying it", m.ID, t.Object))
		case size != t.Size:
			errs = append(errs, fmt.Errorf("backup %s: %s is %d bytes offsite, the manifest says %d", m.ID, t.Object, size, t.Size))
		}
	}
	return errors.Join(errs...)
}

// stream copies one object from Src into Dst through a reader that fails
// the upload, before the object becomes visible, unless the bytes match
// the manifest's size and, when sha is set, SHA-256. A chunk has no
// SHA-256 in the manifest (its name is a keyed hash of its plain bytes,
// which only a reader with the dedup key and the age identity can check):
// its size is checked.
func (c Copier) stream(ctx context.Context, key string, size int64, sha string) (int64, error) {
	rc, err := c.Src.Store.Get(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("reading %s from %s: %w", key, c.Src.Store.Describe(), err)
	}
	defer rc.Close()
	v := &checked{r: rc, size: size, sha: sha, key: key}
	if sha != "" {
		v.h = sha256.New()
	}
	if err := c.Dst.Store.Put(ctx, key, v); err != nil {
		if v.err != nil {
			return v.n, v.err
		}
		return v.n, fmt.Errorf("writing %s to %s: %w", key, c.Dst.Store.Describe(), err)
	}
	if !v.done {
		// A store that stopped reading early would have stored a prefix.
		return v.n, fmt.Errorf("writing %s to %s: the store did not read the whole object", key, c.Dst.Store.Describe())
	}
	return v.n, nil
}

// copyManifest copies the manifest's bytes as the primary holds them,
// after checking they decode to this backup.
func (c Copier) copyManifest(ctx context.Context, b layout.Backup) error {
	key := b.ManifestKey()
	rc, err := c.Src.Store.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("reading %s: %w", key, err)
	}
	data, err := manifest.ReadAll(rc)
	rc.Close()
	if err != nil {
		return fmt.Errorf("reading %s: %w", key, err)
	}
	m, err := manifest.Decode(data)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if m.ID != b.ID {
		return fmt.Errorf("%s: manifest id %q does not match its directory", key, m.ID)
	}
	if err := c.Dst.Store.Put(ctx, key, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("writing %s to %s: %w", key, c.Dst.Store.Describe(), err)
	}
	return nil
}

// checked passes a stream through, counting and hashing it, and turns its
// end into an error when size or SHA-256 (if sha is set) differ from the
// manifest's, so the store aborts the upload instead of completing it.
type checked struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	size int64
	sha  string
	key  string
	err  error
	done bool
}

func (v *checked) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.n += int64(n)
	if v.h != nil {
		v.h.Write(p[:n])
	}
	if v.n > v.size {
		v.err = fmt.Errorf("%w: %s on the primary is longer than the manifest's %d bytes", ErrMismatch, v.key, v.size)
		return 0, v.err
	}
	if err == io.EOF {
		if v.err = v.atEnd(); v.err != nil {
			return 0, v.err
		}
		v.done = true
	}
	return n, err
}

// atEnd checks the whole stream against the manifest.
func (v *checked) atEnd() error {
	if v.h == nil {
		if v.n != v.size {
			return fmt.Errorf("%w: %s on the primary is %d bytes, the manifest says %d (verify the primary)", ErrMismatch, v.key, v.n, v.size)
		}
		return nil
	}
	if got := hex.EncodeToString(v.h.Sum(nil)); v.n != v.size || got != v.sha {
		return fmt.Errorf("%w: %s on the primary is %d bytes with sha256 %s, the manifest says %d bytes with sha256 %s (verify the primary)",
			ErrMismatch, v.key, v.n, got, v.size, v.sha)
	}
	return nil
}
