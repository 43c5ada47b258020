package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"

	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/zframe"
)

// DumpFunc writes a complete dump to w. It must return an error if the dump
// is incomplete for any reason, whatever it already wrote.
type DumpFunc func(ctx context.Context, w io.Writer) error

// Backup streams dump's output through hashing, compression and encryption
// into store under key. On any error nothing is left under key: the upload
// is aborted, and the error says which stage failed.
func Backup(ctx context.Context, store storage.Store, key string, opts Options, dump DumpFunc) (Sums, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	pr, pw := io.Pipe()
	uploaded := make(chan error, 1)
	go func() {
		err := store.Put(ctx, key, pr)
		if err != nil {
			// Unblock the writers and stop the dump tool.
			pr.CloseWithError(err)
			cancel()
		}
		uploaded <- err
	}()

	sums, err := compressEncrypt(ctx, pw, opts, dump)
	if err != nil {
		pw.CloseWithError(err)
		if upErr := <-uploaded; upErr != nil && !errors.Is(upErr, err) && !errors.Is(err, upErr) {
			err = fmt.Errorf("%w (and the upload: %v)", err, upErr)
		}
		return Sums{}, err
	}
	pw.Close()
	if err := <-uploaded; err != nil {
		return Sums{}, fmt.Errorf("uploading %s: %w", key, err)
	}
	return sums, nil
}

// compressEncrypt runs dump into zstd → age → out and closes the encoders so
// every byte reaches out; it does not close out.
func compressEncrypt(ctx context.Context, out io.Writer, opts Options, dump DumpFunc) (Sums, error) {
	stored := newDigest()
	sink := io.MultiWriter(stored, out)

	var encrypted io.WriteCloser = nopCloser{sink}
	if len(opts.Recipients) > 0 {
		w, err := age.Encrypt(sink, opts.Recipients...)
		if err != nil {
			return Sums{}, fmt.Errorf("starting age encryption: %w", err)
		}
		encrypted = w
	}
	zw, err := zframe.NewStream(encrypted, opts.Level)
	if err != nil {
		return Sums{}, err
	}
	plain := newDigest()
	if err := dump(ctx, io.MultiWriter(plain, zw)); err != nil {
		zw.Close()
		return Sums{}, err
	}
	if err := zw.Close(); err != nil {
		return Sums{}, fmt.Errorf("finishing zstd stream: %w", err)
	}
	if err := encrypted.Close(); err != nil {
		return Sums{}, fmt.Errorf("finishing age stream: %w", err)
	}
	return Sums{Size: stored.n, SHA256: stored.sum(), PlainSize: plain.n, PlainSHA256: plain.sum()}, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
