package pipeline_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/coffer-dev/coffer/internal/pipeline"
	"github.com/coffer-dev/coffer/internal/progress"
	"github.com/coffer-dev/coffer/internal/storage"
)

func openStore(t *testing.T) (storage.Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := storage.Open(context.Background(), storage.Config{Filesystem: &storage.FilesystemConfig{Path: dir}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func newKey(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// sample is a dump-like payload: compressible text with random blocks.
func sample(t *testing.T, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	chunk := make([]byte, 4096)
	for b.Len() < n {
		b.WriteString(strings.Repeat("INSERT INTO t VALUES (42, 'héllo wörld');\n", 50))
		rand.Read(chunk)
		b.Write(chunk)
	}
	return b.Bytes()[:n]
}

func dumpOf(data []byte) pipeline.DumpFunc {
	return func(_ context.Context, w io.Writer) error {
		_, err := io.Copy(w, bytes.NewReader(data))
		return err
	}
}

func TestRoundTrip(t *testing.T) {
	cases := map[string]struct {
		encrypt bool
		size    int
	}{
		"encrypted":       {encrypt: true, size: 3 << 20},
		"clear":           {encrypt: false, size: 3 << 20},
		"empty dump":      {encrypt: true, size: 0},
		"one odd-size KB": {encrypt: true, size: 1023},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			store, _ := openStore(t)
			id := newKey(t)
			var opts pipeline.Options
			var ids []age.Identity
			if tc.encrypt {
				opts.Recipients = []age.Recipient{id.Recipient()}
				ids = []age.Identity{id}
			}
			data := sample(t, tc.size)
			sums, err := pipeline.Backup(context.Background(), store, "ns/def/x/main.pgdump.zst.age", opts, dumpOf(data))
			if err != nil {
				t.Fatal(err)
			}
			if sums.PlainSize != int64(len(data)) || sums.Size == 0 {
				t.Fatalf("sums %+v for %d bytes", sums, len(data))
			}
			var got bytes.Buffer
			err = pipeline.Read(context.Background(), store, "ns/def/x/main.pgdump.zst.age", ids, sums, func(r io.Reader) error {
				_, err := io.Copy(&got, r)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("restored %d bytes differ from the %d dumped", got.Len(), len(data))
			}
		})
	}
}

func TestDumpFailureLeavesNothing(t *testing.T) {
	store, dir := openStore(t)
	boom := errors.New("pg_dump: exit status 1")
	_, err := pipeline.Backup(context.Background(), store, "ns/def/x/main.pgdump.zst", pipeline.Options{}, func(_ context.Context, w io.Writer) error {
		w.Write(sample(t, 2<<20))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the dump's error", err)
	}
	objs, err := store.List(context.Background(), "")
	if err != nil || len(objs) != 0 {
		t.Fatalf("after a failed dump, storage lists %v (err %v)", objs, err)
	}
	var files []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Fatalf("files left behind: %v", files)
	}
}

// TestCorruption: every kind of damage is an integrity error, never silent.
func TestCorruption(t *testing.T) {
	cases := map[string]func(b []byte) []byte{
		"flipped byte in the middle": func(b []byte) []byte { b[len(b)/2] ^= 0x01; return b },
		"flipped byte at the end":    func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b },
		"truncated":                  func(b []byte) []byte { return b[:len(b)-100] },
		"truncated to header":        func(b []byte) []byte { return b[:200] },
		"appended garbage":           func(b []byte) []byte { return append(b, "garbage"...) },
	}
	for name, damage := range cases {
		for _, encrypt := range []bool{true, false} {
			t.Run(name+map[bool]string{true: " encrypted", false: " clear"}[encrypt], func(t *testing.T) {
				store, dir := openStore(t)
				id := newKey(t)
				var opts pipeline.Options
				var ids []age.Identity
				if encrypt {
					opts.Recipients, ids = []age.Recipient{id.Recipient()}, []age.Identity{id}
				}
				key := "ns/def/x/main.sql.zst"
				sums, err := pipeline.Backup(context.Background(), store, key, opts, dumpOf(sample(t, 1<<20)))
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(dir, filepath.FromSlash(key))
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, damage(b), 0o600); err != nil {
					t.Fatal(err)
				}
				err = pipeline.Read(context.Background(), store, key, ids, sums, func(r io.Reader) error {
					_, err := io.Copy(io.Discard, r)
					return err
				})
				if !errors.Is(err, pipeline.ErrIntegrity) {
					t.Fatalf("err = %v, want ErrIntegrity", err)
				}
			})
		}
	}
}

func TestWrongIdentityFailsBeforeConsuming(t *testing.T) {
	store, _ := openStore(t)
	right, wrong := newKey(t), newKey(t)
	sums, err := pipeline.Backup(context.Background(), store, "k.zst.age", pipeline.Options{Recipients: []age.Recipient{right.Recipient()}}, dumpOf(sample(t, 1<<16)))
	if err != nil {
		t.Fatal(err)
	}
	called := false
	err = pipeline.Read(context.Background(), store, "k.zst.age", []age.Identity{wrong}, sums, func(r io.Reader) error {
		called = true
		return nil
	})
	if !errors.Is(err, pipeline.ErrDecrypt) {
		t.Fatalf("err = %v, want ErrDecrypt", err)
	}
	if called {
		t.Fatal("the consumer (the database) was reached with a wrong identity")
	}
}

func TestUploadFailureStopsDump(t *testing.T) {
	store, _ := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A dump that would never end on its own: the upload's failure must stop it.
	_, err := pipeline.Backup(ctx, store, "../escape", pipeline.Options{}, func(ctx context.Context, w io.Writer) error {
		buf := make([]byte, 32<<10)
		for {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	})
	if err == nil {
		t.Fatal("backup to an invalid key succeeded")
	}
}

func BenchmarkBackup(b *testing.B) {
	dir := b.TempDir()
	store, err := storage.Open(context.Background(), storage.Config{Filesystem: &storage.FilesystemConfig{Path: dir}})
	if err != nil {
		b.Fatal(err)
	}
	id, _ := age.GenerateX25519Identity()
	data := bytes.Repeat([]byte("COPY public.events (id, body) FROM stdin;\n1\tsome text 0123456789abcdef\n"), 1<<18)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := pipeline.Backup(context.Background(), store, "bench.zst.age", pipeline.Options{Recipients: []age.Recipient{id.Recipient()}}, dumpOf(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBackupCounted is BenchmarkBackup with the runner's live progress
// counting: the dump's writer and the upload's reader counted, as
// internal/runner wraps them. Compare the two: counting must cost nothing
// measurable.
func BenchmarkBackupCounted(b *testing.B) {
	dir := b.TempDir()
	store, err := storage.Open(context.Background(), storage.Config{Filesystem: &storage.FilesystemConfig{Path: dir}})
	if err != nil {
		b.Fatal(err)
	}
	id, _ := age.GenerateX25519Identity()
	data := bytes.Repeat([]byte("COPY public.events (id, body) FROM stdin;\n1\tsome text 0123456789abcdef\n"), 1<<18)
	b.SetBytes(int64(len(data)))
	tp := progress.NewSet("main").Target("main")
	for b.Loop() {
		dump := func(ctx context.Context, w io.Writer) error { return dumpOf(data)(ctx, tp.PlainWriter(w)) }
		if _, err := pipeline.Backup(context.Background(), countedStore{store, tp}, "bench.zst.age", pipeline.Options{Recipients: []age.Recipient{id.Recipient()}}, dump); err != nil {
			b.Fatal(err)
		}
	}
}

type countedStore struct {
	storage.Store
	tp *progress.Target
}

func (s countedStore) Put(ctx context.Context, key string, r io.Reader) error {
	return s.Store.Put(ctx, key, s.tp.StoredReader(r))
}
