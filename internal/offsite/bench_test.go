package offsite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/offsite"
	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// benchObjects is the backup both copy benchmarks move: four targets of
// 64 MiB of random (incompressible, as encrypted) bytes.
const (
	benchTargets    = 4
	benchObjectSize = 64 << 20
)

// benchSites is a primary MinIO holding the backup and an offsite MinIO;
// fresh returns a destination store under a new prefix, so each iteration
// copies into an empty place.
func benchSites(b *testing.B) (src catalog.Catalog, fresh func() catalog.Catalog) {
	b.Helper()
	ma, mb := testutil.StartMinIO(b), testutil.StartMinIO(b)
	open := func(m *testutil.MinIO, prefix string) storage.Store {
		s, err := storage.Open(context.Background(), m.StorageConfig(prefix))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	src = catalog.Catalog{Store: open(ma, "site-a"), Definition: def}
	n := 0
	return src, func() catalog.Catalog {
		n++
		return catalog.Catalog{Store: open(mb, fmt.Sprintf("run-%d", n)), Definition: def}
	}
}

// BenchmarkOffsiteCopy compares, on the same backup, Copier.CopyBackup
// (each object streamed through the size and SHA-256 check, the
// destination listed before and after, the manifest read, decoded and
// copied last) with the baseline: the same objects with the same client
// (storage.Store over the same SDK and part settings), Get piped into Put,
// nothing checked. The two alternate within each iteration, so load from
// elsewhere on a shared machine falls on both alike; it reports the MB/s
// of each and their ratio.
func BenchmarkOffsiteCopy(b *testing.B) {
	src, fresh := benchSites(b)
	names := make([]string, benchTargets)
	for i := range names {
		names[i] = fmt.Sprintf("t%d", i)
	}
	m := putBackup(b, src, time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), benchObjectSize, names...)
	ctx := context.Background()
	var checked, plain time.Duration
	b.ResetTimer()
	for i := range b.N {
		copies := []func(){
			func() {
				start := time.Now()
				if _, err := (offsite.Copier{Src: src, Dst: fresh()}).CopyBackup(ctx, m); err != nil {
					b.Fatal(err)
				}
				checked += time.Since(start)
			},
			func() {
				start := time.Now()
				plainCopy(b, ctx, src, fresh(), m)
				plain += time.Since(start)
			},
		}
		if i%2 == 1 { // neither always goes first
			copies[0], copies[1] = copies[1], copies[0]
		}
		copies[0]()
		copies[1]()
	}
	bytes := float64(b.N) * benchTargets * benchObjectSize / 1e6
	b.ReportMetric(bytes/checked.Seconds(), "offsite-MB/s")
	b.ReportMetric(bytes/plain.Seconds(), "plain-MB/s")
	b.ReportMetric(plain.Seconds()/checked.Seconds(), "offsite/plain")
}

func plainCopy(b *testing.B, ctx context.Context, src, dst catalog.Catalog, m *manifest.Manifest) {
	for _, t := range m.Targets {
		rc, err := src.Store.Get(ctx, t.Object)
		if err != nil {
			b.Fatal(err)
		}
		err = dst.Store.Put(ctx, t.Object, rc)
		rc.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOffsiteCopyChunked copies a format 2 backup of 256 chunks of
// 1 MiB (random, as encrypted chunks are) into an empty offsite prefix
// with Copier.CopyBackup (one listing of the chunk directory, chunks
// streamed chunkConcurrency at a time through the size check, the manifest
// last), alternating with the baseline: the same chunks with the same
// client, Get piped into Put one after the other, nothing checked.
func BenchmarkOffsiteCopyChunked(b *testing.B) {
	const chunks, size = 256, 1 << 20
	src, fresh := benchSites(b)
	var list []chunk
	for range chunks {
		list = append(list, newChunk(b, src, size))
	}
	m := putChunked(b, src, time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), map[string][]chunk{"main": list})
	ctx := context.Background()
	var checked, plain time.Duration
	b.ResetTimer()
	for i := range b.N {
		copies := []func(){
			func() {
				start := time.Now()
				res, err := (offsite.Copier{Src: src, Dst: fresh()}).CopyBackup(ctx, m)
				if err != nil || res.Chunks != chunks {
					b.Fatalf("%+v, %v", res, err)
				}
				checked += time.Since(start)
			},
			func() {
				start := time.Now()
				dst := fresh()
				for _, c := range m.Targets[0].Chunks {
					key := def.ChunkKey(c.Hash, true)
					rc, err := src.Store.Get(ctx, key)
					if err != nil {
						b.Fatal(err)
					}
					err = dst.Store.Put(ctx, key, rc)
					rc.Close()
					if err != nil {
						b.Fatal(err)
					}
				}
				plain += time.Since(start)
			},
		}
		if i%2 == 1 {
			copies[0], copies[1] = copies[1], copies[0]
		}
		copies[0]()
		copies[1]()
	}
	bytes := float64(b.N) * chunks * size / 1e6
	b.ReportMetric(bytes/checked.Seconds(), "offsite-MB/s")
	b.ReportMetric(bytes/plain.Seconds(), "sequential-MB/s")
	b.ReportMetric(float64(b.N)*chunks/checked.Seconds(), "offsite-chunks/s")
}
