package chunked_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/pipeline"
	"github.com/coffer-dev/coffer/internal/storage"
)

// slowStore answers every Get after a delay, like object storage's first
// byte latency.
type slowStore struct {
	storage.Store
	delay time.Duration
}

func (s slowStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	time.Sleep(s.delay)
	return s.Store.Get(ctx, key)
}

// BenchmarkRead restores the bench dump's chunks into a consumer that
// discards them, from a local directory and from one answering each GET
// after 100 ms, fetching 2, 4 or 8 chunks ahead: whether the fetches keep
// the consumer fed.
func BenchmarkRead(b *testing.B) {
	data := benchDump(b)
	f := newFixture(b)
	res := f.backup(b, data)
	want := pipeline.Sums{PlainSize: res.PlainSize}
	for _, delay := range []time.Duration{0, 100 * time.Millisecond} {
		for _, ahead := range []int{2, 4, 8} {
			b.Run(fmt.Sprintf("latency=%s/ahead=%d", delay, ahead), func(b *testing.B) {
				rd := f.reader()
				rd.Store, rd.Ahead = slowStore{f.store, delay}, ahead
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					err := rd.Read(context.Background(), res.Chunks, want, func(r io.Reader) error {
						_, err := io.Copy(io.Discard, r)
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(res.Chunks)), "chunks")
			})
		}
	}
}
