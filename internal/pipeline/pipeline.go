// Package pipeline moves a dump between an engine and object storage:
//
//	backup:  dump → sha256(plain) → zstd → age → sha256(stored) → storage
//	restore: storage → sha256(stored) → age → zstd → sha256(plain) → engine
//
// Everything streams through bounded buffers; nothing touches local disk.
// Integrity failures are errors, never warnings.
package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"

	"filippo.io/age"
	"github.com/coffer-dev/coffer/internal/zframe"
)

// Options tune the backup pipeline.
type Options struct {
	// Recipients encrypt the stream with age; none means no encryption.
	Recipients []age.Recipient
	// Level of compression; the zero value is zstd's fastest (level 1),
	// which keeps up with a dump tool on two cores and still stores less
	// than gzip.
	Level zframe.Level
}

// Sums are the sizes and SHA-256 digests of the plain dump and of the stored
// object, as recorded in the manifest.
type Sums struct {
	Size        int64
	SHA256      string
	PlainSize   int64
	PlainSHA256 string
}

// digest counts and hashes what is written to it.
type digest struct {
	h hash.Hash
	n int64
}

func newDigest() *digest { return &digest{h: sha256.New()} }

func (d *digest) Write(p []byte) (int, error) {
	d.n += int64(len(p))
	return d.h.Write(p)
}

func (d *digest) sum() string { return hex.EncodeToString(d.h.Sum(nil)) }

// Digest reads r to its end and returns the size and SHA-256 of what it
// read (Size and SHA256; the plain fields are left empty): the check of
// stored bytes that needs no key.
func Digest(r io.Reader) (Sums, error) {
	d := newDigest()
	if _, err := io.Copy(d, r); err != nil {
		return Sums{}, err
	}
	return Sums{Size: d.n, SHA256: d.sum()}, nil
}
