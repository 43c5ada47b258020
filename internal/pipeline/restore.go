package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	"github.com/coffer-dev/coffer/internal/storage"
)

// ErrIntegrity marks a stored object that does not match its manifest:
// wrong checksum, wrong size, truncated, or failing authentication.
var ErrIntegrity = errors.New("integrity check failed")

// ErrDecrypt marks an object the given identities cannot open.
var ErrDecrypt = errors.New("cannot decrypt")

// ConsumeFunc reads the plain dump.
type ConsumeFunc func(r io.Reader) error

// Read streams the object at key back through decryption and decompression
// into consume, then checks sizes and digests against want. The identities
// are tried before consume is called, so a wrong key fails before any
// database is touched. Errors wrap ErrIntegrity or ErrDecrypt and say which
// stage failed.
func Read(ctx context.Context, store storage.Store, key string, identities []age.Identity, want Sums, consume ConsumeFunc) error {
	rc, err := store.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("opening %s: %w", key, err)
	}
	defer rc.Close()

	stored := newDigest()
	first := &firstErr{}
	var src io.Reader = &stage{r: io.TeeReader(rc, stored), what: "reading from storage", first: first}
	if len(identities) > 0 {
		ar, err := age.Decrypt(src, identities...)
		if err != nil {
			var noMatch *age.NoIdentityMatchError
			if errors.As(err, &noMatch) {
				return fmt.Errorf("%w: no configured age identity matches the object's recipients", ErrDecrypt)
			}
			return fmt.Errorf("%w: age header: %v", ErrIntegrity, err)
		}
		src = &stage{r: ar, what: "decrypting (age)", integrity: true, first: first}
	}
	zr, err := zstd.NewReader(src, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
	if err != nil {
		return fmt.Errorf("starting zstd: %w", err)
	}
	defer zr.Close()
	plain := newDigest()
	body := io.TeeReader(&stage{r: zr, what: "decompressing (zstd)", integrity: true, first: first}, plain)

	cerr := consume(body)
	if first.err != nil {
		return first.err
	}
	if cerr != nil {
		return cerr
	}
	// The consumer may stop at its format's end; the digests need every byte.
	if _, err := io.Copy(io.Discard, body); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, &stage{r: io.TeeReader(rc, stored), what: "reading from storage", first: first}); err != nil {
		return err
	}
	return compare(want, Sums{Size: stored.n, SHA256: stored.sum(), PlainSize: plain.n, PlainSHA256: plain.sum()})
}

func compare(want, got Sums) error {
	var errs []error
	if got.Size != want.Size {
		errs = append(errs, fmt.Errorf("stored size %d, manifest says %d", got.Size, want.Size))
	}
	if got.SHA256 != want.SHA256 {
		errs = append(errs, fmt.Errorf("stored sha256 %s, manifest says %s", got.SHA256, want.SHA256))
	}
	if got.PlainSize != want.PlainSize {
		errs = append(errs, fmt.Errorf("dump size %d, manifest says %d", got.PlainSize, want.PlainSize))
	}
	if got.PlainSHA256 != want.PlainSHA256 {
		errs = append(errs, fmt.Errorf("dump sha256 %s, manifest says %s", got.PlainSHA256, want.PlainSHA256))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrIntegrity, errors.Join(errs...))
	}
	return nil
}

// stage labels read errors with the pipeline stage they came from. Stages
// of one Read share a firstErr: the innermost stage fails first, so Read
// reports the cause ("decrypting (age): ...") rather than a consumer's
// complaint about a short stream.
type stage struct {
	r         io.Reader
	what      string
	integrity bool
	first     *firstErr
}

type firstErr struct{ err error }

func (s *stage) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err == nil || err == io.EOF {
		return n, err
	}
	if s.first.err == nil {
		if s.integrity {
			s.first.err = fmt.Errorf("%w: %s: %v", ErrIntegrity, s.what, err)
		} else {
			s.first.err = fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return n, s.first.err
}
