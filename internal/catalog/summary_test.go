package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/storage"
)

// chunkedManifest is a format 2 backup of one target with n chunks.
func chunkedManifest(cat catalog.Catalog, id string, start time.Time, n int) *manifest.Manifest {
	m := testManifest(cat, id, start)
	m.FormatVersion = manifest.FormatChunked
	m.Chunking = &manifest.Chunking{Chunker: "fastcdc-v1.0.0", Hash: "blake3-keyed", Dir: cat.Definition.ChunksDir(), Suffix: layout.ChunkSuffix(true)}
	t := &m.Targets[0]
	t.Object, t.SHA256, t.PlainSHA256 = cat.Definition.ChunksDir(), "", ""
	for i := range n {
		t.Chunks = append(t.Chunks, manifest.Chunk{Hash: fmt.Sprintf("%064x", i), Size: 1 << 20, StoredSize: 400 << 10})
		t.PlainSize += 1 << 20
		t.Size += 400 << 10
	}
	t.NewSize = t.Size
	return m
}

// TestListHoldsSummaries: a listing (and the daemon's cache of it) holds
// no chunk lists, so its memory does not grow with the backups' size;
// Get, "latest" and Full give the whole manifest; a summary is never
// written back.
func TestListHoldsSummaries(t *testing.T) {
	ctx := context.Background()
	cat := catalog.Catalog{Store: filesystemStore(t), Definition: layout.Definition{Namespace: "ns", Name: "def"}, Cache: catalog.NewCache()}
	t0 := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	const backups, chunks = 10, 20000
	for i := range backups {
		at := t0.Add(time.Duration(i) * time.Hour)
		if err := cat.Commit(ctx, chunkedManifest(cat, layout.NewID(at), at, chunks)); err != nil {
			t.Fatal(err)
		}
	}

	before := heapInUse()
	ms, err := cat.List(ctx)
	if err != nil || len(ms) != backups {
		t.Fatalf("List = %d backups, %v", len(ms), err)
	}
	held := heapInUse() - before
	// 200,000 chunk references would take some 20 MB; summaries a few KB.
	if held > 2<<20 {
		t.Errorf("the listing and its cache hold %d KiB more heap, want summaries of a few KiB", held>>10)
	}
	for _, m := range ms {
		if !m.IsSummary() || len(m.Targets[0].Chunks) != 0 || m.Targets[0].PlainSize != chunks<<20 || m.Targets[0].NewSize == 0 {
			t.Fatalf("listed %s: summary %v, %d chunks, plain %d, new %d; want a summary with the sizes and no chunks",
				m.ID, m.IsSummary(), len(m.Targets[0].Chunks), m.Targets[0].PlainSize, m.Targets[0].NewSize)
		}
	}
	runtime.KeepAlive(ms)

	newest := ms[len(ms)-1]
	latest, err := cat.Get(ctx, "latest")
	if err != nil || latest.ID != newest.ID || latest.IsSummary() || len(latest.Targets[0].Chunks) != chunks {
		t.Fatalf("Get(latest) = %v, %v; want %s in full", describe(latest), err, newest.ID)
	}
	full, err := cat.Full(ctx, ms[0])
	if err != nil || full.IsSummary() || len(full.Targets[0].Chunks) != chunks {
		t.Fatalf("Full(%s) = %v, %v; want it in full", ms[0].ID, describe(full), err)
	}
	if same, _ := cat.Full(ctx, full); same != full {
		t.Error("Full of a whole manifest read it again")
	}

	newest.Labels = []string{"pinned"}
	if err := cat.Commit(ctx, newest); !errors.Is(err, manifest.ErrSummary) {
		t.Fatalf("Commit of a summary = %v, want ErrSummary", err)
	}
	if again, err := cat.Get(ctx, newest.ID); err != nil || len(again.Targets[0].Chunks) != chunks || len(again.Labels) != 0 {
		t.Fatalf("after the refused commit, %s = %v, %v; want it unchanged", newest.ID, describe(again), err)
	}

	if err := cat.DeleteBackup(ctx, ms[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.Full(ctx, ms[1]); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Full of a backup deleted since the listing = %v, want ErrNotFound", err)
	}
}

func describe(m *manifest.Manifest) string {
	if m == nil {
		return "nil"
	}
	return fmt.Sprintf("%s (summary %v, %d chunks)", m.ID, m.IsSummary(), len(m.Targets[0].Chunks))
}

func heapInUse() int64 {
	runtime.GC()
	var st runtime.MemStats
	runtime.ReadMemStats(&st)
	return int64(st.HeapInuse)
}
