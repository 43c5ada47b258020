package chunked_test

import (
	"bytes"
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/coffer-dev/coffer/internal/chunked"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/pipeline"
)

// slowIdentity is an age identity that takes a moment to unwrap and counts
// the unwraps running at once: the chunks being opened.
type slowIdentity struct {
	age.Identity
	mu            sync.Mutex
	running, peak int
}

func (s *slowIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	s.mu.Lock()
	s.running++
	s.peak = max(s.peak, s.running)
	s.mu.Unlock()
	time.Sleep(5 * time.Millisecond)
	defer func() {
		s.mu.Lock()
		s.running--
		s.mu.Unlock()
	}()
	return s.Identity.Unwrap(stanzas)
}

// TestFetchesOpenOnePerCPU: Read and Check run several GETs at once (a slow
// store's latency stays hidden), but decrypt and decompress at most one
// chunk per GOMAXPROCS at a time: a downloaded chunk waits in its stored
// form, without its plain buffer and decoder.
func TestFetchesOpenOnePerCPU(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	f := newFixture(t)
	data := dumpLike(11, 24<<20)
	res := f.backup(t, data)
	if len(res.Chunks) < 2*chunked.MaxFetches {
		t.Fatalf("%d chunks; the test needs many", len(res.Chunks))
	}
	for _, how := range []string{"read", "check"} {
		store := newMeteredStore(f, res.Chunks, 20*time.Millisecond, false)
		id := &slowIdentity{Identity: f.id}
		rd := f.reader()
		rd.Store, rd.Identities, rd.FetchBudget = store, []age.Identity{id}, 64<<20
		switch how {
		case "read":
			var got bytes.Buffer
			if err := rd.Read(context.Background(), res.Chunks, pipeline.Sums{PlainSize: res.PlainSize}, store.consumer(&got)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("read %d bytes, not the dump's %d in order", got.Len(), len(data))
			}
		case "check":
			chk, err := rd.Check(context.Background(), []manifest.Target{{Chunks: res.Chunks}})
			if err != nil || len(chk.Bad) > 0 || chk.Chunks == 0 {
				t.Fatalf("check: %+v, %v", chk, err)
			}
		}
		_, peakGets, _, _ := store.stats()
		if id.peak > 2 {
			t.Errorf("%s: opened up to %d chunks at once with GOMAXPROCS 2; want at most 2", how, id.peak)
		}
		if peakGets <= 2 {
			t.Errorf("%s: up to %d GETs at once; want more than the 2 chunks opened at once", how, peakGets)
		}
	}
}
