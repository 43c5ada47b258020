package lease

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"time"

	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/storage"
)

const (
	// maxRecordSize bounds what we read of a lock object: a real one is a
	// few hundred bytes.
	maxRecordSize = 64 << 10
	// listRetries bounds the repeats of a listing that raced a vanishing
	// file.
	listRetries = 5
)

// record is the content of a lock object (docs/lease.md).
type record struct {
	Holder     string    `json:"holder"`
	Generation uint64    `json:"generation"`
	AcquiredAt time.Time `json:"acquiredAt"`
	RenewedAt  time.Time `json:"renewedAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
}

func (r record) encode() []byte {
	r.AcquiredAt = r.AcquiredAt.UTC()
	r.RenewedAt = r.RenewedAt.UTC()
	r.ExpiresAt = r.ExpiresAt.UTC()
	b, err := json.Marshal(r)
	if err != nil {
		panic(err) // a struct of strings, numbers and times always encodes
	}
	return b
}

// lockObject is one listed lock object.
type lockObject struct {
	key     string
	gen     uint64
	modTime time.Time
}

// listLocks returns the definition's lock objects, oldest generation first.
// Other keys under the lock prefix are not lock objects and are ignored.
func listLocks(ctx context.Context, store storage.Store, def layout.Definition) ([]lockObject, error) {
	p := def.LockPrefix()
	objs, err := store.List(ctx, p)
	// The filesystem backend's List fails when a file vanishes during its
	// walk, such as a contender's CreateExclusive temp file; the listing
	// itself is fine to repeat.
	for i := 0; i < listRetries && errors.Is(err, fs.ErrNotExist); i++ {
		objs, err = store.List(ctx, p)
	}
	if err != nil {
		return nil, err
	}
	var out []lockObject
	for _, o := range objs {
		if k := layout.Parse(o.Key); k.Kind == layout.Lock && k.Definition == def {
			out = append(out, lockObject{key: o.Key, gen: k.Generation, modTime: o.ModTime})
		}
	}
	slices.SortFunc(out, func(a, b lockObject) int { return cmp.Compare(a.gen, b.gen) })
	return out, nil
}

// readRecord reads a lock object. A missing object is storage.ErrNotFound.
// An unreadable one (torn by a crash on a filesystem without hard links,
// or written by something else) counts as held by an unknown holder until
// ttl after it was last written, so it blocks for a while but never forever.
func readRecord(ctx context.Context, store storage.Store, o lockObject, ttl time.Duration) (record, error) {
	rc, err := store.Get(ctx, o.key)
	if err != nil {
		return record{}, err
	}
	defer func() { _ = rc.Close() }()
	data, err := io.ReadAll(io.LimitReader(rc, maxRecordSize))
	if err != nil {
		return record{}, fmt.Errorf("read %s: %w", o.key, err)
	}
	var r record
	if err := json.Unmarshal(data, &r); err != nil || r.Holder == "" || r.ExpiresAt.IsZero() {
		return record{
			Holder:     fmt.Sprintf("an unknown holder (unreadable lock object %s)", o.key),
			Generation: o.gen,
			ExpiresAt:  o.modTime.Add(ttl),
		}, nil
	}
	r.Generation = o.gen
	return r, nil
}
