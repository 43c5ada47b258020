package storage_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestS3DefaultCredentialChain: an S3 storage without keys takes its
// credentials from the AWS SDK's default chain. The chain is fed through
// AWS_* variables of a child process only (here, as a stand-in for IRSA or
// Pod Identity), so this test's own environment, and any rendered pod,
// never carries keys; without them the child's upload is refused.
func TestS3DefaultCredentialChain(t *testing.T) {
	if os.Getenv("COFFER_S3_CHAIN_CHILD") != "" {
		s3DefaultChainChild(t)
		return
	}
	m := testutil.StartMinIO(t)
	run := func(withKeys bool) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestS3DefaultCredentialChain$", "-test.v")
		env := []string{
			"COFFER_S3_CHAIN_CHILD=1",
			"COFFER_S3_CHAIN_ENDPOINT=" + m.Endpoint,
			"COFFER_S3_CHAIN_BUCKET=" + m.Bucket,
			"AWS_CONFIG_FILE=/dev/null",
			"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
			"AWS_EC2_METADATA_DISABLED=true",
			"HOME=" + t.TempDir(),
			"PATH=" + os.Getenv("PATH"),
		}
		if withKeys {
			env = append(env, "AWS_ACCESS_KEY_ID="+m.AccessKey, "AWS_SECRET_ACCESS_KEY="+m.SecretKey, "COFFER_S3_CHAIN_EXPECT=ok")
		}
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return strings.ReplaceAll(string(out), m.SecretKey, "<secret>"), err
	}
	if out, err := run(true); err != nil {
		t.Fatalf("with credentials in the chain: %v\n%s", err, out)
	}
	if out, err := run(false); err != nil {
		t.Fatalf("with nothing in the chain: %v\n%s", err, out)
	}
}

func s3DefaultChainChild(t *testing.T) {
	ctx := context.Background()
	s, err := storage.Open(ctx, storage.Config{Prefix: "chain", S3: &storage.S3Config{
		Bucket: os.Getenv("COFFER_S3_CHAIN_BUCKET"), Endpoint: os.Getenv("COFFER_S3_CHAIN_ENDPOINT"),
		Region: testutil.MinIORegion, ForcePathStyle: true,
	}})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer func() { _ = s.Close() }()
	err = s.Put(ctx, "k", strings.NewReader("from the default chain"))
	if os.Getenv("COFFER_S3_CHAIN_EXPECT") == "ok" {
		if err != nil {
			t.Fatalf("Put with credentials from the environment: %v", err)
		}
		assertContent(t, s, "k", "from the default chain")
		return
	}
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "credentials") {
		t.Fatalf("Put without any credentials: got %v, want a missing-credentials error", err)
	}
}
