package progress

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/phase"
)

func TestTargetLife(t *testing.T) {
	s := NewSet("a", "b")
	a := s.Target("a")
	start := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	a.Start(start)
	var out bytes.Buffer
	if _, err := io.Copy(a.PlainWriter(&out), strings.NewReader("hello world")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, a.StoredReader(strings.NewReader("abc"))); err != nil {
		t.Fatal(err)
	}
	s.Target("b").Start(start)
	s.Target("b").End(errors.New("boom"))
	a.End(nil)
	got := s.Snapshot()
	want := []Snapshot{
		{Name: "a", Phase: phase.TargetDone, PlainBytes: 11, StoredBytes: 3, StartTime: start},
		{Name: "b", Phase: phase.TargetFailed, StartTime: start},
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("target %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	// A restart (a restore's second pass) counts from zero again.
	a.Start(start.Add(time.Minute))
	if g := s.Snapshot()[0]; g.PlainBytes != 0 || g.StoredBytes != 0 || g.Phase != phase.TargetRunning {
		t.Errorf("restarted: %+v", g)
	}
}

// Nothing counts without a set: the CLI's one-shot commands pass nil.
func TestNilCountsNothing(t *testing.T) {
	var s *Set
	tp := s.Target("a")
	tp.Start(time.Now())
	tp.End(nil)
	var out bytes.Buffer
	w := tp.PlainWriter(&out)
	if w != io.Writer(&out) {
		t.Error("a nil target wraps the writer")
	}
	if s.Snapshot() != nil || NewSet("a").Target("b") != nil {
		t.Error("unknown targets are counted")
	}
}

// Counters are read while streams write them (go test -race checks it).
func TestConcurrentCounting(t *testing.T) {
	s := NewSet("a")
	a := s.Target("a")
	a.Start(time.Now())
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := a.PlainWriter(io.Discard)
			for range 1000 {
				w.Write(make([]byte, 10))
			}
		}()
	}
	for range 100 {
		s.Snapshot()
	}
	wg.Wait()
	if got := s.Snapshot()[0].PlainBytes; got != 40000 {
		t.Errorf("counted %d bytes, want 40000", got)
	}
}

// BenchmarkCounting: the cost of counting on a stream, per 32 KiB write
// (the size io.Copy uses), against the same writes uncounted.
func BenchmarkCounting(b *testing.B) {
	buf := make([]byte, 32<<10)
	for name, counted := range map[string]bool{"plain": false, "counted": true} {
		b.Run(name, func(b *testing.B) {
			w := io.Writer(io.Discard) // an interface either way, so both measure the same call
			if counted {
				w = NewSet("a").Target("a").PlainWriter(w)
			}
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				w.Write(buf)
			}
		})
	}
}
