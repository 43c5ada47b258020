//go:build !linux

package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/manifest"
)

var errUnsupported = errors.New("the filesystem engine runs on Linux only")

// Backup fails: the engine needs Linux system calls.
func (e *Engine) Backup(_ context.Context, t engine.Target, _ io.Writer) (engine.Result, error) {
	return engine.Result{}, fmt.Errorf("backup of target %q: %w", t.Name(), errUnsupported)
}

// Restore fails: the engine needs Linux system calls.
func (e *Engine) Restore(_ context.Context, t engine.Target, _ io.Reader, _ engine.RestoreOptions) error {
	return fmt.Errorf("restore of target %q: %w", t.Name(), errUnsupported)
}

// CountTree fails: the engine needs Linux system calls.
func CountTree(dir string) (manifest.Contents, error) {
	return manifest.Contents{}, fmt.Errorf("counting %s: %w", dir, errUnsupported)
}
