package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// Open returns the Store c describes. It does not contact the backend, so a
// runner can start before its storage is reachable; the first operation
// reports any problem.
func Open(ctx context.Context, c Config) (Store, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	var s *blobStore
	switch {
	case c.S3 != nil:
		s, err = openS3(ctx, c)
	case c.Azure != nil:
		s, err = openAzure(ctx, c)
	case c.GCS != nil:
		s, err = openGCS(ctx, c)
	default:
		s, err = openFilesystem(c)
	}
	if err != nil {
		return nil, err
	}
	if c.Prefix != "" {
		s.bucket = blob.PrefixedBucket(s.bucket, c.Prefix+"/")
	}
	return s, nil
}

// blobStore is a Store over a gocloud bucket. The backends differ only in
// the hooks they fill in.
type blobStore struct {
	bucket      *blob.Bucket
	desc        string
	partSize    int64
	concurrency int
	// maxSize is the largest stream Put accepts; 0 means no limit.
	maxSize int64
	// tooLarge explains maxSize in the error Put returns beyond it.
	tooLarge string
	// beforeWrite tunes the backend's writer; may be nil.
	beforeWrite func(asFunc func(any) bool) error
	// createExclusive replaces the generic conditional write when the
	// backend's own is not atomic; may be nil.
	createExclusive func(ctx context.Context, key string, data []byte) error
	// listFiles replaces the bucket's listing (the filesystem's); may be
	// nil.
	listFiles func(ctx context.Context, prefix string, more func(string) bool, fn func(Object) error) error
	// hidden drops listed files that are not objects; may be nil.
	hidden func(key string) bool
	// syncFile makes Put fsync the filesystem writer's temp file before it
	// is renamed into place, so a crash cannot leave a complete-looking
	// name over missing data.
	syncFile bool
	// upload makes Put hand the source to the driver in one call (gocloud's
	// Bucket.Upload) instead of writing through a pipe: the Azure writer's
	// pipe path panics when an upload fails mid-stream (gocloud v0.47.0).
	upload bool
	// afterFailedPut cleans up after a failed Put of key when the backend
	// cannot abort an upload by itself; may be nil.
	afterFailedPut func(key string)
	// afterPut runs after an object is in place; may be nil.
	afterPut func(key string) error
	// sweepIncomplete implements SweepIncomplete for the backend.
	sweepIncomplete func(ctx context.Context, prefix string, before time.Time) ([]string, error)
}

func (s *blobStore) SweepIncomplete(ctx context.Context, prefix string, before time.Time) ([]string, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, fmt.Errorf("sweep %s: %w", s.desc, err)
	}
	removed, err := s.sweepIncomplete(ctx, prefix, before)
	if err != nil {
		return removed, fmt.Errorf("sweeping incomplete uploads under %q in %s: %w", prefix, s.desc, err)
	}
	return removed, nil
}

func (s *blobStore) Describe() string { return s.desc }

func (s *blobStore) Close() error {
	if err := s.bucket.Close(); err != nil {
		return fmt.Errorf("close %s: %w", s.desc, err)
	}
	return nil
}

func (s *blobStore) writerOptions() *blob.WriterOptions {
	return &blob.WriterOptions{
		// A set content type also stops gocloud from buffering the first
		// 512 bytes to sniff one.
		ContentType:    "application/octet-stream",
		BufferSize:     int(s.partSize),
		MaxConcurrency: s.concurrency,
		BeforeWrite:    s.beforeWrite,
	}
}

func (s *blobStore) Put(ctx context.Context, key string, r io.Reader) error {
	if err := validateKey(key); err != nil {
		return fmt.Errorf("put in %s: %w", s.desc, err)
	}
	// Cancelling writeCtx before Close is gocloud's way to abort a write:
	// the filesystem writer then removes its temp file instead of renaming
	// it, and the S3 writer aborts the multipart upload.
	writeCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := s.writerOptions()
	var file *os.File
	if s.syncFile {
		opts.BeforeWrite = func(asFunc func(any) bool) error {
			if !asFunc(&file) {
				return errors.New("the filesystem writer does not expose its file")
			}
			return nil
		}
	}
	if s.upload {
		return s.putUpload(writeCtx, cancel, key, r, opts)
	}
	w, err := s.bucket.NewWriter(writeCtx, key, opts)
	if err != nil {
		return fmt.Errorf("put %q in %s: %w", key, s.desc, err)
	}
	src := &guardedReader{ctx: ctx, r: r, max: s.maxSize, tooLarge: s.tooLarge}
	_, err = copyTo(w, src)
	if src.err != nil {
		// The source's own error says more than the writer's
		// "context canceled" that follows from it.
		err = src.err
	}
	if err == nil && file != nil {
		err = file.Sync()
	}
	if err != nil {
		cancel()
		_ = w.Close()
		if s.afterFailedPut != nil {
			s.afterFailedPut(key)
		}
		return fmt.Errorf("put %q in %s: %w", key, s.desc, err)
	}
	if err := w.Close(); err != nil {
		if s.afterFailedPut != nil {
			s.afterFailedPut(key)
		}
		return fmt.Errorf("put %q in %s: %w", key, s.desc, err)
	}
	if s.afterPut != nil {
		if err := s.afterPut(key); err != nil {
			return fmt.Errorf("put %q in %s: %w", key, s.desc, err)
		}
	}
	return nil
}

// putUpload is Put through Bucket.Upload; the driver reads src to its end
// and commits only then.
func (s *blobStore) putUpload(ctx context.Context, cancel context.CancelFunc, key string, r io.Reader, opts *blob.WriterOptions) error {
	src := &guardedReader{ctx: ctx, r: r, max: s.maxSize, tooLarge: s.tooLarge}
	err := s.bucket.Upload(ctx, key, src, opts)
	if src.err != nil {
		err = src.err
	}
	if err != nil {
		cancel()
		if s.afterFailedPut != nil {
			s.afterFailedPut(key)
		}
		return fmt.Errorf("put %q in %s: %w", key, s.desc, err)
	}
	if s.afterPut != nil {
		if err := s.afterPut(key); err != nil {
			return fmt.Errorf("put %q in %s: %w", key, s.desc, err)
		}
	}
	return nil
}

func (s *blobStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := validateKey(key); err != nil {
		return nil, fmt.Errorf("get from %s: %w", s.desc, err)
	}
	r, err := s.bucket.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("get %q from %s: %w", key, s.desc, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %q from %s: %w", key, s.desc, err)
	}
	return r, nil
}

// listAttempts bounds the restarts of a listing that raced with a file
// vanishing under it (a temp file renamed or removed mid-walk on the
// filesystem backend); object stores never report that.
const listAttempts = 5

func (s *blobStore) List(ctx context.Context, prefix string) ([]Object, error) {
	return s.ListWhile(ctx, prefix, nil)
}

func (s *blobStore) ListWhile(ctx context.Context, prefix string, more func(key string) bool) ([]Object, error) {
	var out []Object
	err := s.walkAttempts(ctx, prefix, more, func(o Object) error {
		out = append(out, o)
		return nil
	}, func() { out = out[:0] })
	if err != nil {
		return nil, err
	}
	// A filesystem walk orders "a/b" before "a-b"; S3 orders by bytes.
	// Callers rely on one order.
	slices.SortFunc(out, func(a, b Object) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

func (s *blobStore) Walk(ctx context.Context, prefix string, fn func(Object) error) error {
	return s.walkAttempts(ctx, prefix, nil, fn, func() {})
}

// walkAttempts walks prefix, starting again (after restart) when the
// walk raced with a file vanishing under it.
func (s *blobStore) walkAttempts(ctx context.Context, prefix string, more func(string) bool, fn func(Object) error, restart func()) error {
	if err := validatePrefix(prefix); err != nil {
		return fmt.Errorf("list %s: %w", s.desc, err)
	}
	var err error
	for range listAttempts {
		restart()
		err = s.walk(ctx, prefix, more, fn)
		var fe fnError
		if errors.As(err, &fe) {
			return fe.err
		}
		if gcerrors.Code(err) != gcerrors.NotFound || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// fnError carries a walk function's own error past the retry, which
// looks at the backend's.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// walk calls fn for each object under prefix up to the first key more
// refuses (all of them when more is nil).
func (s *blobStore) walk(ctx context.Context, prefix string, more func(string) bool, fn func(Object) error) error {
	list := s.listFiles
	if list == nil {
		list = s.listBucket
	}
	err := list(ctx, prefix, more, func(o Object) error {
		if s.hidden != nil && s.hidden(o.Key) {
			return nil
		}
		if err := fn(o); err != nil {
			return fnError{err}
		}
		return nil
	})
	if err != nil && !errors.As(err, new(fnError)) {
		// %w keeps the gcerrors code visible to the retry.
		return fmt.Errorf("list %q in %s: %w", prefix, s.desc, err)
	}
	return err
}

// listBucket is the bucket's own listing of prefix, up to the first key
// more refuses.
func (s *blobStore) listBucket(ctx context.Context, prefix string, more func(string) bool, yield func(Object) error) error {
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if more != nil && !more(o.Key) {
			return nil
		}
		if o.IsDir {
			continue
		}
		if err := yield(Object{Key: o.Key, Size: o.Size, ModTime: o.ModTime}); err != nil {
			return err
		}
	}
}

func (s *blobStore) Delete(ctx context.Context, key string) error {
	if err := validateKey(key); err != nil {
		return fmt.Errorf("delete from %s: %w", s.desc, err)
	}
	err := s.bucket.Delete(ctx, key)
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("delete %q from %s: %w", key, s.desc, err)
	}
	return nil
}

func (s *blobStore) CreateExclusive(ctx context.Context, key string, data []byte) error {
	if err := validateKey(key); err != nil {
		return fmt.Errorf("create in %s: %w", s.desc, err)
	}
	var err error
	if s.createExclusive != nil {
		err = s.createExclusive(ctx, key, data)
	} else {
		opts := s.writerOptions()
		opts.IfNotExist = true
		if s.upload {
			err = s.bucket.Upload(ctx, key, bytes.NewReader(data), opts)
		} else {
			err = s.bucket.WriteAll(ctx, key, data, opts)
		}
		if gcerrors.Code(err) == gcerrors.FailedPrecondition {
			err = ErrExists
		}
	}
	if err != nil {
		return fmt.Errorf("create %q in %s: %w", key, s.desc, err)
	}
	return nil
}
