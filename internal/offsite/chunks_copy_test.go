package offsite_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/offsite"
	"github.com/coffer-dev/coffer/internal/storage"
)

// TestOffsiteChunked copies format 2 backups between two real MinIO
// servers, and between two filesystem storages.
func TestOffsiteChunked(t *testing.T) {
	t.Run("minio", func(t *testing.T) { testOffsiteChunked(t, twoMinIOs(t)) })
	t.Run("filesystem", func(t *testing.T) { testOffsiteChunked(t, twoFilesystems(t)) })
}

func twoFilesystems(t *testing.T) sites {
	t.Helper()
	open := func() catalog.Catalog {
		s, err := storage.Open(context.Background(), storage.Config{Filesystem: &storage.FilesystemConfig{Path: t.TempDir()}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return catalog.Catalog{Store: s, Definition: def}
	}
	return sites{primary: open(), offsite: open()}
}

func testOffsiteChunked(t *testing.T, s sites) {
	ctx := context.Background()
	dst := &counting{Store: s.offsite.Store}
	dst.reset()
	s.offsite.Store = dst
	c := offsite.Copier{Src: s.primary, Dst: s.offsite}
	start := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	var pool []chunk
	for range 5 {
		pool = append(pool, newChunk(t, s.primary, 200<<10))
	}
	a, b, cc, d, e := pool[0], pool[1], pool[2], pool[3], pool[4]

	t.Run("two backups sharing chunks: each chunk is put once, and both read back offsite", func(t *testing.T) {
		one := putChunked(t, s.primary, start, map[string][]chunk{"main": {a, b, cc}, "ci": {cc, d, cc}})
		two := putChunked(t, s.primary, start.Add(time.Hour), map[string][]chunk{"main": {a, b, e}, "ci": {cc, d}})
		rep, err := c.Sync(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Copied) != 2 || rep.Copied[0].Chunks != 4 || rep.Copied[1].Chunks != 1 || rep.Copied[1].Reused != 4 {
			t.Fatalf("report %+v: want 4 chunks copied for the first backup, 1 for the second with 4 reused", rep.Copied)
		}
		if rep.Bytes() != 5*200<<10 {
			t.Fatalf("streamed %d bytes, want the 5 distinct chunks once: %d", rep.Bytes(), 5*200<<10)
		}
		for _, ch := range pool {
			if n := dst.puts[def.ChunkKey(ch.hash, true)]; n != 1 {
				t.Errorf("chunk %s was put offsite %d times, want once", ch.hash, n)
			}
		}
		if n := dst.lists[def.ChunksDir()]; n != 1 {
			t.Errorf("the offsite chunk directory was listed %d times in one run, want once", n)
		}
		for _, m := range []*manifest.Manifest{one, two} {
			if !bytes.Equal(read(t, s.primary.Store, def.Backup(m.ID).ManifestKey()), read(t, s.offsite.Store, def.Backup(m.ID).ManifestKey())) {
				t.Errorf("manifest of %s differs offsite", m.ID)
			}
			for _, name := range []string{"main", "ci"} {
				if !bytes.Equal(readTarget(t, s.primary.Store, m, name), readTarget(t, s.offsite.Store, m, name)) {
					t.Errorf("backup %s, target %s reads back differently offsite", m.ID, name)
				}
			}
		}
		dst.reset()
		if rep, err := c.Sync(ctx, nil); err != nil || len(rep.Copied) != 0 || len(dst.puts) != 0 {
			t.Fatalf("second sync: %+v, %v, puts %v", rep, err, dst.puts)
		}
	})

	t.Run("a chunk missing or of the wrong size on the primary fails its backup only", func(t *testing.T) {
		gone, short, f := newChunk(t, s.primary, 100<<10), newChunk(t, s.primary, 100<<10), newChunk(t, s.primary, 100<<10)
		missing := putChunked(t, s.primary, start.Add(2*time.Hour), map[string][]chunk{"main": {a, gone}})
		if err := s.primary.Store.Delete(ctx, def.ChunkKey(gone.hash, true)); err != nil {
			t.Fatal(err)
		}
		wrong := putChunked(t, s.primary, start.Add(3*time.Hour), map[string][]chunk{"ci": {short}})
		if err := s.primary.Store.Put(ctx, def.ChunkKey(short.hash, true), bytes.NewReader(short.data[:1000])); err != nil {
			t.Fatal(err)
		}
		good := putChunked(t, s.primary, start.Add(4*time.Hour), map[string][]chunk{"main": {a, f}})
		dst.reset()
		rep, err := c.Sync(ctx, nil)
		if !errors.Is(err, storage.ErrNotFound) || !errors.Is(err, offsite.ErrMismatch) {
			t.Fatalf("sync with a missing and a short chunk: %v", err)
		}
		for _, want := range []string{missing.ID, `target "main"`, def.ChunkKey(gone.hash, true), wrong.ID, `target "ci"`, def.ChunkKey(short.hash, true)} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not name %s: %v", want, err)
			}
		}
		if len(rep.Copied) != 1 || rep.Copied[0].ID != good.ID || rep.Failed != 2 {
			t.Fatalf("report %+v: want only %s copied, 2 failed", rep, good.ID)
		}
		held := offsiteIDs(t, s.offsite)
		if held[missing.ID] || held[wrong.ID] || !held[good.ID] {
			t.Fatalf("offsite lists %v", held)
		}
		for _, k := range []string{def.Backup(missing.ID).ManifestKey(), def.Backup(wrong.ID).ManifestKey(), def.ChunkKey(short.hash, true)} {
			if exists(t, s.offsite.Store, k) {
				t.Errorf("%s is offsite", k)
			}
		}
		for _, id := range []string{missing.ID, wrong.ID} {
			if err := s.primary.DeleteBackup(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("an interrupted copy commits nothing and the next run completes it", func(t *testing.T) {
		var chunks []chunk
		for range 12 {
			chunks = append(chunks, newChunk(t, s.primary, 64<<10))
		}
		m := putChunked(t, s.primary, start.Add(5*time.Hour), map[string][]chunk{"main": append(chunks, a), "ci": chunks[:6]})
		cctx, cancel := context.WithCancel(ctx)
		var copied atomic.Int32
		cut := c
		cut.AfterObject = func(string) { // the runner dies after three chunks
			if copied.Add(1) == 3 {
				cancel()
			}
		}
		if _, err := cut.Sync(cctx, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted sync: %v", err)
		}
		if offsiteIDs(t, s.offsite)[m.ID] || exists(t, s.offsite.Store, def.Backup(m.ID).ManifestKey()) {
			t.Fatal("the interrupted copy is visible offsite")
		}
		there := 0
		for _, ch := range chunks {
			if exists(t, s.offsite.Store, def.ChunkKey(ch.hash, true)) {
				there++
			}
		}
		if there < 3 || there == len(chunks) {
			t.Fatalf("%d of %d chunks offsite after the interruption, want at least 3 and not all", there, len(chunks))
		}
		dst.reset()
		rep, err := c.Sync(ctx, nil)
		if err != nil || len(rep.Copied) != 1 || rep.Copied[0].Reused != there+1 || rep.Copied[0].Chunks != len(chunks)-there {
			t.Fatalf("resumed copy: %+v, %v (%d chunks were offsite)", rep.Copied, err, there)
		}
		for _, name := range []string{"main", "ci"} {
			if !bytes.Equal(readTarget(t, s.primary.Store, m, name), readTarget(t, s.offsite.Store, m, name)) {
				t.Errorf("target %s reads back differently offsite", name)
			}
		}
	})
}

func exists(t *testing.T, s storage.Store, key string) bool {
	t.Helper()
	rc, err := s.Get(context.Background(), key)
	if errors.Is(err, storage.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	return true
}
