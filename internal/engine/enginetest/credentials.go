package enginetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/coffer-dev/coffer/internal/engine"
)

// badCredentials: both directions fail, naming the target, and the
// password that was tried appears nowhere in the error.
func (f fixture) badCredentials(t *testing.T) {
	f.needRemote(t)
	f.mustFailBothWays(t, f.remote.BadCredentials(t))
}

// unreachable: both directions fail, naming the target.
func (f fixture) unreachable(t *testing.T) {
	f.needRemote(t)
	f.mustFailBothWays(t, f.remote.Unreachable(t))
}

// mustFailBothWays: Backup fails, and so does Restore unless it works
// offline.
func (f fixture) mustFailBothWays(t *testing.T, target engine.Target) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	secrets := secretValues(target)
	_, err := f.h.Engine().Backup(ctx, target, io.Discard)
	if err == nil {
		t.Fatal("Backup succeeded")
	}
	mustName(t, err, target)
	mustNotLeak(t, "Backup error", err.Error(), secrets)
	t.Logf("Backup errors read like: %v", err)
	if f.traits.OfflineRestore {
		return
	}

	into := f.h.NewDestination(t, target, false)
	err = f.h.Engine().Restore(ctx, target, bytes.NewReader(f.dump), into)
	if err == nil {
		t.Fatal("Restore succeeded")
	}
	mustName(t, err, target)
	mustNotLeak(t, "Restore error", err.Error(), secrets)
	t.Logf("Restore errors read like: %v", err)
}

// toolMissing: with an empty PATH both directions fail with ErrToolMissing.
func (f fixture) toolMissing(t *testing.T) {
	if len(f.h.Tools()) == 0 {
		t.Skip("the engine runs no tool")
	}
	t.Setenv("PATH", t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	_, err := f.h.Engine().Backup(ctx, f.src, io.Discard)
	if !errors.Is(err, engine.ErrToolMissing) {
		t.Fatalf("Backup without tools: error = %v, want ErrToolMissing", err)
	}
	mustName(t, err, f.src)
	into := f.h.NewDestination(t, f.src, false)
	err = f.h.Engine().Restore(ctx, f.src, bytes.NewReader(f.dump), into)
	if !errors.Is(err, engine.ErrToolMissing) {
		t.Fatalf("Restore without tools: error = %v, want ErrToolMissing", err)
	}
}
