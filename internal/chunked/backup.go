package chunked

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"filippo.io/age"

	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/pipeline"
	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/zframe"
)

// DefaultUploads is how many chunks upload at once: memory is about
// MaxSize per upload in the worst case.
const DefaultUploads = 2

// Options tune a chunked backup.
type Options struct {
	Key        *Key
	Recipients []age.Recipient
	// Level of compression; the zero value is zstd's fastest.
	Level zframe.Level
	// Uploads in flight; zero means DefaultUploads.
	Uploads int
}

// Result is what a target's chunked backup recorded.
type Result struct {
	Chunks []manifest.Chunk
	Size   int64 // stored bytes of every chunk, new or reused
	// PlainSize is the dump's length. Format 2 records no SHA-256 of the
	// whole dump: every chunk is checked by its keyed name, age and zstd,
	// and hashing every byte a second time cost a quarter of a backup's CPU.
	PlainSize int64
	// NewChunks and NewBytes are what this backup uploaded.
	NewChunks int
	NewBytes  int64
}

// Backup runs dump, cuts its output into chunks and stores each chunk that
// known does not hold yet under def's chunk directory. It never writes a
// manifest: the caller commits one naming Result.Chunks. On error the chunks
// already stored stay, unreferenced, until the chunk sweep removes them.
func Backup(ctx context.Context, store storage.Store, def layout.Definition, known *Known, opts Options, dump pipeline.DumpFunc) (Result, error) {
	if opts.Key == nil {
		return Result{}, errors.New("chunked backup without a dedup key")
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	enc, err := newEncoder(opts.Level, opts.Recipients)
	if err != nil {
		return Result{}, err
	}
	defer enc.close()
	pipe := newPipe()
	var plainSize int64
	dumped := make(chan error, 1)
	go func() {
		err := dump(ctx, io.MultiWriter(&counter{&plainSize}, pipe))
		pipe.CloseWrite(err) // nil: the chunker reads io.EOF
		dumped <- err
	}()
	uploads := opts.Uploads
	if uploads <= 0 {
		uploads = DefaultUploads
	}
	up := newUploader(ctx, cancel, store, uploads, enc.release)
	w := &writer{def: def, known: known, opts: opts, enc: enc, up: up}
	res, cerr := w.cut(pipe)
	if cerr != nil {
		pipe.CloseRead(cerr)
		cancel(cerr)
	}
	uerr := up.wait()
	derr := <-dumped
	if err := firstFailure(ctx, derr, cerr, uerr); err != nil {
		return Result{}, err
	}
	res.PlainSize = plainSize
	return res, nil
}

// firstFailure picks the error that caused the others: the dump's own,
// unless the backup was cancelled by a failed upload first (then the dump's
// error is only its being stopped).
func firstFailure(ctx context.Context, derr, cerr, uerr error) error {
	if derr == nil && cerr == nil && uerr == nil {
		return nil
	}
	cause := context.Cause(ctx)
	switch {
	case derr != nil && (cause == nil || errors.Is(cause, derr)):
		return derr
	case uerr != nil:
		return uerr
	case cerr != nil:
		return cerr
	}
	return derr
}

// writer cuts one target's stream and hands new chunks to the uploader.
type writer struct {
	def   layout.Definition
	known *Known
	opts  Options
	enc   *encoder
	up    *uploader
}

func (w *writer) cut(r io.Reader) (Result, error) {
	var res Result
	c, err := newCutter(r, w.opts.Key)
	if err != nil {
		return res, err
	}
	encrypted := len(w.opts.Recipients) > 0
	for {
		data, err := c.next()
		if err == io.EOF {
			return res, nil
		}
		if err != nil {
			return res, fmt.Errorf("reading the dump: %w", err)
		}
		if err := w.up.failed(); err != nil {
			return res, err
		}
		name := w.opts.Key.Name(data)
		rec := manifest.Chunk{Hash: name, Size: int64(len(data))}
		if n, ok := w.known.size(name); ok {
			rec.StoredSize = n
		} else {
			stored, err := w.enc.encode(data)
			if err != nil {
				return res, err
			}
			rec.StoredSize = int64(len(stored))
			if n, ok := w.known.claim(name, rec.StoredSize); ok {
				rec.StoredSize = n // another target stored it meanwhile
				w.enc.release(stored)
			} else {
				w.up.put(w.def.ChunkKey(name, encrypted), name, stored, w.known)
				res.NewChunks++
				res.NewBytes += rec.StoredSize
			}
		}
		res.Chunks = append(res.Chunks, rec)
		res.Size += rec.StoredSize
	}
}

type counter struct{ n *int64 }

func (c *counter) Write(p []byte) (int, error) { *c.n += int64(len(p)); return len(p), nil }

// uploader stores chunks with bounded concurrency; the first failure
// cancels the backup.
type uploader struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	store  storage.Store
	// release takes back a chunk's bytes once the store holds them.
	release func([]byte)
	sem     chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	err     error
}

func newUploader(ctx context.Context, cancel context.CancelCauseFunc, store storage.Store, n int, release func([]byte)) *uploader {
	return &uploader{ctx: ctx, cancel: cancel, store: store, release: release, sem: make(chan struct{}, n)}
}

func (u *uploader) put(key, name string, data []byte, known *Known) {
	select {
	case u.sem <- struct{}{}:
	case <-u.ctx.Done():
		known.forget(name)
		u.fail(fmt.Errorf("storing chunk %s: %w", key, context.Cause(u.ctx)))
		return
	}
	u.wg.Add(1)
	go func() {
		defer func() { <-u.sem; u.wg.Done() }()
		if err := u.store.Put(u.ctx, key, bytes.NewReader(data)); err != nil {
			// Not released: a store whose Put gave up on ctx may still
			// be reading data.
			known.forget(name)
			u.fail(fmt.Errorf("storing chunk %s: %w", key, err))
			return
		}
		u.release(data)
	}()
}

func (u *uploader) fail(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err == nil {
		u.err = err
		u.cancel(err)
	}
}

func (u *uploader) failed() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

func (u *uploader) wait() error {
	u.wg.Wait()
	return u.failed()
}
