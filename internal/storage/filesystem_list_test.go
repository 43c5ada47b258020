package storage_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/internal/storage"
)

// TestFilesystemListingInKeyOrder: the filesystem store walks its tree in
// one pass and hands out keys in the byte order object stores list them
// ("a-b" before "a.b/…" before "a/…"), so a listing that stops at a key
// stops where it would on S3; temp files are not objects; a prefix may end
// mid-name; under a storage prefix, keys are relative to it.
func TestFilesystemListingInKeyOrder(t *testing.T) {
	for _, storePrefix := range []string{"", "tenant/x"} {
		root := t.TempDir()
		s, err := storage.Open(context.Background(), storage.Config{Filesystem: &storage.FilesystemConfig{Path: root}, Prefix: storePrefix})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		keys := []string{"w/a/b", "w/a-b", "w/a.b/c", "w/c", "w/d/e/f", "wx/outside", "v/before"}
		for _, k := range keys {
			if err := s.Put(ctx, k, strings.NewReader(k)); err != nil {
				t.Fatal(err)
			}
		}
		tmp := filepath.Join(root, filepath.FromSlash(storePrefix), "w", "c.0123abcd.tmp")
		if err := os.WriteFile(tmp, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
		var walked []string
		if err := s.Walk(ctx, "w/", func(o storage.Object) error {
			if o.Size != int64(len(o.Key)) {
				t.Errorf("%s: size %d, want %d", o.Key, o.Size, len(o.Key))
			}
			walked = append(walked, o.Key)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		want := []string{"w/a-b", "w/a.b/c", "w/a/b", "w/c", "w/d/e/f"}
		if !slices.Equal(walked, want) {
			t.Errorf("prefix %q: walked %q, want %q in this order", storePrefix, walked, want)
		}
		walked = walked[:0]
		if err := s.Walk(ctx, "w/a", func(o storage.Object) error { walked = append(walked, o.Key); return nil }); err != nil {
			t.Fatal(err)
		}
		if want := want[:3]; !slices.Equal(walked, want) {
			t.Errorf("prefix %q: walked w/a as %q, want %q", storePrefix, walked, want)
		}
		var asked []string
		objs, err := s.ListWhile(ctx, "", func(key string) bool { asked = append(asked, key); return key < "w/a/" })
		if err != nil {
			t.Fatal(err)
		}
		if got := len(objs); got != 3 || asked[len(asked)-1] != "w/a/" {
			t.Errorf("prefix %q: ListWhile up to w/a/ listed %d objects after asking %q; want v/before, w/a-b, w/a.b/c, and to stop at the directory w/a/ before reading it", storePrefix, got, asked)
		}
		if err := s.Walk(ctx, "nothing/here/", func(storage.Object) error { t.Error("an object under a missing directory"); return nil }); err != nil {
			t.Errorf("walking a missing directory: %v", err)
		}
		// A file where a directory would be: nothing below it, as on S3.
		if err := s.Walk(ctx, "w/c/below/", func(storage.Object) error { t.Error("an object under a file"); return nil }); err != nil {
			t.Errorf("walking below a file: %v", err)
		}
	}
}
