package storage_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestPutMemoryBounded checks the promise of docs/storage.md: one S3 upload
// holds about PartSize × (Concurrency+2) bytes, however long the stream.
// It measures heap in use, not time, so a slow machine cannot fail it.
func TestPutMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 256 MiB")
	}
	m := testutil.StartMinIO(t)
	c := m.StorageConfig("memory")
	c.PartSize = 8 * mib
	c.Concurrency = 2
	const size = 256 * mib
	bound := uint64(c.PartSize)*uint64(c.Concurrency+2) + 16*mib

	s := fixture{base: c}.open(t, nil)
	runtime.GC()
	baseline := heapInUse()
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			if h := heapInUse(); h > peak {
				peak = h
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	err := s.Put(context.Background(), "big", newRandomStream(9, size))
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	used := peak - min(peak, baseline)
	t.Logf("upload of %d MiB, %d MiB parts, concurrency %d: peak heap in use %.1f MiB above a %.1f MiB baseline (bound %d MiB)",
		size/mib, c.PartSize/mib, c.Concurrency, float64(used)/mib, float64(baseline)/mib, bound/mib)
	if used > bound {
		t.Errorf("upload held %.1f MiB, over the bound of %d MiB", float64(used)/mib, bound/mib)
	}
	if got := getAll(t, s, "big"); got.n != size {
		t.Fatalf("read back %d bytes, want %d", got.n, size)
	}
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
