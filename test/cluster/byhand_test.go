//go:build cluster

package cluster

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// restoreByHand restores a backup's object whose key ends with suffix the
// way docs/format.md tells a user without Coffer: download it from the
// bucket, then age -d | zstd -d | into (a shell command reading stdin).
// The storage must write format 1 (newStreamStorage): a format 2 backup has
// no single object per target.
func restoreByHand(t *testing.T, st *storage, backupID, suffix, into string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := st.minio.Client()
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(st.minio.Bucket), Prefix: aws.String("cluster/")})
	if err != nil {
		t.Fatal(err)
	}
	key := ""
	for _, o := range list.Contents {
		if k := aws.ToString(o.Key); strings.Contains(k, backupID) && strings.HasSuffix(k, suffix) {
			key = k
		}
	}
	if key == "" {
		t.Fatalf("no object of backup %s ending %s in the bucket", backupID, suffix)
	}
	obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(st.minio.Bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = obj.Body.Close() }()
	dir := t.TempDir()
	file, identity := filepath.Join(dir, "object.age"), filepath.Join(dir, "identity.txt")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, obj.Body); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(identity, []byte(st.identity.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	script := "set -o pipefail; age -d -i " + identity + " " + file + " | zstd -d | " + into
	if out, err := exec.CommandContext(ctx, "bash", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("by hand: %s: %v\n%s", script, err, out)
	}
}
