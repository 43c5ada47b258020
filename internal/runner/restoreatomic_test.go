package runner_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/internal/pipeline"
	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestRestoreIntoExistingDirectoryReadsOnce: a format 2 file tree restored
// over an existing directory (--clean) is checked as it streams, read once;
// with its last chunk flipped or missing, the directory keeps what it held
// (the restore extracts into a staging directory it removes on failure).
func TestRestoreIntoExistingDirectoryReadsOnce(t *testing.T) {
	src := t.TempDir()
	random := make([]byte, 6<<20) // several chunks that do not compress
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"random.bin": random, "sub/notes.txt": []byte("kept as backed up\n")} {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pg := testutil.PostgresDB(t)
	ctx := context.Background()
	for _, name := range []string{"intact", "flipped chunk", "missing chunk"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			r := newRunner(t, fixture{pg: pg, chunked: true, files: src}.load(t, dir), runner.Options{})
			id := backup(t, r)
			m, err := r.Catalog().Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			rec, _ := m.Target("files")
			var what string
			switch name {
			case "flipped chunk":
				what = flipLastChunk(t, dir, m, rec)
			case "missing chunk":
				what = removeLastChunk(t, dir, m, rec)
			}
			dest := t.TempDir()
			if err := os.WriteFile(filepath.Join(dest, "before.txt"), []byte("the destination's own\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			before := treeSum(t, dest)
			c := counted(r)
			_, err = r.Restore(ctx, runner.RestoreRequest{BackupID: id, Target: "files", IntoPath: dest, Clean: true})
			if gets, _ := c.reset(); gets > reads(rec) {
				t.Errorf("read %d chunks: want one pass at most, %d", gets, reads(rec))
			}
			if what == "" {
				if err != nil || treeSum(t, dest) != treeSum(t, src) {
					t.Fatalf("restore over an existing directory: %v; the tree matches its source: %v", err, treeSum(t, dest) == treeSum(t, src))
				}
				return
			}
			if !errors.Is(err, pipeline.ErrIntegrity) && !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("restore of a damaged backup: %v", err)
			}
			for _, s := range []string{id, `"files"`, what, "all or nothing: the destination is as it was"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("the error does not name %q: %v", s, err)
				}
			}
			if treeSum(t, dest) != before {
				t.Fatal("the existing directory changed")
			}
		})
	}
}

// treeSum is a digest of every path and regular file's content under dir.
func treeSum(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h.Write([]byte(rel + "\x00"))
		if d.Type().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
