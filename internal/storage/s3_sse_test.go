package storage_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestS3ServerSideEncryption: with server-side encryption set, every
// object the store writes — a small one (one PutObject), a large one (a
// multipart upload), and the lease's conditional create — is stored
// encrypted by the server, as S3's HeadObject reports, and reads back
// equal. Without it the same server stores objects unencrypted, and a KMS
// key the server does not have fails the write: the setting is what
// reaches the server. MinIO runs with a static KMS key
// (MINIO_KMS_SECRET_KEY), so SSE-S3 and SSE-KMS both work on it.
func TestS3ServerSideEncryption(t *testing.T) {
	const keyName = "coffer-test-key"
	m := testutil.StartMinIOWithKMS(t, keyName)
	client := m.Client()
	ctx := context.Background()
	open := func(t *testing.T, prefix, sse, kms string) storage.Store {
		t.Helper()
		c := m.StorageConfig(prefix)
		c.S3.ServerSideEncryption, c.S3.KMSKeyID = sse, kms
		c.PartSize, c.Concurrency = 5*mib, 2
		s, err := storage.Open(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	write := func(t *testing.T, s storage.Store) map[string][]byte {
		t.Helper()
		objs := map[string][]byte{"small": []byte("one PutObject"), "large": bytes.Repeat([]byte("multipart "), 12*mib/10), "lock": []byte("lease")}
		for _, k := range []string{"small", "large"} {
			if err := s.Put(ctx, k, bytes.NewReader(objs[k])); err != nil {
				t.Fatalf("Put %s: %v", k, err)
			}
		}
		if err := s.CreateExclusive(ctx, "lock", objs["lock"]); err != nil {
			t.Fatalf("CreateExclusive: %v", err)
		}
		for k, want := range objs {
			if got := getAll(t, s, k); got != digestOf(t, bytes.NewReader(want)) {
				t.Fatalf("%s reads back different", k)
			}
		}
		return objs
	}
	head := func(t *testing.T, prefix, key string) *s3.HeadObjectOutput {
		t.Helper()
		out, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(m.Bucket), Key: aws.String(prefix + "/" + key)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	for name, tc := range map[string]struct{ sse, kms, want string }{
		"none":    {"", "", ""},
		"SSE-S3":  {storage.SSES3, "", "AES256"},
		"SSE-KMS": {storage.SSEKMS, keyName, "aws:kms"},
	} {
		t.Run(name, func(t *testing.T) {
			prefix := strings.ToLower(strings.ReplaceAll(name, "-", ""))
			objs := write(t, open(t, prefix, tc.sse, tc.kms))
			for k := range objs {
				h := head(t, prefix, k)
				if got := string(h.ServerSideEncryption); got != tc.want {
					t.Errorf("%s: server-side encryption %q, want %q", k, got, tc.want)
				}
				if tc.kms != "" && !strings.HasSuffix(aws.ToString(h.SSEKMSKeyId), tc.kms) {
					t.Errorf("%s: KMS key %q, want %s", k, aws.ToString(h.SSEKMSKeyId), tc.kms)
				}
			}
		})
	}

	t.Run("unknown KMS key", func(t *testing.T) {
		s := open(t, "unknownkey", storage.SSEKMS, "no-such-key")
		if err := s.Put(ctx, "small", bytes.NewReader([]byte("x"))); err == nil {
			t.Fatal("a write under a KMS key the server lacks succeeded")
		}
		if err := s.Put(ctx, "large", bytes.NewReader(bytes.Repeat([]byte("y"), 12*mib))); err == nil {
			t.Fatal("a multipart write under a KMS key the server lacks succeeded")
		}
	})
}
