package storage_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestSweepIncompleteAzure: blocks staged on a real Azurite by an upload
// that never committed are invisible to List and discarded by
// SweepIncomplete, only under the given prefix and only once old enough; a
// committed object under the prefix is left alone. (Azure itself discards
// uncommitted blocks after 7 days; docs/storage.md.)
func TestSweepIncompleteAzure(t *testing.T) {
	a := testutil.StartAzurite(t)
	client, err := a.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stage := func(name string) {
		id := base64.StdEncoding.EncodeToString([]byte("block-0000"))
		if _, err := client.NewBlockBlobClient(name).StageBlock(ctx, id, nopCloser{bytes.NewReader(bytes.Repeat([]byte("x"), 1<<20))}, nil); err != nil {
			t.Fatal(err)
		}
	}
	uncommitted := func(name string) int {
		bl, err := client.NewBlockBlobClient(name).GetBlockList(ctx, blockblob.BlockListTypeUncommitted, nil)
		if bloberror.HasCode(err, bloberror.BlobNotFound) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return len(bl.UncommittedBlocks)
	}
	stage("p/ns/def/20261121T103000Z-abcd/main.pgdump.zst")
	stage("p/ns/other/20261121T103000Z-abcd/main.pgdump.zst")
	s := fixture{base: a.StorageConfig("p")}.open(t, nil)
	if err := s.Put(ctx, "ns/def/20261121T103000Z-abcd/manifest.json", bytes.NewReader([]byte("{}"))); err != nil {
		t.Fatal(err)
	}
	if objs, err := s.List(ctx, "ns/"); err != nil || len(objs) != 1 {
		t.Fatalf("List = %+v, %v; want only the committed manifest", objs, err)
	}
	if removed, err := s.SweepIncomplete(ctx, "ns/def/", time.Now().Add(-time.Hour)); err != nil || len(removed) != 0 {
		t.Fatalf("fresh blocks were discarded: %v %v", removed, err)
	}
	removed, err := s.SweepIncomplete(ctx, "ns/def/", time.Now().Add(time.Minute))
	if err != nil || len(removed) != 1 || removed[0] != "p/ns/def/20261121T103000Z-abcd/main.pgdump.zst" {
		t.Fatalf("SweepIncomplete = %v, %v; want the uncommitted upload", removed, err)
	}
	for name, want := range map[string]int{"p/ns/def/20261121T103000Z-abcd/main.pgdump.zst": 0, "p/ns/other/20261121T103000Z-abcd/main.pgdump.zst": 1} {
		if got := uncommitted(name); got != want {
			t.Errorf("%s: %d uncommitted blocks left, want %d", name, got, want)
		}
	}
	if objs, err := s.List(ctx, ""); err != nil || len(objs) != 1 {
		t.Fatalf("after the sweep List = %+v, %v; want the manifest alone", objs, err)
	}
	assertContent(t, s, "ns/def/20261121T103000Z-abcd/manifest.json", "{}")
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
