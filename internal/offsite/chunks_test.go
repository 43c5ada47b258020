package offsite_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/storage"
)

// counting counts the Puts per key and the Lists per prefix a store is
// asked for.
type counting struct {
	storage.Store
	mu    sync.Mutex
	puts  map[string]int
	lists map[string]int
}

func (c *counting) Put(ctx context.Context, key string, r io.Reader) error {
	c.mu.Lock()
	c.puts[key]++
	c.mu.Unlock()
	return c.Store.Put(ctx, key, r)
}

func (c *counting) List(ctx context.Context, prefix string) ([]storage.Object, error) {
	c.mu.Lock()
	c.lists[prefix]++
	c.mu.Unlock()
	return c.Store.List(ctx, prefix)
}

func (c *counting) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.puts, c.lists = map[string]int{}, map[string]int{}
}

// chunk is a stored chunk: opaque bytes, as an encrypted chunk is to the
// copy, named by a hash of them.
type chunk struct {
	hash string
	data []byte
}

func newChunk(t testing.TB, c catalog.Catalog, size int) chunk {
	t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	sum := sha256.Sum256(data)
	ch := chunk{hash: hex.EncodeToString(sum[:]), data: data}
	if err := c.Store.Put(context.Background(), def.ChunkKey(ch.hash, true), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	return ch
}

// putChunked commits a format 2 backup whose targets are the given chunk
// lists; the chunks must be stored already.
func putChunked(t testing.TB, c catalog.Catalog, start time.Time, targets map[string][]chunk) *manifest.Manifest {
	t.Helper()
	m := &manifest.Manifest{FormatVersion: manifest.FormatChunked, ID: layout.NewID(start), Namespace: def.Namespace,
		Definition: def.Name, Status: phase.Completed, StartTime: start, EndTime: start.Add(time.Minute),
		Labels: []string{}, Trigger: manifest.TriggerSchedule, Compression: "zstd",
		Encryption: &manifest.Encryption{Type: "age", Recipients: []string{"age1test"}},
		Chunking:   &manifest.Chunking{Chunker: "restic/chunker", Hash: "hmac-sha256", Dir: def.ChunksDir(), Suffix: layout.ChunkSuffix(true)}}
	for _, name := range []string{"ci", "main"} {
		chunks, ok := targets[name]
		if !ok {
			continue
		}
		tg := manifest.Target{Name: name, Engine: "postgres", Object: def.ChunksDir(), StartTime: start, EndTime: start}
		h := sha256.New()
		for _, ch := range chunks {
			n := int64(len(ch.data))
			tg.Chunks = append(tg.Chunks, manifest.Chunk{Hash: ch.hash, Size: n, StoredSize: n})
			tg.Size, tg.PlainSize = tg.Size+n, tg.PlainSize+n
			h.Write(ch.data)
		}
		tg.PlainSHA256 = hex.EncodeToString(h.Sum(nil))
		m.Targets = append(m.Targets, tg)
	}
	if err := c.Commit(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

// readTarget reads a target back from s as a restore does: its chunks in
// order, each checked against its stored size, the whole against the
// manifest's SHA-256.
func readTarget(t *testing.T, s storage.Store, m *manifest.Manifest, name string) []byte {
	t.Helper()
	tg, ok := m.Target(name)
	if !ok {
		t.Fatalf("backup %s has no target %s", m.ID, name)
	}
	var out []byte
	for _, c := range tg.Chunks {
		data := read(t, s, def.ChunkKey(c.Hash, true))
		if int64(len(data)) != c.StoredSize {
			t.Fatalf("chunk %s is %d bytes, want %d", c.Hash, len(data), c.StoredSize)
		}
		out = append(out, data...)
	}
	if sum := sha256.Sum256(out); hex.EncodeToString(sum[:]) != tg.PlainSHA256 {
		t.Fatalf("backup %s, target %s read from %s does not match its manifest", m.ID, name, s.Describe())
	}
	return out
}

func offsiteIDs(t *testing.T, c catalog.Catalog) map[string]bool {
	t.Helper()
	ms, err := c.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range ms {
		out[m.ID] = true
	}
	return out
}
