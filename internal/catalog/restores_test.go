package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestRestoreRecords: a record written Running and rewritten Failed reads
// back as the last write, on the filesystem and on a real MinIO; records are
// neither backups nor failures, and ids that are not ids build no key.
func TestRestoreRecords(t *testing.T) {
	stores := map[string]func(t *testing.T) storage.Config{
		"filesystem": func(t *testing.T) storage.Config {
			return storage.Config{Filesystem: &storage.FilesystemConfig{Path: t.TempDir()}}
		},
		"minio": func(t *testing.T) storage.Config {
			if testing.Short() {
				t.Skip("-short: no MinIO")
			}
			return testutil.StartMinIO(t).StorageConfig("p")
		},
	}
	for name, cfg := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := storage.Open(ctx, cfg(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			cat := catalog.Catalog{Store: s, Definition: layout.Definition{Namespace: "ns", Name: "def"}}
			checkRestoreRecords(t, cat)
		})
	}
}

func checkRestoreRecords(t *testing.T, cat catalog.Catalog) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	older := catalog.Restore{ID: "20261121T102000Z-aaaa", BackupID: "20261121T090000Z-bbbb", Status: phase.Completed,
		StartTime: t0.Add(-10 * time.Minute), EndTime: t0.Add(-5 * time.Minute)}
	r := catalog.Restore{ID: "20261121T103000Z-cccc", BackupID: "20261121T090000Z-bbbb", Status: phase.Running, StartTime: t0}
	for _, rec := range []catalog.Restore{r, older} {
		if err := cat.PutRestore(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	if objs, err := cat.Store.List(ctx, "ns/def/restores/20261121T103000Z-cccc.json"); err != nil || len(objs) != 1 {
		t.Errorf("record not stored at ns/def/restores/20261121T103000Z-cccc.json: %v, %v", objs, err)
	}
	r.Status, r.Error, r.EndTime = phase.PartiallyFailed, "2 of 3 objects failed", t0.Add(time.Minute)
	r.SetFailedItems([]engine.FailedItem{{Target: "k", Item: "configmaps ns/a", Reason: "forbidden"}, {Target: "k", Item: "secrets ns/b"}})
	if err := cat.PutRestore(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := cat.GetRestore(ctx, r.ID)
	if err != nil || !reflect.DeepEqual(got, r) || got.FailedItemCount != 2 {
		t.Fatalf("GetRestore = %+v, %v; want %+v", got, err, r)
	}
	list, err := cat.ListRestores(ctx)
	if err != nil || len(list) != 2 || list[0].ID != older.ID || list[1].ID != r.ID {
		t.Fatalf("ListRestores = %+v, %v; want oldest first", list, err)
	}
	for _, id := range []string{"20261121T110000Z-zzzz", "../failures/x", "latest", ""} {
		if _, err := cat.GetRestore(ctx, id); !errors.Is(err, catalog.ErrNoRestore) {
			t.Errorf("GetRestore(%q) = %v, want ErrNoRestore", id, err)
		}
	}
	if err := cat.PutRestore(ctx, catalog.Restore{ID: "../evil"}); err == nil {
		t.Error("PutRestore accepted an id that is not an id")
	}
	if ms, err := cat.List(ctx); err != nil || len(ms) != 0 {
		t.Errorf("restore records listed as backups: %d, %v", len(ms), err)
	}
	if fs, err := cat.ListFailures(ctx); err != nil || len(fs) != 0 {
		t.Errorf("restore records listed as failures: %d, %v", len(fs), err)
	}
	if err := cat.DeleteRestore(ctx, older.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.GetRestore(ctx, older.ID); !errors.Is(err, catalog.ErrNoRestore) {
		t.Errorf("deleted record still read: %v", err)
	}
}

// TestSetFailedItemsBounded: a record keeps the first MaxFailedItems failed
// items, in order, and counts them all.
func TestSetFailedItemsBounded(t *testing.T) {
	var items []engine.FailedItem
	for i := range 5000 {
		items = append(items, engine.FailedItem{Target: "k", Item: fmt.Sprintf("configmaps ns/c%d", i)})
	}
	var r catalog.Restore
	r.SetFailedItems(items)
	if r.FailedItemCount != 5000 || len(r.FailedItems) != catalog.MaxFailedItems || r.FailedItems[49].Item != "configmaps ns/c49" {
		t.Fatalf("count %d, kept %d, last kept %+v", r.FailedItemCount, len(r.FailedItems), r.FailedItems[len(r.FailedItems)-1])
	}
	items[0].Item = "changed"
	if r.FailedItems[0].Item == "changed" {
		t.Error("the record shares the caller's slice")
	}
	r.SetFailedItems(nil)
	if r.FailedItems != nil || r.FailedItemCount != 0 {
		t.Errorf("no failures: %+v", r)
	}
}
