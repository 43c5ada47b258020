package catalog_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// BenchmarkList10000ManifestsMinIO lists a definition with 10,000 committed
// backups on a real MinIO (issue goal: one listing, timed).
func BenchmarkList10000ManifestsMinIO(b *testing.B) {
	cat := minioCatalog(b)
	const n = 10000
	seed(n, func(i int) error { return commitBenchBackup(cat, time.Duration(i)*time.Hour) })
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			listAll(b, cat, n)
		}
	})
	// The daemon keeps a cache: later listings read only changed manifests.
	cat.Cache = catalog.NewCache()
	listAll(b, cat, n)
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			listAll(b, cat, n)
		}
	})
}

// minioCatalog is the catalog of definition ns/def on a fresh MinIO.
func minioCatalog(b *testing.B) catalog.Catalog {
	m := testutil.StartMinIO(b)
	store, err := storage.Open(context.Background(), m.StorageConfig("bench"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	return catalog.Catalog{Store: store, Definition: layout.Definition{Namespace: "ns", Name: "def"}}
}

// seed runs put(0) … put(n-1), 32 at a time; the first error panics.
func seed(n int, put func(i int) error) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := put(i); err != nil {
				panic(fmt.Sprint("seeding: ", err))
			}
		}()
	}
	wg.Wait()
}

// commitBenchBackup commits a format 1 backup started at 2025-01-01 + after.
func commitBenchBackup(cat catalog.Catalog, after time.Duration) error {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(after)
	id := layout.NewID(at)
	return cat.Commit(context.Background(), &manifest.Manifest{FormatVersion: 1, ID: id, Namespace: "ns", Definition: "def",
		Status: phase.Completed, StartTime: at, EndTime: at.Add(time.Minute), Compression: "zstd",
		Targets: []manifest.Target{{Name: "main", Engine: "postgres", Object: cat.Definition.Backup(id).ObjectKey("main", "pgdump", true),
			SHA256: strings.Repeat("a", 64), PlainSHA256: strings.Repeat("b", 64)}}})
}

func listAll(b *testing.B, cat catalog.Catalog, n int) {
	ms, err := cat.List(context.Background())
	if err != nil || len(ms) != n {
		b.Fatalf("listed %d manifests, err %v", len(ms), err)
	}
}

// BenchmarkListBesideChunksMinIO lists a deduplicated definition on a real
// MinIO: 30 committed backups beside 40,000 chunks (about 50 GB of dumps at
// 800 chunks per GB). "backups" is the catalog's listing, which stops at the
// chunks; "whole directory" is the recursive listing it did before.
func BenchmarkListBesideChunksMinIO(b *testing.B) {
	ctx := context.Background()
	cat := minioCatalog(b)
	store := cat.Store
	const backups, chunks = 30, 40000
	seed(backups+chunks, func(i int) error {
		if i < backups {
			return commitBenchBackup(cat, time.Duration(i)*24*time.Hour)
		}
		return store.Put(ctx, cat.Definition.ChunkKey(fmt.Sprintf("%064x", i), true), strings.NewReader("chunk"))
	})
	benchListings(b, cat, backups, chunks)
}

// BenchmarkListBesideChunksFilesystem is BenchmarkListBesideChunksMinIO on
// the filesystem backend: 30 backups beside 40,000 chunk files.
func BenchmarkListBesideChunksFilesystem(b *testing.B) {
	ctx := context.Background()
	root := b.TempDir()
	store, err := storage.Open(ctx, storage.Config{Filesystem: &storage.FilesystemConfig{Path: root}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	cat := catalog.Catalog{Store: store, Definition: layout.Definition{Namespace: "ns", Name: "def"}}
	const backups, chunks = 30, 40000
	seed(backups, func(i int) error { return commitBenchBackup(cat, time.Duration(i)*24*time.Hour) })
	// Chunk files written directly: Put's fsync per file would make the
	// seeding take minutes.
	chunkDir := filepath.Join(root, filepath.FromSlash(cat.Definition.Dir()), "chunks")
	if err := os.MkdirAll(chunkDir, 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range chunks {
		name := filepath.Base(cat.Definition.ChunkKey(fmt.Sprintf("%064x", i), true))
		if err := os.WriteFile(filepath.Join(chunkDir, name), []byte("chunk"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	benchListings(b, cat, backups, chunks)
}

// benchListings times the catalog's listing of cat's backups (cached
// manifests) against the recursive listing of its whole directory.
func benchListings(b *testing.B, cat catalog.Catalog, backups, chunks int) {
	cat.Cache = catalog.NewCache()
	listAll(b, cat, backups)
	b.Run("backups", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			listAll(b, cat, backups)
		}
	})
	b.Run("whole directory", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			objs, err := cat.Store.List(context.Background(), cat.Definition.Dir())
			if err != nil || len(objs) < chunks {
				b.Fatalf("listed %d objects, err %v", len(objs), err)
			}
		}
	})
}
