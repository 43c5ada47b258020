package chunked

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/storage"
)

// Marks is the set of chunks that committed backups reference: 32 bytes and
// a map entry per distinct chunk, whatever the number of backups.
type Marks map[[32]byte]struct{}

// Mark collects the chunks the manifests reference.
func Mark(ms []*manifest.Manifest) (Marks, error) {
	marks := Marks{}
	for _, m := range ms {
		if err := marks.Add(m); err != nil {
			return nil, err
		}
	}
	return marks, nil
}

// Add marks the chunks m references. A listing's summary has no chunk
// lists: marking from it would let the sweep delete its chunks.
func (marks Marks) Add(m *manifest.Manifest) error {
	if m.IsSummary() {
		return fmt.Errorf("marking the chunks of backup %s: %w", m.ID, manifest.ErrSummary)
	}
	for _, t := range m.Targets {
		for _, c := range t.Chunks {
			if h, ok := hashBytes(c.Hash); ok {
				marks[h] = struct{}{}
			}
		}
	}
	return nil
}

// SweepInput is what the chunk sweep decides from.
type SweepInput struct {
	Store      storage.Store
	Definition layout.Definition
	// Marks must come from a complete listing of the committed backups:
	// a manifest left out would have its chunks deleted.
	Marks Marks
	Now   time.Time
	// Grace: an unreferenced chunk younger than this is kept, because a
	// backup still running may have stored it and not committed yet. It
	// must exceed the longest backup.
	Grace  time.Duration
	DryRun bool
	// Deleted is told each chunk deleted (or, in a dry run, that would be).
	Deleted func(key string)
}

// Sweep removes the definition's chunks that no committed backup references
// and that were stored longer ago than the grace period, and returns how
// many it removed. The caller holds the definition's lease and runs no
// backup at the same time: a running backup reuses chunks it listed at its
// start, older than any grace period, that no manifest references yet
// (docs/retention.md). Memory is the marks and the names of the chunks to
// remove: the listing is walked, not held; nothing per backup.
func Sweep(ctx context.Context, in SweepInput) (int, error) {
	if in.Grace <= 0 {
		return 0, errors.New("chunk sweep without a grace period")
	}
	cutoff := in.Now.Add(-in.Grace)
	var doomed []string
	err := in.Store.Walk(ctx, in.Definition.ChunksDir(), func(o storage.Object) error {
		k := layout.Parse(o.Key)
		if k.Kind != layout.Chunk || k.Definition != in.Definition || !o.ModTime.Before(cutoff) {
			return nil
		}
		h, ok := hashBytes(k.Hash)
		if _, marked := in.Marks[h]; !ok || marked {
			return nil
		}
		doomed = append(doomed, o.Key)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("not sweeping chunks: listing %s: %w", in.Definition.ChunksDir(), err)
	}
	slices.Sort(doomed) // in key order, as listed; a restarted walk may name a chunk twice
	doomed = slices.Compact(doomed)
	var errs []error
	n := 0
	for _, key := range doomed {
		if !in.DryRun {
			if err := in.Store.Delete(ctx, key); err != nil {
				errs = append(errs, fmt.Errorf("sweeping chunk %s: %w", key, err))
				continue
			}
		}
		n++
		if in.Deleted != nil {
			in.Deleted(key)
		}
	}
	return n, errors.Join(errs...)
}
