package chunked

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/pipeline"
	"github.com/coffer-dev/coffer/internal/storage"
)

// prefetch is how many chunks are fetched ahead of the one being consumed,
// unless Reader.Ahead says otherwise. Each holds at most MaxSize plain bytes
// (plus its stored bytes while it is opened), so a restore holds about
// (prefetch + 3) × MaxSize at most: the chunks ahead, the one waiting to be
// handed over, the one being written and the one opened by the next fetch.
const prefetch = 2

// Reader opens a definition's chunks: the identities decrypt them (none
// when the backup is in clear) and the key, when given, checks each chunk's
// plain bytes against its name.
type Reader struct {
	Store      storage.Store
	Definition layout.Definition
	Encrypted  bool
	Identities []age.Identity
	Key        *Key
	// Ahead is how many chunks Read fetches ahead of the one being
	// consumed; 0 means prefetch.
	Ahead int
}

// Chunk fetches, decrypts and decompresses one chunk and checks its stored
// and plain sizes and, with a key, its name. Errors wrap
// pipeline.ErrIntegrity, pipeline.ErrDecrypt or storage.ErrNotFound and name
// the chunk's key.
func (r *Reader) Chunk(ctx context.Context, c manifest.Chunk, dec *zstd.Decoder) ([]byte, error) {
	key := r.Definition.ChunkKey(c.Hash, r.Encrypted)
	rc, err := r.Store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("chunk %s: %w", key, err)
	}
	stored, err := io.ReadAll(io.LimitReader(rc, c.StoredSize+1))
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("chunk %s: reading from storage: %w", key, err)
	}
	if int64(len(stored)) != c.StoredSize {
		return nil, fmt.Errorf("%w: chunk %s: stored size %d, manifest says %d", pipeline.ErrIntegrity, key, len(stored), c.StoredSize)
	}
	frame := stored
	if r.Encrypted {
		if frame, err = decrypt(stored, r.Identities); err != nil {
			return nil, fmt.Errorf("chunk %s: %w", key, err)
		}
	}
	plain, err := dec.DecodeAll(frame, make([]byte, 0, c.Size))
	if err != nil {
		return nil, fmt.Errorf("%w: chunk %s: decompressing (zstd): %v", pipeline.ErrIntegrity, key, err)
	}
	if int64(len(plain)) != c.Size {
		return nil, fmt.Errorf("%w: chunk %s: %d plain bytes, manifest says %d", pipeline.ErrIntegrity, key, len(plain), c.Size)
	}
	if r.Key != nil {
		if got := r.Key.Name(plain); got != c.Hash {
			return nil, fmt.Errorf("%w: chunk %s: its plain bytes hash to %s under the dedup key", pipeline.ErrIntegrity, key, got)
		}
	}
	return plain, nil
}

func decrypt(stored []byte, ids []age.Identity) ([]byte, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: the chunk is encrypted and no age identity is given", pipeline.ErrDecrypt)
	}
	ar, err := age.Decrypt(bytes.NewReader(stored), ids...)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return nil, fmt.Errorf("%w: no configured age identity matches the chunk's recipients", pipeline.ErrDecrypt)
		}
		return nil, fmt.Errorf("%w: age header: %v", pipeline.ErrIntegrity, err)
	}
	frame, err := io.ReadAll(ar)
	if err != nil {
		return nil, fmt.Errorf("%w: decrypting (age): %v", pipeline.ErrIntegrity, err)
	}
	return frame, nil
}

// NewDecoder is a zstd decoder for chunks: one goroutine, and no frame may
// claim more than MaxReadSize plain bytes.
func NewDecoder() (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(MaxReadSize+1))
}

// Read streams a target's chunks in order into consume and then checks the
// plain size and, when the manifest has one (backups before FastCDC), the
// SHA-256 against want. The first chunk is opened before
// consume is called, so a wrong identity fails before a database is
// touched.
func (r *Reader) Read(ctx context.Context, chunks []manifest.Chunk, want pipeline.Sums, consume pipeline.ConsumeFunc) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fetched := r.fetchInOrder(ctx, chunks)
	var first []byte
	if len(chunks) > 0 {
		f := <-fetched
		if f.err != nil {
			return f.err
		}
		first = f.data
	}
	pr, pw := io.Pipe()
	var n int64
	sink := io.Writer(&counter{&n})
	plain := sha256.New()
	if want.PlainSHA256 != "" { // format 2 backups since FastCDC record none
		sink = io.MultiWriter(plain, sink)
	}
	written := make(chan error, 1)
	go func() {
		err := writeChunks(pw, first, fetched)
		pw.CloseWithError(err)
		written <- err
	}()
	body := io.TeeReader(pr, sink)
	cerr := consume(body)
	if cerr == nil {
		_, cerr = io.Copy(io.Discard, body) // the digest needs every byte
	}
	pr.CloseWithError(errors.New("the consumer stopped reading"))
	werr := <-written
	cancel()
	for range fetched {
	}
	// A chunk that failed is the cause of whatever the consumer said about
	// the stream ending short.
	var fe *fetchError
	if errors.As(werr, &fe) {
		return fe.err
	}
	if cerr != nil {
		return cerr
	}
	got := hex.EncodeToString(plain.Sum(nil))
	if n != want.PlainSize || (want.PlainSHA256 != "" && got != want.PlainSHA256) {
		return fmt.Errorf("%w: dump size %d sha256 %s, manifest says %d %s", pipeline.ErrIntegrity, n, got, want.PlainSize, want.PlainSHA256)
	}
	return nil
}

type fetchedChunk struct {
	data []byte
	err  error
}

// fetchInOrder fetches chunks ahead of the consumer, in order, stopping at
// the first error (which it delivers) or when ctx ends.
func (r *Reader) fetchInOrder(ctx context.Context, chunks []manifest.Chunk) <-chan fetchedChunk {
	out := make(chan fetchedChunk)
	ahead := r.Ahead
	if ahead <= 0 {
		ahead = prefetch
	}
	futures := make(chan chan fetchedChunk, ahead)
	go func() {
		defer close(futures)
		for _, c := range chunks {
			f := make(chan fetchedChunk, 1)
			select {
			case futures <- f:
			case <-ctx.Done():
				return
			}
			go func() {
				dec, err := decoders.get()
				if err != nil {
					f <- fetchedChunk{err: err}
					return
				}
				defer decoders.put(dec)
				data, err := r.Chunk(ctx, c, dec)
				f <- fetchedChunk{data: data, err: err}
			}()
		}
	}()
	go func() {
		defer close(out)
		for f := range futures {
			res := <-f
			select {
			case out <- res:
			case <-ctx.Done():
			}
			if res.err != nil || ctx.Err() != nil {
				for range futures { // let the producer finish
				}
				return
			}
		}
	}()
	return out
}

func writeChunks(w io.Writer, first []byte, rest <-chan fetchedChunk) error {
	if first != nil {
		if _, err := w.Write(first); err != nil {
			return err
		}
	}
	for f := range rest {
		if f.err != nil {
			return &fetchError{f.err}
		}
		if _, err := w.Write(f.data); err != nil {
			return err
		}
	}
	return nil
}

// fetchError marks a chunk's failure as it travels through the pipe.
type fetchError struct{ err error }

func (e *fetchError) Error() string { return e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }

// decoderPool reuses zstd decoders between chunks.
type decoderPool struct{ p sync.Pool }

var decoders decoderPool

func (d *decoderPool) get() (*zstd.Decoder, error) {
	if dec, ok := d.p.Get().(*zstd.Decoder); ok {
		return dec, nil
	}
	return NewDecoder()
}

func (d *decoderPool) put(dec *zstd.Decoder) { d.p.Put(dec) }
