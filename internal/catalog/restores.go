package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/storage"
)

// Restore records one restore run by the daemon. It lives beside the failure
// records (layout.Definition.RestoreKey), so what the API
// answers about a restore survives the runner's restart: the record is
// written Running when the restore starts and rewritten when it ends.
type Restore struct {
	ID string `json:"id"`
	// BackupID is the backup restored ("latest" already resolved).
	BackupID  string      `json:"backupId"`
	Status    phase.Phase `json:"status"`
	StartTime time.Time   `json:"startTime"`
	EndTime   time.Time   `json:"endTime,omitzero"`
	// Error says why a Failed restore failed.
	Error string `json:"error,omitempty"`
}

// ErrNoRestore: no restore record with that id.
var ErrNoRestore = errors.New("no such restore")

// PutRestore writes (creates or replaces) a restore record.
func (c Catalog) PutRestore(ctx context.Context, r Restore) error {
	if !layout.ValidID(r.ID) {
		return fmt.Errorf("restore id %q is not an id like 20261121T103000Z-k3f9", r.ID)
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := c.Store.Put(ctx, c.Definition.RestoreKey(r.ID), bytes.NewReader(data)); err != nil {
		return fmt.Errorf("recording restore %s: %w", r.ID, err)
	}
	return nil
}

// GetRestore reads one restore record. An id that is not a valid id, or has
// no record, is ErrNoRestore: ids come from URLs and must never build any
// other key.
func (c Catalog) GetRestore(ctx context.Context, id string) (Restore, error) {
	if !layout.ValidID(id) {
		return Restore{}, fmt.Errorf("%w: %q", ErrNoRestore, id)
	}
	r, err := c.readRestore(ctx, layout.Key{Kind: layout.Restore, Definition: c.Definition, ID: id})
	if errors.Is(err, storage.ErrNotFound) {
		return Restore{}, fmt.Errorf("%w: %s", ErrNoRestore, id)
	}
	return r, err
}

// DeleteRestore removes a restore record.
func (c Catalog) DeleteRestore(ctx context.Context, id string) error {
	return c.Store.Delete(ctx, c.Definition.RestoreKey(id))
}

// ListRestores returns the restore records, oldest first. Records that
// cannot be read are skipped and reported in the error.
func (c Catalog) ListRestores(ctx context.Context) ([]Restore, error) {
	dir := c.Definition.RestoresDir()
	objs, err := c.Store.List(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	var out []Restore
	var errs []error
	for _, o := range objs {
		k := layout.Parse(o.Key)
		if k.Kind != layout.Restore || k.Definition != c.Definition {
			continue
		}
		r, err := c.readRestore(ctx, k)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartTime.Equal(out[j].StartTime) {
			return out[i].StartTime.Before(out[j].StartTime)
		}
		return out[i].ID < out[j].ID
	})
	return out, errors.Join(errs...)
}

// readRestore reads a restore record, which must name itself: a record
// copied under another name would otherwise answer for a second restore.
func (c Catalog) readRestore(ctx context.Context, k layout.Key) (Restore, error) {
	key := k.String()
	var r Restore
	rc, err := c.Store.Get(ctx, key)
	if err != nil {
		return r, fmt.Errorf("reading %s: %w", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return r, fmt.Errorf("reading %s: %w", key, err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("%s: %w", key, err)
	}
	if r.ID != k.ID {
		return r, fmt.Errorf("%s: record id %q does not match its name", key, r.ID)
	}
	return r, nil
}
