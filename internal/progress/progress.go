// Package progress counts the bytes of each target while a backup or
// restore runs, so the runner API can show how far it is. Counting happens
// on the data path of every stream, so it is lock free: each counter is an
// atomic, bumped once per Read or Write call (a buffer, not a byte), and a
// snapshot reads them without stopping the streams.
package progress

import (
	"io"
	"sync/atomic"
	"time"

	"github.com/coffer-dev/coffer/internal/phase"
)

// Target counts one target's bytes. A nil *Target counts nothing, so code
// paths without progress (the CLI's one-shot commands) pass nil.
type Target struct {
	name   string
	phase  atomic.Int32 // index into phase.Targets
	start  atomic.Int64 // unix nanoseconds; 0 until started
	plain  atomic.Int64
	stored atomic.Int64
}

// Set is the targets of one backup or restore, in the config's order.
type Set struct {
	targets []*Target
}

// NewSet returns a set of waiting targets.
func NewSet(names ...string) *Set {
	s := &Set{}
	for _, n := range names {
		s.targets = append(s.targets, &Target{name: n})
	}
	return s
}

// Target returns the named target, or nil (count nothing) when s is nil or
// has no such target.
func (s *Set) Target(name string) *Target {
	if s == nil {
		return nil
	}
	for _, t := range s.targets {
		if t.name == name {
			return t
		}
	}
	return nil
}

// Snapshot is one target's counters at one moment.
type Snapshot struct {
	Name        string
	Phase       phase.TargetPhase
	PlainBytes  int64
	StoredBytes int64
	// StartTime is zero while the target waits.
	StartTime time.Time
}

// Snapshot reads every target's counters; nil for a nil set.
func (s *Set) Snapshot() []Snapshot {
	if s == nil {
		return nil
	}
	out := make([]Snapshot, len(s.targets))
	for i, t := range s.targets {
		out[i] = Snapshot{Name: t.name, Phase: phase.Targets[t.phase.Load()],
			PlainBytes: t.plain.Load(), StoredBytes: t.stored.Load()}
		if ns := t.start.Load(); ns != 0 {
			out[i].StartTime = time.Unix(0, ns).UTC()
		}
	}
	return out
}

// Start marks the target running since now and zeroes its counters (a
// restore's verification pass reads everything once before it restores).
func (t *Target) Start(now time.Time) {
	if t == nil {
		return
	}
	t.plain.Store(0)
	t.stored.Store(0)
	t.start.Store(now.UnixNano())
	t.setPhase(phase.TargetRunning)
}

// End marks the target done, or failed when err is not nil.
func (t *Target) End(err error) {
	if t == nil {
		return
	}
	if err != nil {
		t.setPhase(phase.TargetFailed)
		return
	}
	t.setPhase(phase.TargetDone)
}

func (t *Target) setPhase(p phase.TargetPhase) {
	for i, q := range phase.Targets {
		if q == p {
			t.phase.Store(int32(i))
		}
	}
}

// PlainWriter counts the plain bytes written through it into w.
func (t *Target) PlainWriter(w io.Writer) io.Writer {
	if t == nil {
		return w
	}
	return &countWriter{w: w, n: &t.plain}
}

// PlainReader counts the plain bytes read through it from r.
func (t *Target) PlainReader(r io.Reader) io.Reader {
	if t == nil {
		return r
	}
	return &countReader{r: r, n: &t.plain}
}

// StoredReader counts the stored bytes read through it from r: what an
// upload reads from the pipeline, or a download from storage.
func (t *Target) StoredReader(r io.Reader) io.Reader {
	if t == nil {
		return r
	}
	return &countReader{r: r, n: &t.stored}
}

type countWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

type countReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
