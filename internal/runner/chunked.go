package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"filippo.io/age"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/chunked"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/metrics"
	"github.com/coffer-dev/coffer/internal/pipeline"
	"github.com/coffer-dev/coffer/internal/progress"
	"github.com/coffer-dev/coffer/internal/storage"
)

// chunkRun is one format 2 backup run's shared state: the dedup key and the
// chunks already stored, listed once at the start for every target.
type chunkRun struct {
	key   *chunked.Key
	known *chunked.Known
}

// startChunkRun lists the chunks a format 2 run can reuse; nil when the
// storage writes format 1.
func (r *Runner) startChunkRun(ctx context.Context, encrypted bool) (*chunkRun, error) {
	key, err := r.cfg.DedupKey()
	if err != nil || key == nil {
		return nil, err
	}
	known, err := chunked.ListKnown(ctx, r.store, r.catalog.Definition, encrypted)
	if err != nil {
		return nil, err
	}
	return &chunkRun{key: key, known: known}, nil
}

// backupChunked stores one target as chunks and fills rec's sizes.
// Stored bytes counted in tp are the chunks uploaded, not those reused.
func (r *Runner) backupChunked(ctx context.Context, run *chunkRun, t engine.Target, eng engine.Engine, popts pipeline.Options, rec *manifest.Target, tp *progress.Target) (engine.Result, error) {
	var res engine.Result
	var counter engine.ArchiveCounter // the archive's entries, as format 1 records them
	opts := chunked.Options{Key: run.key, Recipients: popts.Recipients, Level: popts.Level}
	out, err := chunked.Backup(ctx, countStored(r.store, tp), r.catalog.Definition, run.known, opts, func(ctx context.Context, w io.Writer) error {
		w = tp.PlainWriter(w)
		if c, ok := eng.(engine.Counting); ok {
			counter = c.NewCounter()
			w = io.MultiWriter(w, counter)
		}
		var err error
		res, err = eng.Backup(ctx, t, w)
		return err
	})
	if err != nil {
		if counter != nil {
			counter.Abort()
		}
		return res, err
	}
	if counter != nil {
		rec.Contents = finishCount(r.opts.Log.With("target", t.Name()), counter)
	}
	rec.Object = r.catalog.Definition.ChunksDir()
	rec.Chunks, rec.Size, rec.PlainSize = out.Chunks, out.Size, out.PlainSize
	rec.NewSize = out.NewBytes
	r.opts.Log.Info("target chunked", "target", t.Name(), "chunks", len(out.Chunks), "new_chunks", out.NewChunks, "new_stored_bytes", out.NewBytes)
	return res, nil
}

// confirmChunks lists the chunk directory again just before the commit and
// checks that every chunk the manifest names is there with its size: a
// sweep by a runner that took the lease over while this one still ran
// could have removed a chunk this run reused.
func (r *Runner) confirmChunks(ctx context.Context, m *manifest.Manifest) error {
	rd := r.chunkReader(nil, nil, m.Encryption != nil)
	chk, err := rd.CheckStored(ctx, m.Targets)
	if err != nil {
		return err
	}
	for _, bad := range chk.Bad {
		return fmt.Errorf("not committing: %w", bad)
	}
	return nil
}

// chunking is the manifest's record of how chunks are stored.
func (r *Runner) chunking(run *chunkRun, encrypted bool) *manifest.Chunking {
	return &manifest.Chunking{Chunker: chunked.ChunkerName, Hash: chunked.HashName, KeyID: run.key.ID(),
		MinSize: chunked.MinSize, NormalSize: chunked.NormalSize, MaxSize: chunked.MaxSize,
		Dir: r.catalog.Definition.ChunksDir(), Suffix: layout.ChunkSuffix(encrypted)}
}

// keyFor is the dedup key that named m's chunks, or nil when the storage
// has none or another one (the key was changed since): then chunks are
// checked by size, age and zstd, and a target by its plain SHA-256.
func (r *Runner) keyFor(m *manifest.Manifest) (*chunked.Key, error) {
	key, err := r.cfg.DedupKey()
	if err != nil || key == nil || m.Chunking == nil || key.ID() != m.Chunking.KeyID {
		return nil, err
	}
	named, ok := key.For(m.Chunking.Hash)
	if !ok {
		return nil, nil // named by a hash this coffer does not know: checked without names
	}
	return named, nil
}

func (r *Runner) chunkReader(ids []age.Identity, key *chunked.Key, encrypted bool) *chunked.Reader {
	return &chunked.Reader{Store: r.store, Definition: r.catalog.Definition, Encrypted: encrypted, Identities: ids, Key: key}
}

// readChunked streams a format 2 target in order. The dedup key, when the
// storage has one, also checks every chunk's name.
func (r *Runner) readChunked(ctx context.Context, store storage.Store, m *manifest.Manifest, t manifest.Target, ids []age.Identity, consume pipeline.ConsumeFunc) error {
	key, err := r.keyFor(m)
	if err != nil {
		return err
	}
	if m.IsSummary() {
		return fmt.Errorf("backup %s, target %q: %w", m.ID, t.Name, manifest.ErrSummary)
	}
	want := pipeline.Sums{PlainSize: t.PlainSize, PlainSHA256: t.PlainSHA256}
	rd := r.chunkReader(ids, key, m.Encryption != nil)
	rd.Store = store
	if err := rd.Read(ctx, t.Chunks, want, consume); err != nil {
		return fmt.Errorf("backup %s, target %q: %w", m.ID, t.Name, err)
	}
	return nil
}

// verifyChunked checks a format 2 backup reading each distinct chunk once.
// Each chunk's name is its keyed hash, so checking every chunk checks each
// target's stream; without the dedup key the targets are streamed instead,
// to check their plain SHA-256.
func (r *Runner) verifyChunked(ctx context.Context, m *manifest.Manifest, ids []age.Identity) ([]VerifyResult, error) {
	chk, checked, err := r.checkChunks(ctx, m, m.Targets, ids)
	if err != nil {
		return nil, err
	}
	var results []VerifyResult
	for _, t := range m.Targets {
		var err error
		if checked {
			err = firstBad(m, t, chk)
		} else {
			err = r.read(ctx, m, t, ids, func(rd io.Reader) error { _, err := io.Copy(io.Discard, rd); return err })
		}
		results = append(results, VerifyResult{Target: t.Name, Object: t.Object, Err: err})
	}
	return results, nil
}

// checkChunks checks targets of format 2 backup m chunk by chunk, each
// distinct chunk once however many targets share it, when the dedup key
// that named them is at hand: their names then cover each target's
// stream. Without it checked is false and nothing was read. The error is
// the key's or the context's; bad chunks are in chk.
func (r *Runner) checkChunks(ctx context.Context, m *manifest.Manifest, targets []manifest.Target, ids []age.Identity) (chk chunked.Checked, checked bool, err error) {
	key, err := r.keyFor(m)
	if err != nil || key == nil {
		return chk, false, err
	}
	if m.Encryption == nil {
		ids = nil
	}
	chk, err = r.chunkReader(ids, key, m.Encryption != nil).Check(ctx, targets)
	return chk, true, err
}

// firstBad is the first bad chunk of t, naming the backup and target.
func firstBad(m *manifest.Manifest, t manifest.Target, chk chunked.Checked) error {
	for i, c := range t.Chunks {
		if err := chk.Bad[c.Hash]; err != nil {
			return fmt.Errorf("backup %s, target %q, chunk %d of %d: %w", m.ID, t.Name, i+1, len(t.Chunks), err)
		}
	}
	return nil
}

// checkChunked re-reads the chunks of the format 2 backups among ms, each
// distinct chunk once however many backups share it, and reports a problem
// per backup and target with a bad chunk. storedOnly: no age identity, so
// only presence and stored sizes are checked (one listing).
func (r *Runner) checkChunked(ctx context.Context, ms []*manifest.Manifest, ids []age.Identity, storedOnly bool, out *Checked) error {
	type group struct {
		encrypted bool
		key       *chunked.Key // nil: checked without names
	}
	groups := map[group][]manifest.Target{}
	keys := map[string]*chunked.Key{} // one per chunk hash, so groups compare equal
	for _, m := range ms {
		if m.FormatVersion == manifest.FormatChunked {
			mk, err := r.keyFor(m)
			if err != nil {
				return err
			}
			if mk != nil {
				if k, ok := keys[mk.Hash()]; ok {
					mk = k
				} else {
					keys[mk.Hash()] = mk
				}
			}
			g := group{m.Encryption != nil, mk}
			groups[g] = append(groups[g], m.Targets...)
		}
	}
	bad := map[string]error{}
	for g, targets := range groups {
		enc := g.encrypted
		rd := r.chunkReader(ids, g.key, enc)
		var chk chunked.Checked
		var err error
		if storedOnly && enc {
			chk, err = rd.CheckStored(ctx, targets)
		} else {
			chk, err = rd.Check(ctx, targets)
		}
		if err != nil {
			return err
		}
		out.Bytes += chk.Bytes
		for h, e := range chk.Bad {
			bad[h] = e
		}
	}
	for _, m := range ms {
		if m.FormatVersion != manifest.FormatChunked {
			continue
		}
		for _, t := range m.Targets {
			if err := firstBad(m, t, chunked.Checked{Bad: bad}); err != nil {
				r.reportProblem(out, m, t, err)
			}
		}
	}
	return nil
}

// reportProblem logs and records one bad object (format 1) or target with a
// bad chunk (format 2).
func (r *Runner) reportProblem(out *Checked, m *manifest.Manifest, t manifest.Target, err error) {
	p := catalog.ObjectProblem{Storage: r.From(), BackupID: m.ID, Target: t.Name, Object: t.Object,
		Problem: metrics.ProblemCorrupt, Error: err.Error()}
	if errors.Is(err, storage.ErrNotFound) {
		p.Problem = metrics.ProblemMissing
	}
	r.opts.Log.Error("verification found a "+p.Problem+" object", "storage", p.Storage, "backup", m.ID,
		"target", t.Name, "object", t.Object, "error", err)
	out.Problems = append(out.Problems, p)
}

// sweepChunks removes the chunks no committed backup references, older than
// grace. It waits for this runner's backups to finish and keeps new ones
// from starting (chunkMu), and lists the backups again under that lock, so a
// backup committed a moment ago is marked. The caller holds the lease.
func (r *Runner) sweepChunks(ctx context.Context, dryRun bool, grace time.Duration, planned map[string]bool) ([]string, error) {
	r.chunkMu.Lock()
	defer r.chunkMu.Unlock()
	ms, err := r.catalog.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("not sweeping chunks: the listing of backups is incomplete: %w", err)
	}
	// One whole manifest at a time: the marks, not the chunk lists of every
	// backup, are what the sweep holds.
	marks := chunked.Marks{}
	for _, m := range ms {
		if dryRun && planned[m.ID] {
			continue
		}
		full, err := r.catalog.Full(ctx, m)
		if err == nil {
			err = marks.Add(full)
		}
		if err != nil {
			return nil, fmt.Errorf("not sweeping chunks: %w", err)
		}
	}
	var swept []string
	log := r.opts.Log.With("definition", r.catalog.Definition.String())
	_, err = chunked.Sweep(ctx, chunked.SweepInput{Store: r.store, Definition: r.catalog.Definition,
		Marks: marks, Now: r.opts.Now(), Grace: grace, DryRun: dryRun,
		Deleted: func(key string) {
			swept = append(swept, key)
			if !dryRun {
				log.Info("swept unreferenced chunk", "object", key)
			}
		}})
	return swept, err
}
