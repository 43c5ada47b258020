package chunked_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/pipeline"
)

// BenchmarkRead restores the bench dump's chunks into a consumer that
// discards them, from a local directory and from one answering each GET
// after 100 ms, with a fetch budget of 4 MiB, 8 MiB (about what 2 chunks
// ahead held before budgets), the default and 32 MiB: whether the fetches keep the consumer
// fed. It reports the most plain bytes held (held-MiB: fetched or being
// fetched and not yet consumed) and the most GETs at once.
func BenchmarkRead(b *testing.B) {
	data := benchDump(b)
	f := newFixture(b)
	res := f.backup(b, data)
	want := pipeline.Sums{PlainSize: res.PlainSize}
	for _, delay := range []time.Duration{0, 100 * time.Millisecond} {
		for _, budget := range []int64{4 << 20, 8 << 20, 0, 32 << 20} {
			name := fmt.Sprintf("latency=%s/budget=%dMiB", delay, budget>>20)
			if budget == 0 {
				name = fmt.Sprintf("latency=%s/budget=default", delay)
			}
			b.Run(name, func(b *testing.B) {
				store := newMeteredStore(f, res.Chunks, delay, false)
				rd := f.reader()
				rd.Store, rd.FetchBudget = store, budget
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					if err := rd.Read(context.Background(), res.Chunks, want, store.consumer(nil)); err != nil {
						b.Fatal(err)
					}
				}
				held, gets, _, _ := store.stats()
				b.ReportMetric(float64(len(res.Chunks)), "chunks")
				b.ReportMetric(float64(held)/(1<<20), "held-MiB")
				b.ReportMetric(float64(gets), "max-GETs")
			})
		}
	}
}
