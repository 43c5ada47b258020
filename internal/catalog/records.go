package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/coffer-dev/coffer/internal/layout"
)

// record is what the JSON records of a run (verifications, restore tests)
// share: an id that must match the record's name.
type record interface{ recordID() string }

// putRecord writes v under key, replacing what is there.
func (c Catalog) putRecord(ctx context.Context, key string, v record) error {
	if !layout.ValidID(v.recordID()) {
		return fmt.Errorf("record id %q is not an id like 20261121T103000Z-k3f9", v.recordID())
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := c.Store.Put(ctx, key, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("writing %s: %w", key, err)
	}
	return nil
}

// readRecord reads the record at k into v, which must name itself: a
// record copied under another name would otherwise answer for another run.
func (c Catalog) readRecord(ctx context.Context, k layout.Key, v record) error {
	key := k.String()
	rc, err := c.Store.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("reading %s: %w", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 4<<20))
	if err != nil {
		return fmt.Errorf("reading %s: %w", key, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if v.recordID() != k.ID {
		return fmt.Errorf("%s: record id %q does not match its name", key, v.recordID())
	}
	return nil
}

// listRecords reads every record of kind under dir, oldest id first.
// Records that cannot be read are skipped and reported in the error.
func listRecords[T any, P interface {
	*T
	record
}](ctx context.Context, c Catalog, dir string, kind layout.Kind) ([]T, error) {
	objs, err := c.Store.List(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	var out []T
	var errs []error
	for _, o := range objs {
		k := layout.Parse(o.Key)
		if k.Kind != kind || k.Definition != c.Definition {
			continue
		}
		var v T
		if err := c.readRecord(ctx, k, P(&v)); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return P(&out[i]).recordID() < P(&out[j]).recordID() })
	return out, errors.Join(errs...)
}
