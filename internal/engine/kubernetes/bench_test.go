package kubernetes

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// Bench sizes: 5,000 objects of 8 KiB, 40 MiB in all, so a backup that
// held a list, or even a page of 500, would show in the heap.
const (
	benchObjects   = 5000
	benchValueSize = 8 << 10
)

// BenchmarkKubernetes5000 backs up 5,000 ConfigMaps from a real API
// server and restores them into another namespace, reporting the time,
// the peak Go heap and the process's peak RSS during the backup
// (make bench prints them; the goal is ≤ 128 MiB RSS).
func BenchmarkKubernetes5000(b *testing.B) {
	env := testutil.SharedEnvtest(b)
	ns := env.CreateNamespace(b)
	start := time.Now()
	fillConfigMaps(b, env, ns)
	b.Logf("created %d ConfigMaps of %d KiB in %v", benchObjects, benchValueSize>>10, time.Since(start).Round(time.Millisecond))
	e := &Engine{}
	tg := target(b, env, v1alpha1.KubernetesTarget{IncludedNamespaces: []string{ns}, IncludedResources: []string{"configmaps"}})
	var data []byte
	for b.Loop() {
		runtime.GC()
		resetPeakRSS()
		stop := sampleHeap()
		var n countingWriter
		t0 := time.Now()
		if _, err := e.Backup(context.Background(), tg, &n); err != nil {
			b.Fatal(err)
		}
		took := time.Since(t0)
		heap := stop()
		rss := peakRSS()
		b.ReportMetric(took.Seconds(), "backup-s")
		b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
		b.Logf("backup: %d objects, %.1f MiB of tar in %v; peak heap %.1f MiB, peak RSS %.1f MiB (goal <= 128)",
			benchObjects, float64(n)/(1<<20), took.Round(time.Millisecond), float64(heap)/(1<<20), float64(rss)/(1<<20))
	}
	data = backupBytes(b, e, tg)
	t0 := time.Now()
	if err := restore(b, e, tg, data, &v1alpha1.KubernetesRestoreOptions{NamespaceMapping: map[string]string{ns: "bench-" + ns}}); err != nil {
		b.Fatal(err)
	}
	b.Logf("restore into another namespace: %d objects in %v", benchObjects, time.Since(t0).Round(time.Millisecond))
}

func fillConfigMaps(b *testing.B, env *testutil.Envtest, ns string) {
	value := strings.Repeat("x", benchValueSize)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= benchObjects; i = next.Add(1) {
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("cm-%05d", i)},
					Data: map[string]string{"value": value}}
				if err := env.Client.Create(context.Background(), cm); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)

// sampleHeap samples the live heap every 5ms until the returned function
// is called, which returns the peak.
func sampleHeap() func() uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); <-stopped; return peak.Load() }
}

// resetPeakRSS resets the kernel's high-water mark of this process's RSS
// (Linux; elsewhere the figure covers the whole process life).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is VmHWM from /proc/self/status, in bytes (0 when unknown).
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if f := strings.Fields(string(line)); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
