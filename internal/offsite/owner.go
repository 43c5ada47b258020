package offsite

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

// ErrForeignOffsite: the offsite copy of the definition belongs to
// another primary storage. Two primaries sharing one offsite prefix (two
// clusters with the same namespace and definition name, say) would mix
// their backups there, and each one's offsite retention and orphan sweep
// would delete the other's: Coffer refuses instead.
var ErrForeignOffsite = errors.New("the offsite copy belongs to another primary storage")

// maxMarker bounds what is read of a storage id or owner object.
const maxMarker = 64 << 10

// marker is the content of a storage id object and of an offsite owner
// object: the primary's id, and for messages its description (no
// credentials) and when the marker was written.
type marker struct {
	ID       string    `json:"id"`
	Storage  string    `json:"storage"`
	Created  time.Time `json:"created"`
	Deletion string    `json:"howToHandOver,omitempty"`
}

// Claim makes sure the offsite copy belongs to the primary storage: the
// primary's id (created once, in the primary, under the definition's
// lease) must be the one the offsite copy records as its owner; an
// offsite copy that records none is claimed. It is called before any
// copy, and before the offsite retention deletes anything.
func (c Copier) Claim(ctx context.Context) error {
	def := c.Src.Definition
	primary, err := readOrCreate(ctx, c.Src.Store, def.StorageIDKey(), func() (marker, error) {
		id, err := randomID()
		return marker{ID: id, Storage: c.Src.Store.Describe(), Created: time.Now().UTC()}, err
	})
	if err != nil {
		return fmt.Errorf("the primary storage's id (%s): %w", def.StorageIDKey(), err)
	}
	ownerKey := c.Dst.Definition.OffsiteOwnerKey()
	owner, err := readOrCreate(ctx, c.Dst.Store, ownerKey, func() (marker, error) {
		return marker{ID: primary.ID, Storage: primary.Storage, Created: time.Now().UTC(),
			Deletion: "delete this object to hand the offsite copy to another primary storage"}, nil
	})
	if err != nil {
		return fmt.Errorf("the offsite copy's owner (%s): %w", ownerKey, err)
	}
	if owner.ID != primary.ID {
		return fmt.Errorf("%w: %s in %s holds backups of primary storage %s (id %s), this primary is %s (id %s); "+
			"give each primary its own offsite prefix, or, if the old primary is gone for good, delete %s to hand the copy over",
			ErrForeignOffsite, def, c.Dst.Store.Describe(), owner.Storage, owner.ID, c.Src.Store.Describe(), primary.ID, ownerKey)
	}
	return nil
}

// readOrCreate reads the marker at key, creating it with fresh() when it
// does not exist; of two writers racing, both read the winner's.
func readOrCreate(ctx context.Context, s storage.Store, key string, fresh func() (marker, error)) (marker, error) {
	for range 2 {
		m, err := readMarker(ctx, s, key)
		if !errors.Is(err, storage.ErrNotFound) {
			return m, err
		}
		m, err = fresh()
		if err != nil {
			return m, err
		}
		data, err := json.Marshal(m)
		if err != nil {
			return m, err
		}
		err = s.CreateExclusive(ctx, key, data)
		if err == nil {
			return m, nil
		}
		if !errors.Is(err, storage.ErrExists) {
			return m, err
		}
	}
	return readMarker(ctx, s, key)
}

func readMarker(ctx context.Context, s storage.Store, key string) (marker, error) {
	var m marker
	rc, err := s.Get(ctx, key)
	if err != nil {
		return m, err
	}
	defer func() { _ = rc.Close() }()
	data, err := io.ReadAll(io.LimitReader(rc, maxMarker))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(data, &m); err != nil || m.ID == "" {
		return m, fmt.Errorf("%s is not a storage marker (want JSON with an id)", key)
	}
	return m, nil
}

func randomID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
