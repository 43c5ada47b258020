package offsite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/catalog"
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

// BenchmarkOffsiteCopy is Copier.CopyBackup: each object streamed through
// the size and SHA-256 check, the destination listed before and after,
// the manifest read, decoded and copied last.
func BenchmarkOffsiteCopy(b *testing.B) {
	src, fresh := benchSites(b)
	names := make([]string, benchTargets)
	for i := range names {
		names[i] = fmt.Sprintf("t%d", i)
	}
	m := putBackup(b, src, time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), benchObjectSize, names...)
	b.SetBytes(benchTargets * benchObjectSize)
	b.ResetTimer()
	for range b.N {
		c := offsite.Copier{Src: src, Dst: fresh()}
		if _, err := c.CopyBackup(context.Background(), m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlainCopy is the baseline: the same objects, the same client
// (storage.Store over the same SDK and part settings), Get piped into Put,
// nothing checked.
func BenchmarkPlainCopy(b *testing.B) {
	src, fresh := benchSites(b)
	names := make([]string, benchTargets)
	for i := range names {
		names[i] = fmt.Sprintf("t%d", i)
	}
	m := putBackup(b, src, time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), benchObjectSize, names...)
	b.SetBytes(benchTargets * benchObjectSize)
	b.ResetTimer()
	ctx := context.Background()
	for range b.N {
		dst := fresh()
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
}
