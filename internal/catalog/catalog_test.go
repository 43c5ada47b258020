package catalog_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/storage"
)

// TestListSeesOnlyTheLayout: in a definition directory crowded with
// everything the layout holds and some things it does not, List sees the
// committed backups only, ListFailures the failure records only, and the
// keys written are today's, byte for byte.
func TestListSeesOnlyTheLayout(t *testing.T) {
	ctx := context.Background()
	s := filesystemStore(t)
	cat := catalog.Catalog{Store: s, Definition: layout.Definition{Namespace: "ns", Name: "def"}}
	t0 := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	const committed, orphan = "20261121T103000Z-aaaa", "20261121T113000Z-bbbb"
	if err := cat.Commit(ctx, testManifest(cat, committed, t0)); err != nil {
		t.Fatal(err)
	}
	if err := cat.RecordFailure(ctx, catalog.Failure{ID: orphan, StartTime: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{
		"ns/def/" + orphan + "/main.pgdump.zst.age", // an upload that never committed
		"ns/def/" + orphan + "/notes.txt",
		"ns/def/lock-000000000001",
		"ns/def/notes/manifest.json",                  // not a backup id
		"ns/def/" + orphan + "/sub/manifest.json",     // one level too deep
		"ns/def/failures/not-an-id.json",              // not a failure record
		"ns/defx/20261121T123000Z-cccc/manifest.json", // another definition
	} {
		if err := s.Put(ctx, key, strings.NewReader("{}")); err != nil {
			t.Fatal(err)
		}
	}

	ms, err := cat.List(ctx)
	if err != nil || len(ms) != 1 || ms[0].ID != committed {
		t.Errorf("List = %d backups, %v; want only %s", len(ms), err, committed)
	}
	fs, err := cat.ListFailures(ctx)
	if err != nil || len(fs) != 1 || fs[0].ID != orphan {
		t.Errorf("ListFailures = %+v, %v; want only %s", fs, err, orphan)
	}
	wantKeys(t, s, "ns/def/"+committed+"/", "ns/def/"+committed+"/manifest.json")
	wantKeys(t, s, "ns/def/failures/", "ns/def/failures/"+orphan+".json", "ns/def/failures/not-an-id.json")

	if err := cat.DeleteObjects(ctx, orphan); err != nil {
		t.Fatal(err)
	}
	wantKeys(t, s, "ns/def/"+orphan+"/") // strays and nested files go with the directory
	for _, id := range []string{"failures", "", ".."} {
		if err := cat.DeleteBackup(ctx, id); err == nil {
			t.Errorf("DeleteBackup(%q) succeeded", id)
		}
	}
	wantKeys(t, s, "ns/def/failures/", "ns/def/failures/"+orphan+".json", "ns/def/failures/not-an-id.json")
	if _, err := cat.Get(ctx, "20261121T123000Z-cccc"); !errors.Is(err, catalog.ErrNoBackup) {
		t.Errorf("Get of another definition's backup = %v, want ErrNoBackup", err)
	}
}

func testManifest(cat catalog.Catalog, id string, start time.Time) *manifest.Manifest {
	def := cat.Definition
	return &manifest.Manifest{FormatVersion: 1, ID: id, Namespace: def.Namespace, Definition: def.Name,
		Status: phase.Completed, StartTime: start, EndTime: start.Add(time.Minute), Compression: "zstd",
		Targets: []manifest.Target{{Name: "main", Engine: "postgres", Object: def.Backup(id).ObjectKey("main", "pgdump", true),
			SHA256: strings.Repeat("a", 64), PlainSHA256: strings.Repeat("b", 64)}}}
}

// filesystemStore is a store in a fresh directory, closed after the test.
func filesystemStore(t *testing.T) storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), storage.Config{Filesystem: &storage.FilesystemConfig{Path: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// wantKeys checks the keys stored under prefix.
func wantKeys(t *testing.T, s storage.Store, prefix string, want ...string) {
	t.Helper()
	objs, err := s.List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.Key)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("keys under %s = %q, want %q", prefix, got, want)
	}
}
