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

// Reader opens a definition's chunks: the identities decrypt them (none
// when the backup is in clear) and the key, when given, checks each chunk's
// plain bytes against its name.
type Reader struct {
	Store      storage.Store
	Definition layout.Definition
	Encrypted  bool
	Identities []age.Identity
	Key        *Key
	// FetchBudget is how many plain bytes of chunks Read and Check hold
	// at most, being fetched or fetched and not yet consumed; 0 means
	// DefaultFetchBudget. A chunk larger than the budget is fetched alone.
	FetchBudget int64
}

// download reads a chunk's stored bytes into a buffer from storedBufs (to
// hand back even on error) and checks their size.
func (r *Reader) download(ctx context.Context, c manifest.Chunk) ([]byte, error) {
	key := r.Definition.ChunkKey(c.Hash, r.Encrypted)
	if c.Size > MaxReadSize {
		return nil, fmt.Errorf("%w: chunk %s: the manifest says %d plain bytes, more than any chunk has (%d)", pipeline.ErrIntegrity, key, c.Size, MaxReadSize)
	}
	rc, err := r.Store.Get(ctx, key)
	if err != nil {
		return nil, err // names the key and the store
	}
	stored, err := readInto(io.LimitReader(rc, c.StoredSize+1), storedBufs.get(int(min(c.StoredSize+1, 2*MaxReadSize))))
	rc.Close()
	if err != nil {
		return stored, fmt.Errorf("chunk %s: reading from storage: %w", key, err)
	}
	if int64(len(stored)) != c.StoredSize {
		return stored, fmt.Errorf("%w: chunk %s: stored size %d, manifest says %d", pipeline.ErrIntegrity, key, len(stored), c.StoredSize)
	}
	return stored, nil
}

// open decrypts (in place, overwriting stored) and decompresses a
// downloaded chunk into a buffer from plainBufs and checks its plain size
// and, with a key, its name.
func (r *Reader) open(c manifest.Chunk, stored []byte, dec *zstd.Decoder) ([]byte, error) {
	key := r.Definition.ChunkKey(c.Hash, r.Encrypted)
	frame := stored
	if r.Encrypted {
		var err error
		if frame, err = decryptInPlace(stored, r.Identities); err != nil {
			return nil, fmt.Errorf("chunk %s: %w", key, err)
		}
	}
	plain, err := dec.DecodeAll(frame, plainBufs.get(int(c.Size)))
	switch {
	case err != nil:
		err = fmt.Errorf("%w: chunk %s: decompressing (zstd): %v", pipeline.ErrIntegrity, key, err)
	case int64(len(plain)) != c.Size:
		err = fmt.Errorf("%w: chunk %s: %d plain bytes, manifest says %d", pipeline.ErrIntegrity, key, len(plain), c.Size)
	case r.Key != nil:
		if got := r.Key.Name(plain); got != c.Hash {
			err = fmt.Errorf("%w: chunk %s: its plain bytes hash to %s under the dedup key", pipeline.ErrIntegrity, key, got)
		}
	}
	if err != nil {
		plainBufs.put(plain)
		return nil, err
	}
	return plain, nil
}

// decryptInPlace opens an age-encrypted chunk into the front of its own
// buffer, which then holds the zstd frame: no second buffer per chunk being
// opened. age hands out a piece's plain bytes only after it has read the
// whole sealed piece, 16 bytes longer, and the header before them, so the
// frame's end stays behind what age has read of stored; each Read may
// write (or use as scratch) only bytes age has already read.
func decryptInPlace(stored []byte, ids []age.Identity) ([]byte, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: the chunk is encrypted and no age identity is given", pipeline.ErrDecrypt)
	}
	src := bytes.NewReader(stored)
	ar, err := age.Decrypt(src, ids...)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return nil, fmt.Errorf("%w: no configured age identity matches the chunk's recipients", pipeline.ErrDecrypt)
		}
		return nil, fmt.Errorf("%w: age header: %v", pipeline.ErrIntegrity, err)
	}
	n := 0
	for {
		taken := len(stored) - src.Len() // read by age: free to overwrite
		if n >= taken {
			return nil, fmt.Errorf("%w: decrypting (age): %d plain bytes out of %d read", pipeline.ErrIntegrity, n, taken)
		}
		m, err := ar.Read(stored[n:taken:taken])
		n += m
		if err == io.EOF {
			return stored[:n], nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: decrypting (age): %v", pipeline.ErrIntegrity, err)
		}
	}
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
	started := make(chan struct{})
	fetched := r.fetchInOrder(ctx, chunks, started)
	first, err := firstChunk(ctx, chunks, fetched)
	if err != nil {
		cancel()
		for range fetched {
		}
		return err
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
		err := writeChunks(ctx, pw, first, fetched)
		pw.CloseWithError(err)
		written <- err
	}()
	body := io.TeeReader(&firstRead{r: pr, started: started}, sink)
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
	// the stream ending short; what the consumer said stays reachable
	// (errors.Is), e.g. that it had finished before the failure.
	var fe *fetchError
	if errors.As(werr, &fe) {
		return &causedError{cause: fe.err, consumer: cerr}
	}
	if cerr != nil {
		return cerr
	}
	if want.PlainSHA256 == "" {
		if n != want.PlainSize {
			return fmt.Errorf("%w: dump size %d, manifest says %d", pipeline.ErrIntegrity, n, want.PlainSize)
		}
		return nil
	}
	got := hex.EncodeToString(plain.Sum(nil))
	if n != want.PlainSize || got != want.PlainSHA256 {
		return fmt.Errorf("%w: dump size %d sha256 %s, manifest says %d %s", pipeline.ErrIntegrity, n, got, want.PlainSize, want.PlainSHA256)
	}
	return nil
}

// firstChunk waits for the first chunk of a target that has any.
func firstChunk(ctx context.Context, chunks []manifest.Chunk, fetched <-chan fetchedChunk) (fetchedChunk, error) {
	if len(chunks) == 0 {
		return fetchedChunk{}, nil
	}
	first, ok := <-fetched
	switch {
	case !ok:
		return first, ctx.Err() // ended before the first chunk
	case first.err != nil:
		return first, first.err
	}
	return first, nil
}

// writeChunks writes first and then the rest to w, each chunk's share of
// the fetch budget released once w has taken its bytes. Chunks that stop
// coming because ctx ended are an error, never a short stream's end.
func writeChunks(ctx context.Context, w io.Writer, first fetchedChunk, rest <-chan fetchedChunk) error {
	if err := writeChunk(w, first); err != nil {
		return err
	}
	for f := range rest {
		if f.err != nil {
			return &fetchError{f.err}
		}
		if err := writeChunk(w, f); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return &fetchError{err}
	}
	return nil
}

func writeChunk(w io.Writer, f fetchedChunk) error {
	defer f.held.release()
	if len(f.data) == 0 {
		return nil
	}
	_, err := w.Write(f.data)
	// w is a pipe: once Write returns, the reader holds none of f.data.
	plainBufs.put(f.data)
	return err
}

// fetchError marks a chunk's failure as it travels through the pipe.
type fetchError struct{ err error }

func (e *fetchError) Error() string { return e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }

// causedError is a failed chunk (cause) and what the consumer of the
// stream returned meanwhile (nil, or an error the failure caused): its
// message is the cause's, and errors.Is and As see both.
type causedError struct{ cause, consumer error }

func (e *causedError) Error() string { return e.cause.Error() }
func (e *causedError) Unwrap() []error {
	if e.consumer == nil {
		return []error{e.cause}
	}
	return []error{e.cause, e.consumer}
}

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

// firstRead closes started at the first Read of r: the consumer has
// started, and the chunks behind the first may be opened.
type firstRead struct {
	r       io.Reader
	started chan struct{}
	once    sync.Once
}

func (f *firstRead) Read(p []byte) (int, error) {
	f.once.Do(func() { close(f.started) })
	return f.r.Read(p)
}
