package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/storage"
)

// Restore records one restore run by the daemon. It lives beside the failure
// records (<namespace>/<definition>/restores/<id>.json), so what the API
// answers about a restore survives the runner's restart: the record is
// written Running when the restore starts and rewritten when it ends.
type Restore struct {
	ID string `json:"id"`
	// BackupID is the backup restored ("latest" already resolved).
	BackupID  string        `json:"backupId"`
	Status    RestoreStatus `json:"status"`
	StartTime time.Time     `json:"startTime"`
	EndTime   time.Time     `json:"endTime,omitzero"`
	// Error says why a Failed restore failed.
	Error string `json:"error,omitempty"`
}

// RestoreStatus is the phase of a restore record.
type RestoreStatus = phase.Phase

// Statuses of a restore record, named here for its callers; their one
// spelling is internal/phase, and the API shows them unchanged.
const (
	RestoreRunning   = phase.Running
	RestoreCompleted = phase.Completed
	RestoreFailed    = phase.Failed
)

// ErrNoRestore: no restore record with that id.
var ErrNoRestore = errors.New("no such restore")

// restoresDir holds the restore records under the definition's prefix.
const restoresDir = "restores/"

// RestoreKey is the key of a restore record.
func (c Catalog) RestoreKey(id string) string { return c.Prefix() + restoresDir + id + ".json" }

// PutRestore writes (creates or replaces) a restore record.
func (c Catalog) PutRestore(ctx context.Context, r Restore) error {
	if !manifest.ValidID(r.ID) {
		return fmt.Errorf("restore id %q is not an id like 20261121T103000Z-k3f9", r.ID)
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := c.Store.Put(ctx, c.RestoreKey(r.ID), bytes.NewReader(data)); err != nil {
		return fmt.Errorf("recording restore %s: %w", r.ID, err)
	}
	return nil
}

// GetRestore reads one restore record. An id that is not a valid id, or has
// no record, is ErrNoRestore: ids come from URLs and must never build any
// other key.
func (c Catalog) GetRestore(ctx context.Context, id string) (Restore, error) {
	if !manifest.ValidID(id) {
		return Restore{}, fmt.Errorf("%w: %q", ErrNoRestore, id)
	}
	r, err := c.readRestore(ctx, c.RestoreKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return Restore{}, fmt.Errorf("%w: %s", ErrNoRestore, id)
	}
	return r, err
}

// DeleteRestore removes a restore record.
func (c Catalog) DeleteRestore(ctx context.Context, id string) error {
	return c.Store.Delete(ctx, c.RestoreKey(id))
}

// ListRestores returns the restore records, oldest first. Records that
// cannot be read are skipped and reported in the error.
func (c Catalog) ListRestores(ctx context.Context) ([]Restore, error) {
	prefix := c.Prefix() + restoresDir
	objs, err := c.Store.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", prefix, err)
	}
	var out []Restore
	var errs []error
	for _, o := range objs {
		id, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, prefix), ".json")
		if !ok || !manifest.ValidID(id) {
			continue
		}
		r, err := c.readRestore(ctx, o.Key)
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

func (c Catalog) readRestore(ctx context.Context, key string) (Restore, error) {
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
	if want := strings.TrimSuffix(key[strings.LastIndex(key, "/")+1:], ".json"); r.ID != want {
		return r, fmt.Errorf("%s: record id %q does not match its name", key, r.ID)
	}
	return r, nil
}
