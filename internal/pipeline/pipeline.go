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
	"runtime"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
)

// Options tune the backup pipeline.
type Options struct {
	// Recipients encrypt the stream with age; none means no encryption.
	Recipients []age.Recipient
	// Level of zstd; zero means zstd.SpeedDefault (level 3).
	Level zstd.EncoderLevel
	// Concurrency of the zstd encoder; zero means min(2, GOMAXPROCS). Memory
	// grows with it (one window per goroutine).
	Concurrency int
}

func (o Options) zstdOptions() []zstd.EOption {
	level := o.Level
	if level == 0 {
		level = zstd.SpeedDefault
	}
	conc := o.Concurrency
	if conc <= 0 {
		conc = min(2, runtime.GOMAXPROCS(0))
	}
	return []zstd.EOption{zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(conc)}
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
