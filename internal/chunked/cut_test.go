package chunked

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	mrand "math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/pipeline"
	"github.com/coffer-dev/coffer/internal/zframe"
)

// noisy is n bytes of text rows with random fields: content-defined cuts
// need content that varies.
func noisy(seed uint64, n int) []byte {
	r := mrand.New(mrand.NewPCG(seed, 7))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString("row ")
		for range 24 {
			b.WriteByte(byte('a' + r.IntN(26)))
		}
		b.WriteString(" text\n")
	}
	return b.Bytes()[:n]
}

func cutWith(t *testing.T, r io.Reader, secret string) [][]byte {
	t.Helper()
	k, err := NewKey([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return cutFrom(t, r, k, true)
}

const key1, key2 = "0123456789abcdef0123456789abcdef-one", "0123456789abcdef0123456789abcdef-two"

func TestCutterBoundaries(t *testing.T) {
	data := noisy(1, 20<<20)
	chunks := cutWith(t, bytes.NewReader(data), key1)
	if !bytes.Equal(bytes.Join(chunks, nil), data) {
		t.Fatal("the chunks do not add up to the stream")
	}
	for i, c := range chunks {
		if len(c) > MaxSize || (i < len(chunks)-1 && len(c) < MinSize) {
			t.Fatalf("chunk %d of %d is %d bytes, outside %d..%d", i, len(chunks), len(c), MinSize, MaxSize)
		}
	}
	if n := len(chunks); n < 10 || n > 40 {
		t.Fatalf("20 MiB cut into %d chunks; want about 20 (1 MiB normal size)", n)
	}
	// Short reads from the source do not move a boundary.
	again := cutWith(t, iotest.HalfReader(bytes.NewReader(data)), key1)
	if len(again) != len(chunks) {
		t.Fatalf("short reads: %d chunks, want %d", len(again), len(chunks))
	}
	for i := range chunks {
		if !bytes.Equal(again[i], chunks[i]) {
			t.Fatalf("short reads moved boundary %d", i)
		}
	}
	// Another dedup key places other boundaries.
	other := cutWith(t, bytes.NewReader(data), key2)
	if len(other) > 1 && len(other[0]) == len(chunks[0]) && len(other[1]) == len(chunks[1]) {
		t.Fatalf("two dedup keys cut the same boundaries (%d, %d)", len(chunks[0]), len(chunks[1]))
	}
}

func TestCutterResynchronises(t *testing.T) {
	data := noisy(2, 24<<20)
	before := cutWith(t, bytes.NewReader(data), key1)
	// 100 bytes inserted at 12 MiB: only the chunks near it change.
	changed := append(append(bytes.Clone(data[:12<<20]), noisy(3, 100)...), data[12<<20:]...)
	after := cutWith(t, bytes.NewReader(changed), key1)
	seen := map[[32]byte]bool{}
	for _, c := range before {
		seen[sha256.Sum256(c)] = true
	}
	var fresh int
	for _, c := range after {
		if !seen[sha256.Sum256(c)] {
			fresh++
		}
	}
	if fresh == 0 || fresh > 2 {
		t.Fatalf("an insert in the middle made %d of %d chunks new; want 1 or 2", fresh, len(after))
	}
}

func TestCutterSmallAndEmpty(t *testing.T) {
	if got := cutWith(t, bytes.NewReader(nil), key1); len(got) != 0 {
		t.Fatalf("an empty stream gave %d chunks", len(got))
	}
	small := noisy(4, 1000)
	got := cutWith(t, bytes.NewReader(small), key1)
	if len(got) != 1 || !bytes.Equal(got[0], small) {
		t.Fatalf("1000 bytes gave %d chunks", len(got))
	}
	// Constant bytes never match a cut: they are cut at MaxSize.
	zeros := cutWith(t, bytes.NewReader(make([]byte, 9<<20)), key1)
	if len(zeros) != 3 || len(zeros[0]) != MaxSize {
		t.Fatalf("9 MiB of zeros: %d chunks, first %d bytes", len(zeros), len(zeros[0]))
	}
}

// TestReadsChunksOfTheEarlierChunker: backups cut by restic/chunker before
// FastCDC have chunks up to 8 MiB, larger than MaxSize now; they restore.
func TestReadsChunksOfTheEarlierChunker(t *testing.T) {
	store := tempStore(t)
	k, err := NewKey([]byte(key1))
	if err != nil {
		t.Fatal(err)
	}
	def := layout.Definition{Namespace: "default", Name: "old"}
	plain := noisy(5, 7<<20) // one chunk over today's MaxSize
	c := putChunk(t, store, def, zframe.Default, k.Name(plain), plain)
	sum := sha256.Sum256(plain)
	want := pipeline.Sums{PlainSize: int64(len(plain)), PlainSHA256: hex.EncodeToString(sum[:])}
	rd := &Reader{Store: store, Definition: def, Key: k}
	var got bytes.Buffer
	err = rd.Read(context.Background(), []manifest.Chunk{c}, want,
		func(r io.Reader) error { _, err := io.Copy(&got, r); return err })
	if err != nil || !bytes.Equal(got.Bytes(), plain) {
		t.Fatalf("reading a 7 MiB chunk: %d bytes, err %v", got.Len(), err)
	}
}

// TestNamesByTheManifestsHash: new chunks are named with keyed BLAKE3;
// chunks of backups named with HMAC-SHA256 are checked with it, and a
// chunk checked with the wrong hash is an integrity error.
func TestNamesByTheManifestsHash(t *testing.T) {
	k, err := NewKey([]byte(key1))
	if err != nil {
		t.Fatal(err)
	}
	plain := noisy(6, 1<<20)
	if k.Hash() != HashName || HashName != "blake3-keyed" {
		t.Fatalf("new chunks are named with %q", k.Hash())
	}
	old, ok := k.For(HashHMACSHA256)
	if !ok {
		t.Fatal("hmac-sha256 is not known")
	}
	m := hmac.New(sha256.New, []byte(key1))
	m.Write(plain)
	if got, want := old.Name(plain), hex.EncodeToString(m.Sum(nil)); got != want {
		t.Fatalf("hmac-sha256 name %s, want %s", got, want)
	}
	if k.Name(plain) == old.Name(plain) || len(k.Name(plain)) != 64 {
		t.Fatalf("blake3 name %q", k.Name(plain))
	}
	if _, ok := k.For("md5"); ok {
		t.Fatal("an unknown hash was accepted")
	}

	store := tempStore(t)
	def := layout.Definition{Namespace: "default", Name: "old"}
	c := putChunk(t, store, def, zframe.Default, old.Name(plain), plain)
	open := func(key *Key) error {
		r := &Reader{Store: store, Definition: def, Key: key}
		_, err := r.fetch(context.Background(), r.fetchLimits(), c, true)
		return err
	}
	if err := open(old); err != nil {
		t.Fatalf("an hmac-sha256 chunk checked with hmac-sha256: %v", err)
	}
	if err := open(k); !errors.Is(err, pipeline.ErrIntegrity) {
		t.Fatalf("an hmac-sha256 chunk checked with blake3: %v; want an integrity error", err)
	}
}
