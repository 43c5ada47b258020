// Package chunked is format version 2's pipeline (docs/format.md): a
// target's dump is cut into content-defined chunks, each named by a keyed
// hash of its plain bytes, compressed with zstd, encrypted with age to the
// storage's recipients and stored once per definition; the manifest lists a
// target's chunks in order. The dedup key names chunks and picks the
// chunker's Gear table; it cannot decrypt anything, so a runner that only
// backs up still holds no key that opens a backup.
//
//	backup:  dump → chunker → per chunk: HMAC name; if new: zstd → age → storage
//	restore: per chunk in order: storage → age → zstd → HMAC check → engine
//
// Where chunks live is internal/layout's; what a manifest records is
// internal/manifest's.
package chunked

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/zeebo/blake3"
)

// MinKeyLength is the shortest dedup key accepted, in bytes.
const MinKeyLength = 32

// How chunks are named, recorded in the manifest's chunking block.
const (
	// HashName names the chunks of new backups: BLAKE3 in keyed mode, its
	// 32-byte key derived from the dedup key. A third of HMAC-SHA256's CPU.
	HashName = "blake3-keyed"
	// HashHMACSHA256 named the chunks of format 2 backups before
	// 2026-11-30; they are still checked with it.
	HashHMACSHA256 = "hmac-sha256"
)

// Key is the storage's dedup key: it names chunks (keyed BLAKE3 of their
// plain bytes) and derives the chunker's Gear table, so that neither chunk
// names nor chunk boundaries can be computed without it.
type Key struct {
	secret []byte
	// hash is how Name names chunks: HashName, or an earlier one (For).
	hash string
	// names keys BLAKE3: HMAC(key, "coffer chunk names").
	names []byte
	// gear keys the chunker's Gear table: HMAC(key, "coffer fastcdc gear"),
	// so the chunker library never holds the dedup key itself.
	gear []byte
}

// NewKey checks and prepares a dedup key. The error never quotes it.
func NewKey(secret []byte) (*Key, error) {
	if len(secret) < MinKeyLength {
		return nil, fmt.Errorf("the dedup key is %d bytes, at least %d are needed (e.g. openssl rand -hex 32)", len(secret), MinKeyLength)
	}
	k := &Key{secret: append([]byte(nil), secret...), hash: HashName}
	k.gear = k.derive("coffer fastcdc gear")
	k.names = k.derive("coffer chunk names")
	return k, nil
}

func (k *Key) derive(purpose string) []byte {
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// For is the key naming chunks as hash says (a manifest's chunking.hash);
// false for a hash this coffer does not know.
func (k *Key) For(hash string) (*Key, bool) {
	switch hash {
	case HashName, HashHMACSHA256:
		c := *k
		c.hash = hash
		return &c, true
	}
	return nil, false
}

// Hash is how the key names chunks.
func (k *Key) Hash() string { return k.hash }

// ID identifies the key without revealing it: the first 8 bytes of
// HMAC(key, "coffer dedup key id"), hex. The manifest records it, so a
// reader knows whether its key named a backup's chunks.
func (k *Key) ID() string {
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte("coffer dedup key id"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// Name is the chunk name of plain, in hex: keyed BLAKE3-256 (or, for a key
// from For(HashHMACSHA256), HMAC-SHA256 under the dedup key).
func (k *Key) Name(plain []byte) string {
	if k.hash == HashHMACSHA256 {
		m := hmac.New(sha256.New, k.secret)
		m.Write(plain)
		return hex.EncodeToString(m.Sum(nil))
	}
	h, err := blake3.NewKeyed(k.names)
	if err != nil {
		panic("blake3 refused a 32-byte key: " + err.Error()) // names is always 32 bytes
	}
	_, _ = h.Write(plain) // a hash.Hash never fails a write
	return hex.EncodeToString(h.Sum(nil))
}
