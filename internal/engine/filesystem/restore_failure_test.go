package filesystem_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/filesystem"
)

// TestFailedRestoreLeavesDestinationAsFound: a stream that breaks part way
// (here: cut in half) fails the restore, and the destination is exactly as
// it was — an existing tree with --clean keeps every entry, a missing
// destination stays missing, and no staging directory is left behind.
func TestFailedRestoreLeavesDestinationAsFound(t *testing.T) {
	e := filesystem.New()
	src := tempDir(t)
	fillTree(t, src)
	archive := backup(t, e, fsTarget("data", src))
	cut := archive[:len(archive)/2]

	existing := tempDir(t)
	must(t, os.WriteFile(filepath.Join(existing, "keep.txt"), []byte("production"), 0o640))
	must(t, os.Mkdir(filepath.Join(existing, "sub"), 0o750))
	must(t, os.WriteFile(filepath.Join(existing, "sub", "deep"), []byte("deep"), 0o600))
	before := fingerprint(t, existing, false)
	err := e.Restore(context.Background(), fsTarget("data", src), bytes.NewReader(cut), engine.RestoreOptions{IntoPath: existing, Clean: true})
	if err == nil {
		t.Fatal("a cut stream restored")
	}
	if after := fingerprint(t, existing, false); after != before {
		t.Fatalf("failed --clean restore changed the destination:\n--- before\n%s\n--- after\n%s", before, after)
	}

	missing := filepath.Join(tempDir(t), "new")
	err = e.Restore(context.Background(), fsTarget("data", src), bytes.NewReader(cut), engine.RestoreOptions{IntoPath: missing})
	if err == nil {
		t.Fatal("a cut stream restored")
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("failed restore left %s: %v", missing, err)
	}

	// The whole stream still restores over the same destination.
	must(t, e.Restore(context.Background(), fsTarget("data", src), bytes.NewReader(archive), engine.RestoreOptions{IntoPath: existing, Clean: true}))
	if got, want := fingerprint(t, existing, true), fingerprint(t, src, true); got != want {
		t.Fatalf("restore after a failed one differs:\n--- want\n%s\n--- got\n%s", want, got)
	}
}
