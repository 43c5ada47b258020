// Package catalog knows where a definition's backups live in storage and
// which of them exist. The layout (docs/format.md):
//
//	<namespace>/<definition>/<backup-id>/<target>.<ext>[.zst][.age]
//	<namespace>/<definition>/<backup-id>/manifest.json   written last: the commit point
//	<namespace>/<definition>/failures/<backup-id>.json   a failed attempt (failures.go)
//	<namespace>/<definition>/restores/<restore-id>.json  a restore run by the daemon (restores.go)
//	<namespace>/<definition>/lock-<generation>           single-writer lease (internal/lease)
//
// A backup exists only if its manifest does.
package catalog

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/storage"
)

// Catalog is one definition's backups in one store.
type Catalog struct {
	Store      storage.Store
	Namespace  string
	Definition string
	// Cache, when set, keeps decoded manifests between listings: a manifest
	// is read again only when its size or modification time changes, so a
	// daemon listing 10,000 backups pays for the object listing only.
	Cache *Cache
}

// Cache holds decoded manifests by key. Safe for concurrent use.
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

// Prefix is the definition's directory, with a trailing slash.
func (c Catalog) Prefix() string { return c.Namespace + "/" + c.Definition + "/" }

// BackupPrefix is one backup's directory, with a trailing slash.
func (c Catalog) BackupPrefix(id string) string { return c.Prefix() + id + "/" }

// ObjectKey is the key of a target's stored object.
func (c Catalog) ObjectKey(id, target, ext string, encrypted bool) string {
	key := c.BackupPrefix(id) + target + "." + ext + ".zst"
	if encrypted {
		key += ".age"
	}
	return key
}

// ManifestKey is the key of a backup's manifest.
func (c Catalog) ManifestKey(id string) string { return c.BackupPrefix(id) + manifest.FileName }

// NewID returns a backup id that sorts by time: 20261121T103000Z-k3f9.
func NewID(now time.Time) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return now.UTC().Format("20060102T150405Z") + "-" + string(b)
}

// Commit writes the manifest, making the backup exist.
func (c Catalog) Commit(ctx context.Context, m *manifest.Manifest) error {
	data, err := manifest.Encode(m)
	if err != nil {
		return err
	}
	if err := c.Store.Put(ctx, c.ManifestKey(m.ID), bytes.NewReader(data)); err != nil {
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
	if !manifest.ValidID(id) {
		return nil, fmt.Errorf("%q is not a backup id (like 20261121T103000Z-k3f9) or \"latest\"", id)
	}
	m, err := c.read(ctx, c.ManifestKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s in %s%s", ErrNoBackup, id, c.Store.Describe(), "/"+c.Prefix())
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
		if (newest == nil || idTime(u.ID) >= idTime(newest.ID)) && (bad == nil || u.ID > bad.ID) {
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
		return nil, fmt.Errorf("%w: %s has no backups in %s", ErrNoBackup, c.Prefix(), c.Store.Describe())
	}
	return newest, nil
}

// idTime is the time part of a backup id (20261121T103000Z).
func idTime(id string) string {
	t, _, _ := strings.Cut(id, "-")
	return t
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

func (c Catalog) read(ctx context.Context, key string) (*manifest.Manifest, error) {
	rc, err := c.Store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	m, err := manifest.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	if want := path.Base(path.Dir(key)); m.ID != want {
		return nil, fmt.Errorf("%s: manifest id %q does not match its directory %q", key, m.ID, want)
	}
	return m, nil
}

// listConcurrency bounds parallel manifest reads during List.
const listConcurrency = 16

// List returns the committed backups, oldest first. Manifests that cannot be
// read are skipped and reported in the error, so callers that must not act on
// a partial view (retention) can refuse to.
func (c Catalog) List(ctx context.Context) ([]*manifest.Manifest, error) {
	objs, err := c.Store.List(ctx, c.Prefix())
	if err != nil {
		return nil, fmt.Errorf("listing %s in %s: %w", c.Prefix(), c.Store.Describe(), err)
	}
	var found []storage.Object
	listed := map[string]bool{}
	for _, o := range objs {
		rest := strings.TrimPrefix(o.Key, c.Prefix())
		if dir, file, ok := strings.Cut(rest, "/"); ok && file == manifest.FileName && manifest.ValidID(dir) {
			found = append(found, o)
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
			if out[i], errs[i] = c.read(ctx, o.Key); errs[i] == nil {
				c.Cache.put(o, out[i])
			} else {
				errs[i] = &UnreadableError{ID: path.Base(path.Dir(o.Key)), Err: errs[i]}
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

// DeleteBackup removes a backup: the manifest first, so that a crash half-way
// leaves objects without a manifest (swept later), never a manifest without
// objects.
func (c Catalog) DeleteBackup(ctx context.Context, id string) error {
	if err := c.Store.Delete(ctx, c.ManifestKey(id)); err != nil {
		return fmt.Errorf("deleting manifest of %s: %w", id, err)
	}
	return c.DeleteObjects(ctx, id)
}

// DeleteObjects removes every object under a backup's directory.
func (c Catalog) DeleteObjects(ctx context.Context, id string) error {
	objs, err := c.Store.List(ctx, c.BackupPrefix(id))
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
