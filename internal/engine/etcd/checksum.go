package etcd

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
)

// ErrBadSnapshot is returned when a snapshot's trailing SHA-256 is missing
// or does not match its content: the stream was cut short, or corrupted.
var ErrBadSnapshot = errors.New("etcd snapshot integrity check failed")

// checksum verifies an etcd snapshot as it streams past. The server sends
// the bbolt database, whose size is a multiple of its page size (a multiple
// of 512), followed by the SHA-256 of the database: the same check
// `etcdutl snapshot restore` makes before it restores.
type checksum struct {
	h    hash.Hash
	size int64
	// tail holds the last bytes seen, which may be the checksum; the
	// bytes before them are hashed.
	tail []byte
}

func newChecksum() *checksum {
	return &checksum{h: sha256.New(), tail: make([]byte, 0, 2*sha256.Size)}
}

func (c *checksum) Write(p []byte) (int, error) {
	c.size += int64(len(p))
	if len(p) >= sha256.Size {
		c.h.Write(c.tail)
		c.h.Write(p[:len(p)-sha256.Size])
		c.tail = append(c.tail[:0], p[len(p)-sha256.Size:]...)
		return len(p), nil
	}
	c.tail = append(c.tail, p...)
	if over := len(c.tail) - sha256.Size; over > 0 {
		c.h.Write(c.tail[:over])
		c.tail = append(c.tail[:0], c.tail[over:]...)
	}
	return len(p), nil
}

// verify checks the stream seen so far as a complete snapshot.
func (c *checksum) verify() error {
	if c.size < sha256.Size || c.size%512 != sha256.Size {
		return fmt.Errorf("%w: %d bytes is not a database followed by its SHA-256 (stream cut short?)", ErrBadSnapshot, c.size)
	}
	if !bytes.Equal(c.h.Sum(nil), c.tail) {
		return fmt.Errorf("%w: the SHA-256 at its end does not match its %d bytes", ErrBadSnapshot, c.size-sha256.Size)
	}
	return nil
}
