package catalog

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/coffer-dev/coffer/internal/engine"
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
	// Error says why a Failed or PartiallyFailed restore failed.
	Error string `json:"error,omitempty"`
	// FailedItems are the first MaxFailedItems items a PartiallyFailed
	// restore could not restore; FailedItemCount counts them all.
	FailedItems     []engine.FailedItem `json:"failedItems,omitempty"`
	FailedItemCount int                 `json:"failedItemCount,omitempty"`
	// RequestKey is the key of the request that started the restore, so a
	// repeated request finds this record; absent without one.
	RequestKey string `json:"requestKey,omitempty"`
}

// MaxFailedItems bounds the failed items a restore record keeps: a restore
// of 5,000 objects into a namespace it may not write fails every one, and
// a record (and the Restore object's status) must stay small.
const MaxFailedItems = 50

// SetFailedItems records the failed items, bounded, and their count.
func (r *Restore) SetFailedItems(items []engine.FailedItem) {
	r.FailedItemCount = len(items)
	r.FailedItems = append([]engine.FailedItem(nil), items[:min(len(items), MaxFailedItems)]...)
	if len(r.FailedItems) == 0 {
		r.FailedItems = nil
	}
}

// ErrNoRestore: no restore record with that id.
var ErrNoRestore = errors.New("no such restore")

func (r *Restore) recordID() string { return r.ID }

// PutRestore writes (creates or replaces) a restore record.
func (c Catalog) PutRestore(ctx context.Context, r Restore) error {
	return c.putRecord(ctx, c.Definition.RestoreKey(r.ID), &r)
}

// GetRestore reads one restore record. An id that is not a valid id, or has
// no record, is ErrNoRestore: ids come from URLs and must never build any
// other key.
func (c Catalog) GetRestore(ctx context.Context, id string) (Restore, error) {
	if !layout.ValidID(id) {
		return Restore{}, fmt.Errorf("%w: %q", ErrNoRestore, id)
	}
	var r Restore
	err := c.readRecord(ctx, layout.Key{Kind: layout.Restore, Definition: c.Definition, ID: id}, &r)
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
	out, err := listRecords[Restore](ctx, c, c.Definition.RestoresDir(), layout.Restore)
	// By start time: ids have one-second resolution.
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartTime.Before(out[j].StartTime) })
	return out, err
}
