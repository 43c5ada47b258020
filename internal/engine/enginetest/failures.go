package enginetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/coffer-dev/coffer/internal/engine"
)

var (
	errWrite = errors.New("enginetest: storage write failed")
	errRead  = errors.New("enginetest: storage read failed")
)

// writerFails: the pipeline's writer fails after some bytes; Backup must
// fail with that error, and return (the tool must not hang on a full pipe).
func (f fixture) writerFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	_, err := f.h.Engine().Backup(ctx, f.src, &failingWriter{left: 64 << 10})
	if !errors.Is(err, errWrite) {
		t.Fatalf("Backup into a failing writer: error = %v, want it to wrap %v", err, errWrite)
	}
	mustName(t, err, f.src)
}

// dumpProcessKilled: the dump tool dies from a signal mid-stream.
func (f fixture) dumpProcessKilled(t *testing.T) {
	if len(f.h.Tools()) == 0 {
		t.Skip("the engine runs no tool")
	}
	var killErr error
	w := &hookWriter{hook: func() { killErr = killChildren(f.h.Tools()) }}
	err := f.backupVia(w, context.Background())
	if killErr != nil {
		t.Fatalf("killing the dump tool: %v", killErr)
	}
	if err == nil {
		t.Fatal("Backup succeeded although its dump tool was killed")
	}
	mustName(t, err, f.src)
	t.Logf("Backup failed as it should: %v", err)
}

// connectionLost: the server drops the dump's connection mid-stream.
func (f fixture) connectionLost(t *testing.T) {
	f.needRemote(t)
	if f.traits.ReadsBeforeStreaming {
		t.Skip("the engine reads everything before it streams: its own tests cut the connection while it reads")
	}
	var breakErr error
	w := &hookWriter{hook: func() { breakErr = f.remote.BreakMidStream(context.Background(), f.src) }}
	err := f.backupVia(w, context.Background())
	if breakErr != nil {
		t.Fatalf("BreakMidStream: %v", breakErr)
	}
	if err == nil {
		t.Fatal("Backup succeeded although the server dropped its connection")
	}
	mustName(t, err, f.src)
	t.Logf("Backup failed as it should: %v", err)
}

// canceled: cancelling the context mid-stream stops the dump.
func (f fixture) canceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := f.backupVia(&hookWriter{hook: cancel}, ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Backup cancelled mid-stream: error = %v, want context.Canceled", err)
	}
}

// readerFails: the stream being restored fails half way; Restore must fail
// with that error.
func (f fixture) readerFails(t *testing.T) {
	into := f.h.NewDestination(t, f.src, false)
	r := &failingReader{r: bytes.NewReader(f.dump), left: len(f.dump) / 2}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	err := f.h.Engine().Restore(ctx, f.src, r, into)
	if !errors.Is(err, errRead) {
		t.Fatalf("Restore from a failing reader: error = %v, want it to wrap %v", err, errRead)
	}
	mustName(t, err, f.src)
}

func (f fixture) backupVia(w io.Writer, ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	_, err := f.h.Engine().Backup(ctx, f.src, w)
	return err
}

func mustName(t *testing.T, err error, target engine.Target) {
	t.Helper()
	if !strings.Contains(err.Error(), target.Name()) {
		t.Errorf("error does not name the target %q: %v", target.Name(), err)
	}
}

// failingWriter accepts left bytes, then fails.
type failingWriter struct{ left int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		n := w.left
		w.left = 0
		return n, errWrite
	}
	w.left -= len(p)
	return len(p), nil
}

// hookWriter discards what it gets, calling hook once on the first write,
// while the tool waits for the write to return.
type hookWriter struct {
	once sync.Once
	hook func()
}

func (w *hookWriter) Write(p []byte) (int, error) {
	w.once.Do(w.hook)
	return len(p), nil
}

// failingReader returns left bytes of r, then fails.
type failingReader struct {
	r    io.Reader
	left int
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, errRead
	}
	if len(p) > r.left {
		p = p[:r.left]
	}
	n, err := r.r.Read(p)
	r.left -= n
	return n, err
}
