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
)

// MinKeyLength is the shortest dedup key accepted, in bytes.
const MinKeyLength = 32

// HashName is how chunks are named, recorded in the manifest's chunking
// block.
const HashName = "hmac-sha256"

// Key is the storage's dedup key: it names chunks (HMAC-SHA256 of their
// plain bytes) and derives the chunker's Gear table, so that neither chunk
// names nor chunk boundaries can be computed without it.
type Key struct {
	secret []byte
	// gear keys the chunker's Gear table: HMAC(key, "coffer fastcdc gear"),
	// so the chunker library never holds the dedup key itself.
	gear []byte
}

// NewKey checks and prepares a dedup key. The error never quotes it.
func NewKey(secret []byte) (*Key, error) {
	if len(secret) < MinKeyLength {
		return nil, fmt.Errorf("the dedup key is %d bytes, at least %d are needed (e.g. openssl rand -hex 32)", len(secret), MinKeyLength)
	}
	k := &Key{secret: append([]byte(nil), secret...)}
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte("coffer fastcdc gear"))
	k.gear = m.Sum(nil)
	return k, nil
}

// ID identifies the key without revealing it: the first 8 bytes of
// HMAC(key, "coffer dedup key id"), hex. The manifest records it, so a
// reader knows whether its key named a backup's chunks.
func (k *Key) ID() string {
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte("coffer dedup key id"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// Name is the chunk name of plain: hex HMAC-SHA256 under the key.
func (k *Key) Name(plain []byte) string {
	m := hmac.New(sha256.New, k.secret)
	m.Write(plain)
	return hex.EncodeToString(m.Sum(nil))
}
