package storage_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestPutMemoryBounded checks the promise of docs/storage.md: one S3 or
// Azure upload holds about PartSize × (Concurrency+2) bytes, however long
// the stream. It measures memory in use, not time, so a slow machine
// cannot fail it: heap in use for S3, and for Azure, whose SDK keeps its
// block buffers in anonymous mmap outside the Go heap, the process's
// resident anonymous memory as well.
func TestPutMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 256 MiB")
	}
	for backend, config := range map[string]func(t *testing.T) storage.Config{
		"s3":    func(t *testing.T) storage.Config { return testutil.StartMinIO(t).StorageConfig("memory") },
		"azure": func(t *testing.T) storage.Config { return testutil.StartAzurite(t).StorageConfig("memory") },
	} {
		t.Run(backend, func(t *testing.T) { putMemoryBounded(t, config(t), backend == "azure") })
	}
}

func putMemoryBounded(t *testing.T, c storage.Config, offHeap bool) {
	inUse := heapInUse
	if offHeap {
		inUse = func() uint64 { return max(heapInUse(), rssAnon(t)) }
	}
	c.PartSize = 8 * mib
	c.Concurrency = 2
	const size = 256 * mib
	bound := uint64(c.PartSize)*uint64(c.Concurrency+2) + 16*mib

	s := fixture{base: c}.open(t, nil)
	runtime.GC()
	baseline := inUse()
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			if h := inUse(); h > peak {
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
	t.Logf("upload of %d MiB, %d MiB parts, concurrency %d: peak memory in use %.1f MiB above a %.1f MiB baseline (bound %d MiB)",
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

// rssAnon is the process's resident anonymous memory (Linux), which
// includes both the Go heap and anonymous mmaps.
func rssAnon(t *testing.T) uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("cannot measure memory outside the Go heap: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("RssAnon %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Skip("no RssAnon in /proc/self/status")
	return 0
}
