package storage_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestSweepIncompleteFilesystem: a temp file left by a killed writer is
// invisible to List, and SweepIncomplete removes it once it is old enough.
func TestSweepIncompleteFilesystem(t *testing.T) {
	f := backends["filesystem"](t)(t)
	s := f.open(t, nil)
	dir := filepath.Join(f.base.Filesystem.Path, "backups", "ns", "def", "20261121T103000Z-abcd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "main.pgdump.zst.3f2a91c0.tmp")
	if err := os.WriteFile(tmp, []byte("half an upload"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if objs, _ := s.List(ctx, "ns/"); len(objs) != 0 {
		t.Fatalf("temp file listed as an object: %v", objs)
	}
	if removed, err := s.SweepIncomplete(ctx, "ns/def/", time.Now().Add(-time.Hour)); err != nil || len(removed) != 0 {
		t.Fatalf("a fresh temp file was swept: %v %v", removed, err)
	}
	if removed, err := s.SweepIncomplete(ctx, "ns/other/", time.Now().Add(time.Minute)); err != nil || len(removed) != 0 {
		t.Fatalf("swept outside the prefix: %v %v", removed, err)
	}
	removed, err := s.SweepIncomplete(ctx, "ns/def/", time.Now().Add(time.Minute))
	if err != nil || len(removed) != 1 {
		t.Fatalf("SweepIncomplete = %v, %v; want the temp file", removed, err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the emptied backup directory remains (%v)", err)
	}
}

// TestSweepIncompleteS3: an unfinished multipart upload on a real MinIO is
// aborted by SweepIncomplete, and only under the given prefix. MinIO lists
// uploads only for an exact object name (AWS S3 takes any prefix), so the
// test sweeps with the object's key; MinIO also expires stale uploads by
// itself after 24 hours (docs/storage.md).
func TestSweepIncompleteS3(t *testing.T) {
	m := testutil.StartMinIO(t)
	client := m.Client()
	ctx := context.Background()
	start := func(key string) {
		up, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(m.Bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(m.Bucket), Key: aws.String(key), UploadId: up.UploadId,
			PartNumber: aws.Int32(1), Body: bytes.NewReader(bytes.Repeat([]byte("x"), 5<<20))}); err != nil {
			t.Fatal(err)
		}
	}
	start("p/ns/def/20261121T103000Z-abcd/main.pgdump.zst")
	start("p/ns/other/20261121T103000Z-abcd/main.pgdump.zst")
	s, err := openStore(ctx, m.StorageConfig("p"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if removed, err := s.SweepIncomplete(ctx, "ns/def/20261121T103000Z-abcd/main.pgdump.zst", time.Now().Add(-time.Hour)); err != nil || len(removed) != 0 {
		t.Fatalf("a fresh upload was aborted: %v %v", removed, err)
	}
	removed, err := s.SweepIncomplete(ctx, "ns/def/20261121T103000Z-abcd/main.pgdump.zst", time.Now().Add(time.Minute))
	if err != nil || len(removed) != 1 {
		t.Fatalf("SweepIncomplete = %v, %v; want one aborted upload", removed, err)
	}
	for key, want := range map[string]int{"p/ns/def/20261121T103000Z-abcd/main.pgdump.zst": 0, "p/ns/other/20261121T103000Z-abcd/main.pgdump.zst": 1} {
		out, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(m.Bucket), Prefix: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Uploads) != want {
			t.Errorf("%s: %d uploads left, want %d", key, len(out.Uploads), want)
		}
	}
}

var openStore = storageOpen
