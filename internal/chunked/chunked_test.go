package chunked_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/coffer-dev/coffer/internal/chunked"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/pipeline"
	"github.com/coffer-dev/coffer/internal/storage"
)

var def = layout.Definition{Namespace: "default", Name: "shop"}

func openStore(t testing.TB) (storage.Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := storage.Open(context.Background(), storage.Config{Filesystem: &storage.FilesystemConfig{Path: dir}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func newKey(t testing.TB) *chunked.Key {
	t.Helper()
	k, err := chunked.NewKey([]byte("0123456789abcdef0123456789abcdef-test-key"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// dumpLike is n bytes of text rows with some incompressible noise, seeded.
func dumpLike(seed uint64, n int) []byte {
	r := mrand.New(mrand.NewPCG(seed, 1))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString("INSERT INTO events VALUES (")
		for range 8 {
			b.WriteByte(byte('a' + r.IntN(26)))
		}
		b.WriteString(", 'some row text that compresses');\n")
	}
	return b.Bytes()[:n]
}

func dumpOf(data []byte) pipeline.DumpFunc {
	return func(_ context.Context, w io.Writer) error {
		_, err := io.Copy(w, bytes.NewReader(data))
		return err
	}
}

type fixture struct {
	store storage.Store
	dir   string
	key   *chunked.Key
	id    *age.X25519Identity
}

func newFixture(t testing.TB) *fixture {
	store, dir := openStore(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{store: store, dir: dir, key: newKey(t), id: id}
}

func (f *fixture) backup(t testing.TB, data []byte) chunked.Result {
	t.Helper()
	known, err := chunked.ListKnown(context.Background(), f.store, def, true)
	if err != nil {
		t.Fatal(err)
	}
	res, err := chunked.Backup(context.Background(), f.store, def, known,
		chunked.Options{Key: f.key, Recipients: []age.Recipient{f.id.Recipient()}}, dumpOf(data))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (f *fixture) reader() *chunked.Reader {
	return &chunked.Reader{Store: f.store, Definition: def, Encrypted: true, Identities: []age.Identity{f.id}, Key: f.key}
}

func (f *fixture) restore(res chunked.Result) ([]byte, error) {
	var got bytes.Buffer
	err := f.reader().Read(context.Background(), res.Chunks, pipeline.Sums{PlainSize: res.PlainSize},
		func(r io.Reader) error { _, err := io.Copy(&got, r); return err })
	return got.Bytes(), err
}

func TestRoundTripAndDedup(t *testing.T) {
	f := newFixture(t)
	day1 := dumpLike(1, 24<<20)
	r1 := f.backup(t, day1)
	if r1.NewChunks != len(r1.Chunks) || len(r1.Chunks) < 6 || len(r1.Chunks) > 48 {
		t.Fatalf("first backup of 24 MiB: %d chunks, %d new; want 6..48, all new", len(r1.Chunks), r1.NewChunks)
	}
	got, err := f.restore(r1)
	if err != nil || !bytes.Equal(got, day1) {
		t.Fatalf("restore of day 1: %d bytes, equal %v, err %v", len(got), bytes.Equal(got, day1), err)
	}
	// Day 2: a few bytes changed in the middle and a little appended.
	day2 := append(bytes.Clone(day1), dumpLike(2, 100<<10)...)
	copy(day2[10<<20:], "CHANGED")
	r2 := f.backup(t, day2)
	if r2.NewChunks > 4 {
		t.Fatalf("second backup stored %d new chunks of %d; want at most 4", r2.NewChunks, len(r2.Chunks))
	}
	if r2.NewBytes*2 > r1.NewBytes {
		t.Fatalf("second backup stored %d bytes, the first %d: not deduplicated", r2.NewBytes, r1.NewBytes)
	}
	got, err = f.restore(r2)
	if err != nil || !bytes.Equal(got, day2) {
		t.Fatalf("restore of day 2: %d bytes, equal %v, err %v", len(got), bytes.Equal(got, day2), err)
	}
	// Same data again: nothing new at all.
	if r3 := f.backup(t, day2); r3.NewChunks != 0 {
		t.Fatalf("an unchanged dump stored %d new chunks", r3.NewChunks)
	}
}

func TestEmptyDump(t *testing.T) {
	f := newFixture(t)
	res := f.backup(t, nil)
	if len(res.Chunks) != 0 || res.PlainSize != 0 {
		t.Fatalf("empty dump: %+v", res)
	}
	if got, err := f.restore(res); err != nil || len(got) != 0 {
		t.Fatalf("restore of an empty dump: %d bytes, %v", len(got), err)
	}
}

func TestDumpFailureIsTheError(t *testing.T) {
	f := newFixture(t)
	boom := errors.New("pg_dump: exit status 1")
	known, _ := chunked.ListKnown(context.Background(), f.store, def, true)
	_, err := chunked.Backup(context.Background(), f.store, def, known, chunked.Options{Key: f.key, Recipients: []age.Recipient{f.id.Recipient()}},
		func(_ context.Context, w io.Writer) error {
			w.Write(dumpLike(3, 3<<20))
			return boom
		})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the dump's", err)
	}
}

func chunkFile(f *fixture, c manifest.Chunk) string {
	return filepath.Join(f.dir, filepath.FromSlash(def.ChunkKey(c.Hash, true)))
}

func TestDamageIsAnIntegrityError(t *testing.T) {
	cases := map[string]func(path string) error{
		"flipped byte": func(p string) error {
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 1
			return os.WriteFile(p, b, 0o600)
		},
		"truncated": func(p string) error {
			b, _ := os.ReadFile(p)
			return os.WriteFile(p, b[:len(b)-10], 0o600)
		},
		"swapped with another chunk": nil, // below
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			res := f.backup(t, dumpLike(4, 6<<20))
			a, b := chunkFile(f, res.Chunks[1]), chunkFile(f, res.Chunks[2])
			if damage == nil {
				data, _ := os.ReadFile(b)
				if err := os.WriteFile(a, data, 0o600); err != nil {
					t.Fatal(err)
				}
				res.Chunks[1].StoredSize = res.Chunks[2].StoredSize // sizes agree, only the name can tell
			} else if err := damage(a); err != nil {
				t.Fatal(err)
			}
			if _, err := f.restore(res); !errors.Is(err, pipeline.ErrIntegrity) {
				t.Fatalf("restore: err = %v, want ErrIntegrity", err)
			}
			chk, err := f.reader().Check(context.Background(), []manifest.Target{{Chunks: res.Chunks}})
			if err != nil || len(chk.Bad) != 1 || chk.Bad[res.Chunks[1].Hash] == nil {
				t.Fatalf("check: %d bad (%v), err %v; want chunk 1 only", len(chk.Bad), chk.Bad, err)
			}
		})
	}
}

func TestMissingChunkAndWrongIdentity(t *testing.T) {
	f := newFixture(t)
	res := f.backup(t, dumpLike(5, 4<<20))
	other, _ := age.GenerateX25519Identity()
	r := f.reader()
	r.Identities = []age.Identity{other}
	called := false
	err := r.Read(context.Background(), res.Chunks, pipeline.Sums{PlainSize: res.PlainSize},
		func(io.Reader) error { called = true; return nil })
	if !errors.Is(err, pipeline.ErrDecrypt) || called {
		t.Fatalf("wrong identity: err %v, consumer called %v", err, called)
	}
	if err := os.Remove(chunkFile(f, res.Chunks[len(res.Chunks)-1])); err != nil {
		t.Fatal(err)
	}
	if _, err := f.restore(res); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("missing chunk: err = %v, want ErrNotFound", err)
	}
	chk, err := f.reader().CheckStored(context.Background(), []manifest.Target{{Chunks: res.Chunks}})
	if err != nil || len(chk.Bad) != 1 || !chunked.Missing(chk.Bad[res.Chunks[len(res.Chunks)-1].Hash]) {
		t.Fatalf("stored check: %v, err %v; want the last chunk missing", chk.Bad, err)
	}
}

func TestShortKeyRefused(t *testing.T) {
	if _, err := chunked.NewKey([]byte("short")); err == nil {
		t.Fatal("a 5-byte dedup key was accepted")
	}
	a, b := newKey(t), newKey(t)
	p := make([]byte, 1000)
	rand.Read(p)
	if a.Name(p) != b.Name(p) {
		t.Fatal("one key names one chunk two ways")
	}
	c, _ := chunked.NewKey([]byte("another key of enough length, 32 bytes or more"))
	if c.Name(p) == a.Name(p) {
		t.Fatal("two keys name a chunk alike: the name is not keyed")
	}
}

func TestSweepKeepsReferencedAndYoung(t *testing.T) {
	f := newFixture(t)
	kept := f.backup(t, dumpLike(6, 4<<20))
	dropped := f.backup(t, dumpLike(7, 4<<20))
	m := &manifest.Manifest{Targets: []manifest.Target{{Chunks: kept.Chunks}}}
	in := chunked.SweepInput{Store: f.store, Definition: def, Marks: mustMark(t, m), Now: time.Now(), Grace: time.Hour}
	if n, err := chunked.Sweep(context.Background(), in); err != nil || n != 0 {
		t.Fatalf("young chunks: swept %d, err %v; want none", n, err)
	}
	in.Now = time.Now().Add(2 * time.Hour)
	n, err := chunked.Sweep(context.Background(), in)
	if err != nil || n != len(dropped.Chunks) {
		t.Fatalf("swept %d, err %v; want the %d unreferenced", n, err, len(dropped.Chunks))
	}
	if _, err := f.restore(kept); err != nil {
		t.Fatalf("a referenced chunk was swept: %v", err)
	}
	if _, err := f.restore(dropped); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("unreferenced chunks still there: %v", err)
	}
}

// failingStore fails every Put after the first n.
type failingStore struct {
	storage.Store
	n     atomic.Int32
	after int32
}

var errDiskFull = errors.New("disk full")

func (s *failingStore) Put(ctx context.Context, key string, r io.Reader) error {
	if s.n.Add(1) > s.after {
		return errDiskFull
	}
	return s.Store.Put(ctx, key, r)
}

// TestUploadFailureIsTheError: a failed chunk upload stops the dump, and
// the backup's error is the upload's, not the stopped dump's.
func TestUploadFailureIsTheError(t *testing.T) {
	f := newFixture(t)
	store := &failingStore{Store: f.store, after: 2}
	known, _ := chunked.ListKnown(context.Background(), store, def, true)
	_, err := chunked.Backup(context.Background(), store, def, known, chunked.Options{Key: f.key, Recipients: []age.Recipient{f.id.Recipient()}},
		func(ctx context.Context, w io.Writer) error {
			for i := uint64(0); ; i++ { // a dump that ends only when stopped
				if _, err := w.Write(dumpLike(i, 1<<20)); err != nil {
					return fmt.Errorf("pg_dump: %w", err)
				}
				if ctx.Err() != nil {
					return errors.New("pg_dump: signal: killed")
				}
			}
		})
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("err = %v, want the upload's", err)
	}
}

// TestManifestClaimingHugeSizesIsAnIntegrityError: sizes come from the
// manifest; one claiming a chunk larger than any chunker makes, or a
// stored object of a terabyte, is refused by the checks (no allocation of
// what it claims), naming the chunk.
func TestManifestClaimingHugeSizesIsAnIntegrityError(t *testing.T) {
	f := newFixture(t)
	res := f.backup(t, dumpLike(5, 3<<20))
	for name, lie := range map[string]func(c *manifest.Chunk){
		"plain size":  func(c *manifest.Chunk) { c.Size = 1 << 40 },
		"stored size": func(c *manifest.Chunk) { c.StoredSize = 1 << 40 },
	} {
		t.Run(name, func(t *testing.T) {
			chunks := slices.Clone(res.Chunks)
			lie(&chunks[0])
			_, err := f.restore(chunked.Result{Chunks: chunks, PlainSize: res.PlainSize})
			if !errors.Is(err, pipeline.ErrIntegrity) || !strings.Contains(err.Error(), chunks[0].Hash) {
				t.Fatalf("restore: err = %v, want ErrIntegrity naming chunk %s", err, chunks[0].Hash)
			}
		})
	}
}

// mustMark marks the chunks of ms, failing the test on an error.
func mustMark(t testing.TB, ms ...*manifest.Manifest) chunked.Marks {
	t.Helper()
	marks, err := chunked.Mark(ms)
	if err != nil {
		t.Fatal(err)
	}
	return marks
}

// TestBadChunkKeepsTheConsumersError: when a chunk fails, Read's error is
// the chunk's (its message, errors.Is), and what the consumer returned
// meanwhile stays reachable: a restore tool that had finished and
// committed before the failure says so through it.
func TestBadChunkKeepsTheConsumersError(t *testing.T) {
	f := newFixture(t)
	res := f.backup(t, dumpLike(8, 4<<20))
	if err := os.Remove(chunkFile(f, res.Chunks[len(res.Chunks)-1])); err != nil {
		t.Fatal(err)
	}
	finished := errors.New("reading input after it finished")
	err := f.reader().Read(context.Background(), res.Chunks, pipeline.Sums{PlainSize: res.PlainSize},
		func(r io.Reader) error {
			if _, err := io.Copy(io.Discard, r); err != nil {
				return fmt.Errorf("tool: %w: %w", finished, err)
			}
			return nil
		})
	if !errors.Is(err, storage.ErrNotFound) || !errors.Is(err, finished) || strings.Contains(err.Error(), "tool:") {
		t.Fatalf("Read = %v; want the missing chunk's error, with the consumer's reachable but not in the message", err)
	}
}
