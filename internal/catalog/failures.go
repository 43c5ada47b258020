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
)

// Failure records a backup set that failed. It lives outside the backup
// directories (layout.Definition.FailureKey) because a failed
// backup's objects are removed: the record is for operators and for
// retention's "keep the newest few failures", never a backup.
type Failure struct {
	ID        string          `json:"id"`
	StartTime time.Time       `json:"startTime"`
	EndTime   time.Time       `json:"endTime"`
	Error     string          `json:"error"`
	Targets   []FailureTarget `json:"targets"`
	// RequestKey is the key of the on-demand request that started the set
	// (manifest.Manifest.RequestKey); absent for scheduled ones.
	RequestKey string `json:"requestKey,omitempty"`
}

// FailureTarget is one target's outcome in a failed set.
type FailureTarget struct {
	Name  string `json:"name"`
	Error string `json:"error,omitempty"`
}

// RecordFailure stores a failure record.
func (c Catalog) RecordFailure(ctx context.Context, f Failure) error {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := c.Store.Put(ctx, c.Definition.FailureKey(f.ID), bytes.NewReader(data)); err != nil {
		return fmt.Errorf("recording failure of %s: %w", f.ID, err)
	}
	return nil
}

// DeleteFailure removes a failure record.
func (c Catalog) DeleteFailure(ctx context.Context, id string) error {
	return c.Store.Delete(ctx, c.Definition.FailureKey(id))
}

// ListFailures returns the failure records, oldest first.
func (c Catalog) ListFailures(ctx context.Context) ([]Failure, error) {
	dir := c.Definition.FailuresDir()
	objs, err := c.Store.List(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	var out []Failure
	var errs []error
	for _, o := range objs {
		if k := layout.Parse(o.Key); k.Kind != layout.Failure || k.Definition != c.Definition {
			continue
		}
		f, err := c.readFailure(ctx, o.Key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartTime.Equal(out[j].StartTime) {
			return out[i].StartTime.Before(out[j].StartTime)
		}
		return out[i].ID < out[j].ID
	})
	return out, errors.Join(errs...)
}

func (c Catalog) readFailure(ctx context.Context, key string) (Failure, error) {
	var f Failure
	rc, err := c.Store.Get(ctx, key)
	if err != nil {
		return f, fmt.Errorf("reading %s: %w", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return f, fmt.Errorf("reading %s: %w", key, err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("%s: %w", key, err)
	}
	return f, nil
}
