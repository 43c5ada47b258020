// Package catalog knows which of a definition's backups exist, and reads and
// writes the records beside them (failures.go, restores.go). Where each of
// them lives is internal/layout's; the catalog's rule is that a backup
// exists only if its manifest does.
package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/storage"
)

// Catalog is one definition's backups in one store.
type Catalog struct {
	Store      storage.Store
	Definition layout.Definition
	// Cache, when set, keeps listed manifests' summaries between listings:
	// a manifest is read again only when its size or modification time
	// changes, so a daemon listing 10,000 backups pays for the object
	// listing only.
	Cache *Cache
}

// Cache holds the summaries (manifest.Summary, without chunk lists) of
// listed manifests by key, so its memory does not grow with the size of
// the backups. Safe for concurrent use.
type Cache struct {
	mu      sync.Mutex
	entries map[string]cached
}

type cached struct {
	size    int64
	modTime time.Time
	m       *manifest.Manifest
}

// NewCache returns an empty manifest cache.
func NewCache() *Cache { return &Cache{entries: map[string]cached{}} }

func (c *Cache) get(o storage.Object) *manifest.Manifest {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[o.Key]
	if !ok || e.size != o.Size || !e.modTime.Equal(o.ModTime) {
		return nil
	}
	return e.m
}

func (c *Cache) put(o storage.Object, m *manifest.Manifest) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[o.Key] = cached{size: o.Size, modTime: o.ModTime, m: m}
}

// retain drops entries whose keys were not listed any more.
func (c *Cache) retain(listed map[string]bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.entries {
		if !listed[k] {
			delete(c.entries, k)
		}
	}
}

// Commit writes the manifest, making the backup exist.
func (c Catalog) Commit(ctx context.Context, m *manifest.Manifest) error {
	data, err := manifest.Encode(m)
	if err != nil {
		return err
	}
	if err := c.Store.Put(ctx, c.Definition.Backup(m.ID).ManifestKey(), bytes.NewReader(data)); err != nil {
		return fmt.Errorf("committing backup %s: %w", m.ID, err)
	}
	return nil
}

// ErrLatestUnreadable: the newest backup's manifest cannot be read, so
// "latest" cannot be resolved without guessing.
var ErrLatestUnreadable = errors.New("the newest backup cannot be used as latest")

// ErrNoBackup: no committed backup with that id (or none at all for "latest").
var ErrNoBackup = errors.New("no such backup")

// Get reads one committed backup's manifest; "latest" means the newest.
// "latest" never falls back: when the newest backup's manifest cannot be
// read, Get fails naming it, and an older backup must be chosen by id.
func (c Catalog) Get(ctx context.Context, id string) (*manifest.Manifest, error) {
	if id == "latest" {
		return c.latest(ctx)
	}
	if !layout.ValidID(id) {
		return nil, fmt.Errorf("%q is not a backup id (like 20261121T103000Z-k3f9) or \"latest\"", id)
	}
	m, err := c.read(ctx, c.Definition.Backup(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s in %s/%s", ErrNoBackup, id, c.Store.Describe(), c.Definition.Dir())
	}
	return m, err
}

func (c Catalog) latest(ctx context.Context) (*manifest.Manifest, error) {
	all, err := c.List(ctx)
	var newest *manifest.Manifest
	if len(all) > 0 {
		newest = all[len(all)-1]
	}
	// An unreadable backup of the same second as the newest readable one
	// may be the newer: ids order by second only, and its start time is in
	// the manifest that cannot be read.
	var bad *UnreadableError
	for _, u := range Unreadable(err) {
		if (newest == nil || layout.IDSecond(u.ID) >= layout.IDSecond(newest.ID)) && (bad == nil || u.ID > bad.ID) {
			bad = u
		}
	}
	switch {
	case bad != nil && newest != nil:
		return nil, fmt.Errorf("%w: %s: %w; not falling back to an older backup: choose one by id (--backup %s is the newest readable; see list)", ErrLatestUnreadable, bad.ID, bad, newest.ID)
	case bad != nil:
		return nil, fmt.Errorf("%w: %s: %w; no older backup is readable", ErrLatestUnreadable, bad.ID, bad)
	case newest == nil && err != nil:
		return nil, err
	case newest == nil:
		return nil, fmt.Errorf("%w: %s has no backups in %s", ErrNoBackup, c.Definition.Dir(), c.Store.Describe())
	}
	return c.Full(ctx, newest)
}

// Full returns the whole manifest of a listed backup: m itself unless it is
// a listing's summary, else the manifest read again. A backup deleted since
// the listing is an error wrapping storage.ErrNotFound.
func (c Catalog) Full(ctx context.Context, m *manifest.Manifest) (*manifest.Manifest, error) {
	if !m.IsSummary() {
		return m, nil
	}
	return c.read(ctx, c.Definition.Backup(m.ID))
}

// UnreadableError is a committed backup whose manifest could not be read
// (truncated, garbled, a newer format). List reports one per such backup.
type UnreadableError struct {
	// ID is the backup's id, from its directory name.
	ID  string
	Err error
}

func (e *UnreadableError) Error() string { return e.Err.Error() }
func (e *UnreadableError) Unwrap() error { return e.Err }

// Unreadable returns the unreadable backups an error of List reports.
func Unreadable(err error) []*UnreadableError {
	var out []*UnreadableError
	var walk func(error)
	walk = func(err error) {
		var u *UnreadableError
		switch x := err.(type) {
		case nil:
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				walk(e)
			}
		default:
			if errors.As(err, &u) {
				out = append(out, u)
			}
		}
	}
	walk(err)
	return out
}

// read reads backup b's manifest, which must name b: a manifest copied into
// another directory would otherwise make that directory a second backup.
func (c Catalog) read(ctx context.Context, b layout.Backup) (*manifest.Manifest, error) {
	key := b.ManifestKey()
	rc, err := c.Store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	defer rc.Close()
	data, err := manifest.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	m, err := manifest.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	if m.ID != b.ID {
		return nil, fmt.Errorf("%s: manifest id %q does not match its directory %q", key, m.ID, b.ID)
	}
	return m, nil
}

// listConcurrency bounds parallel manifest reads during List.
const listConcurrency = 16

// List returns the committed backups, oldest first, as summaries: without
// the chunk lists of format 2 targets (manifest.Summary). Whoever reads or
// checks chunks reads the backup in full (Get, Full). Manifests that cannot
// be read are skipped and reported in the error, so callers that must not
// act on a partial view (retention) can refuse to.
func (c Catalog) List(ctx context.Context) ([]*manifest.Manifest, error) {
	objs, err := c.BackupObjects(ctx)
	if err != nil {
		return nil, err
	}
	var found []storage.Object
	var backups []layout.Backup
	listed := map[string]bool{}
	for _, o := range objs {
		if k := layout.Parse(o.Key); k.Kind == layout.Manifest && k.Definition == c.Definition {
			found = append(found, o)
			backups = append(backups, k.Backup())
			listed[o.Key] = true
		}
	}
	c.Cache.retain(listed)
	out := make([]*manifest.Manifest, len(found))
	errs := make([]error, len(found))
	sem := make(chan struct{}, listConcurrency)
	var wg sync.WaitGroup
	for i, o := range found {
		if out[i] = c.Cache.get(o); out[i] != nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			m, err := c.read(ctx, backups[i])
			if errs[i] = err; err == nil {
				out[i] = m.Summary()
				c.Cache.put(o, out[i])
			} else {
				errs[i] = &UnreadableError{ID: backups[i].ID, Err: errs[i]}
			}
		}()
	}
	wg.Wait()
	ms := out[:0]
	for _, m := range out {
		if m != nil {
			ms = append(ms, m)
		}
	}
	// By start time: ids have one-second resolution, and two backups of one
	// second would otherwise sort by their random suffix.
	sort.Slice(ms, func(i, j int) bool {
		if !ms[i].StartTime.Equal(ms[j].StartTime) {
			return ms[i].StartTime.Before(ms[j].StartTime)
		}
		return ms[i].ID < ms[j].ID
	})
	return ms, errors.Join(errs...)
}

// BackupObjects lists the objects of the definition's backup directories,
// committed or not: the listing stops before the chunks and records beside
// them, the chunks being most of a deduplicated definition's objects (800
// per GB of dump).
func (c Catalog) BackupObjects(ctx context.Context) ([]storage.Object, error) {
	objs, err := c.Store.ListWhile(ctx, c.Definition.Dir(), c.Definition.BackupsMayFollow)
	if err != nil {
		return nil, fmt.Errorf("listing %s in %s: %w", c.Definition.Dir(), c.Store.Describe(), err)
	}
	return objs, nil
}

// DeleteBackup removes a backup: the manifest first, so that a crash half-way
// leaves objects without a manifest (swept later), never a manifest without
// objects.
func (c Catalog) DeleteBackup(ctx context.Context, id string) error {
	if !layout.ValidID(id) {
		return fmt.Errorf("not deleting %q: not a backup id", id)
	}
	if err := c.Store.Delete(ctx, c.Definition.Backup(id).ManifestKey()); err != nil {
		return fmt.Errorf("deleting manifest of %s: %w", id, err)
	}
	return c.DeleteObjects(ctx, id)
}

// DeleteObjects removes every object under a backup's directory, strays
// included: the directory is the backup's, whoever wrote into it.
// The id must be a backup id: any other name could list the directory of
// the records, or the whole definition.
func (c Catalog) DeleteObjects(ctx context.Context, id string) error {
	if !layout.ValidID(id) {
		return fmt.Errorf("not deleting the objects of %q: not a backup id", id)
	}
	objs, err := c.Store.List(ctx, c.Definition.Backup(id).Dir())
	if err != nil {
		return fmt.Errorf("listing objects of %s: %w", id, err)
	}
	var errs []error
	for _, o := range objs {
		if err := c.Store.Delete(ctx, o.Key); err != nil {
			errs = append(errs, fmt.Errorf("deleting %s: %w", o.Key, err))
		}
	}
	return errors.Join(errs...)
}
