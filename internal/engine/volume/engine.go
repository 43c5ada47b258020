package volume

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/filesystem"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/pushendpoint"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// Engine is the engine of a claim-backed filesystem target in a runner
// that serves volume sessions. Its name and format are the filesystem
// engine's: a volume backup restores with the filesystem engine by hand.
type Engine struct {
	v  *Service
	fs *filesystem.Engine
}

func (e *Engine) Name() string      { return e.fs.Name() }
func (e *Engine) Extension() string { return e.fs.Extension() }

// A claim-backed target's archive is counted like a directory's, so its
// restore test compares counts too.
var _ engine.Counting = (*Engine)(nil)

// NewCounter counts the pushed tar as the filesystem engine counts its own.
func (e *Engine) NewCounter() engine.ArchiveCounter { return e.fs.NewCounter() }

// Destinations: none; a volume is restored into its own claim, through a
// writer pod in the claim's namespace.
func (e *Engine) Destinations() []engine.Destination { return nil }

// Source is the claim, as the filesystem engine names it.
func (e *Engine) Source(t engine.Target) manifest.Source { return e.fs.Source(t) }

// Backup waits for the reader pod's PUT and streams its body to w.
func (e *Engine) Backup(ctx context.Context, t engine.Target, w io.Writer) (engine.Result, error) {
	spec := t.Spec.Filesystem
	sink := &volumeSink{w: w, done: make(chan error, 1)}
	sess, url := e.v.push.Open("volume "+t.Name(), sink)
	defer sess.Close()
	req := &runnerapi.VolumePush{Direction: runnerapi.DirectionBackup, Target: t.Name(), PersistentVolumeClaim: spec.PersistentVolumeClaim,
		Path: spec.Path, Excludes: spec.Excludes, URL: url}
	defer e.v.announce(req)()
	timer := time.NewTimer(e.v.wait)
	defer timer.Stop()
	select {
	case err := <-sink.done:
		var declined *declinedError
		if errors.As(err, &declined) {
			return engine.Result{}, fmt.Errorf("volume %s of target %q: no reader pod can run: %w", spec.PersistentVolumeClaim, t.Name(), err)
		}
		if err != nil {
			return engine.Result{}, fmt.Errorf("volume %s of target %q: the reader pod's stream failed: %w", spec.PersistentVolumeClaim, t.Name(), err)
		}
		return engine.Result{ToolVersion: "coffer-runner push-dir"}, nil
	case <-ctx.Done():
		return engine.Result{}, ctx.Err()
	case <-timer.C:
		return engine.Result{}, fmt.Errorf("volume %s of target %q: no reader pod pushed within %v (is coffer-controller running, and may it start pods in %s?)",
			spec.PersistentVolumeClaim, t.Name(), e.v.wait, t.Namespace)
	}
}

// Restore hands the tar to a writer pod that mounts the claim read-write
// (the runner cannot), and waits for the pod's outcome. With IntoPath the
// tar is extracted here instead, like the filesystem engine does.
func (e *Engine) Restore(ctx context.Context, t engine.Target, r io.Reader, opts engine.RestoreOptions) error {
	if opts.IntoPath != "" {
		return e.fs.Restore(ctx, t, r, opts)
	}
	spec := t.Spec.Filesystem
	src := &volumeSource{r: r, result: make(chan error, 1)}
	sess, url := e.v.push.Open("volume restore "+t.Name(), src)
	defer sess.Close()
	defer e.v.announce(&runnerapi.VolumePush{Direction: runnerapi.DirectionRestore, Clean: opts.Clean, Target: t.Name(),
		PersistentVolumeClaim: spec.PersistentVolumeClaim, Path: spec.Path, URL: url})()
	timer := time.NewTimer(e.v.wait)
	defer timer.Stop()
	select {
	case err := <-src.result:
		if err != nil {
			return fmt.Errorf("volume %s of target %q: the writer pod: %w", spec.PersistentVolumeClaim, t.Name(), err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("volume %s of target %q: no writer pod reported within %v", spec.PersistentVolumeClaim, t.Name(), e.v.wait)
	}
}

// volumeSource serves the restore stream once, and takes the writer pod's
// outcome.
type volumeSource struct {
	r      io.Reader
	mu     sync.Mutex
	served bool
	result chan error
}

func (s *volumeSource) Open(name string) (pushendpoint.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name != FileTar || s.served {
		return nil, pushendpoint.ErrGone
	}
	s.served = true
	return &streamFile{r: s.r}, nil
}

func (s *volumeSource) Put(_ context.Context, name string, r io.Reader, _ int64) error {
	if name != FileResult {
		return pushendpoint.ErrReadOnly
	}
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return err
	}
	outcome := strings.TrimSpace(string(b))
	if outcome == ResultOK {
		s.result <- nil
	} else {
		s.result <- errors.New(outcome)
	}
	return nil
}

func (s *volumeSource) Delete(string) error { return pushendpoint.ErrReadOnly }

// streamFile is read once, front to back (pushendpoint.Streamer).
type streamFile struct{ r io.Reader }

func (f *streamFile) Stream(w io.Writer) (int64, error) { return io.Copy(w, f.r) }
func (f *streamFile) Read(p []byte) (int, error)        { return f.r.Read(p) }
func (f *streamFile) Seek(int64, int) (int64, error) {
	return 0, errors.New("a restore stream cannot seek")
}
func (f *streamFile) Close() error       { return nil }
func (f *streamFile) ModTime() time.Time { return time.Time{} }

// volumeSink accepts exactly one PUT of volume.tar and streams it on.
type volumeSink struct {
	w    io.Writer
	mu   sync.Mutex
	used bool
	done chan error
}

func (s *volumeSink) Put(_ context.Context, name string, r io.Reader, _ int64) error {
	if name == FileResult {
		return s.decline(r)
	}
	s.mu.Lock()
	if name != FileTar || s.used {
		s.mu.Unlock()
		return fmt.Errorf("a volume session takes one %s", FileTar)
	}
	s.used = true
	s.mu.Unlock()
	_, err := io.Copy(s.w, r)
	s.done <- err
	return err
}

// decline takes the controller's report that no reader pod will push (the
// pod was refused, Decline): the backup ends now with that reason rather
// than after the wait.
func (s *volumeSink) decline(r io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used {
		return fmt.Errorf("a volume session takes one %s, already pushed", FileTar)
	}
	s.used = true
	s.done <- &declinedError{reason: strings.TrimSpace(string(b))}
	return nil
}

// declinedError is the controller's reason why no reader pod will push.
type declinedError struct{ reason string }

func (e *declinedError) Error() string { return e.reason }

func (s *volumeSink) Open(string) (pushendpoint.File, error) { return nil, pushendpoint.ErrGone }

func (s *volumeSink) Delete(string) error { return errors.New("a volume session cannot delete") }
