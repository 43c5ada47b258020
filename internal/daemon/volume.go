package daemon

import (
	"context"
	"errors"
	"fmt"
	"github.com/coffer-dev/coffer/internal/manifest"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/filesystem"
	"github.com/coffer-dev/coffer/internal/pushendpoint"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// volumeFile is the one file a reader pod PUTs into a volume session.
const volumeFile = "volume.tar"

// DefaultVolumeWait bounds how long a volume backup waits for its reader
// pod: scheduling, image pull and the controller's polling all fit in it.
const DefaultVolumeWait = 15 * time.Minute

// volumes backs up filesystem targets that name a PersistentVolumeClaim.
// The runner cannot mount a claim of another namespace, so it opens a push
// session and lists it (GET /v1/volume-pushes); the controller starts a
// reader pod in the claim's namespace that mounts it read-only and PUTs the
// tar stream, which goes through the pipeline like any dump. The stream is
// the filesystem engine's format, so its Restore reads it.
type volumes struct {
	push *pushendpoint.Endpoint
	wait time.Duration

	mu      sync.Mutex
	pending map[*runnerapi.VolumePush]struct{}
}

func newVolumes(push *pushendpoint.Endpoint, wait time.Duration) *volumes {
	if wait <= 0 {
		wait = DefaultVolumeWait
	}
	return &volumes{push: push, wait: wait, pending: map[*runnerapi.VolumePush]struct{}{}}
}

// list is the pending pushes, for the API.
func (v *volumes) list() []runnerapi.VolumePush {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]runnerapi.VolumePush, 0, len(v.pending))
	for p := range v.pending {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out
}

// volumeEngine is the engine of a claim-backed filesystem target in the daemon.
type volumeEngine struct {
	v  *volumes
	fs *filesystem.Engine
}

func (e *volumeEngine) Name() string      { return e.fs.Name() }
func (e *volumeEngine) Extension() string { return e.fs.Extension() }

// Destinations: none; a volume is restored into its own claim, through a
// writer pod in the claim's namespace.
func (e *volumeEngine) Destinations() []engine.Destination { return nil }

// Source is the claim, as the filesystem engine names it.
func (e *volumeEngine) Source(t engine.Target) manifest.Source { return e.fs.Source(t) }

// Backup waits for the reader pod's PUT and streams its body to w.
func (e *volumeEngine) Backup(ctx context.Context, t engine.Target, w io.Writer) (engine.Result, error) {
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

// announce lists a push until the returned func is called.
func (v *volumes) announce(req *runnerapi.VolumePush) (done func()) {
	v.mu.Lock()
	v.pending[req] = struct{}{}
	v.mu.Unlock()
	return func() {
		v.mu.Lock()
		delete(v.pending, req)
		v.mu.Unlock()
	}
}

// Restore hands the tar to a writer pod that mounts the claim read-write
// (the runner cannot), and waits for the pod's outcome. With IntoPath the
// tar is extracted here instead, like the filesystem engine does.
func (e *volumeEngine) Restore(ctx context.Context, t engine.Target, r io.Reader, opts engine.RestoreOptions) error {
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

// resultFile is where a writer pod reports: "ok", or the error it met.
const resultFile = "volume.result"

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
	if name != volumeFile || s.served {
		return nil, pushendpoint.ErrGone
	}
	s.served = true
	return &streamFile{r: s.r}, nil
}

func (s *volumeSource) Put(_ context.Context, name string, r io.Reader, _ int64) error {
	if name != resultFile {
		return pushendpoint.ErrReadOnly
	}
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return err
	}
	outcome := strings.TrimSpace(string(b))
	if outcome == "ok" {
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
	s.mu.Lock()
	if name != volumeFile || s.used {
		s.mu.Unlock()
		return fmt.Errorf("a volume session takes one %s", volumeFile)
	}
	s.used = true
	s.mu.Unlock()
	_, err := io.Copy(s.w, r)
	s.done <- err
	return err
}

func (s *volumeSink) Open(string) (pushendpoint.File, error) { return nil, pushendpoint.ErrGone }

func (s *volumeSink) Delete(string) error { return errors.New("a volume session cannot delete") }
