package config

import (
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/internal/storage"
)

// TestS3ServerSideEncryption: the BackupStorage's SSE settings reach the
// storage config, and wrong ones are refused naming the field.
func TestS3ServerSideEncryption(t *testing.T) {
	s := strings.Replace(string(loadValid(t)), "forcePathStyle: true,", "forcePathStyle: true, serverSideEncryption: \"aws:kms\", kmsKeyID: backups-key,", 1)
	c, err := Parse("valid.yaml", []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := c.StorageConfig()
	if err != nil {
		t.Fatal(err)
	}
	if sc.S3.ServerSideEncryption != storage.SSEKMS || sc.S3.KMSKeyID != "backups-key" {
		t.Fatalf("s3 config %+v", sc.S3)
	}
	for name, tc := range map[string]struct{ sse, want string }{
		"unknown":                   {`serverSideEncryption: aes, `, `spec.s3.serverSideEncryption: "aes" is not AES256 (SSE-S3) or aws:kms (SSE-KMS)`},
		"kms key without kms":       {`serverSideEncryption: AES256, kmsKeyID: k, `, "spec.s3.kmsKeyID: needs serverSideEncryption aws:kms"},
		"kms key without any":       {`kmsKeyID: k, `, "spec.s3.kmsKeyID: needs serverSideEncryption aws:kms"},
		"offsite with unknown mode": {"", `spec.offsite.s3.serverSideEncryption: "sse-c" is not`},
	} {
		t.Run(name, func(t *testing.T) {
			s := strings.Replace(string(loadValid(t)), "forcePathStyle: true,", "forcePathStyle: true, "+tc.sse, 1)
			if tc.sse == "" {
				s = strings.Replace(s, "  upload: {partSizeMiB: 8, concurrency: 3}\n",
					"  upload: {partSizeMiB: 8, concurrency: 3}\n  offsite: {s3: {bucket: far, serverSideEncryption: sse-c}}\n", 1)
			}
			_, err := Parse("valid.yaml", []byte(s))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestAzurePartSizeLimit: an Azure storage refuses a part size above
// Azure's 4000 MiB block limit when the config is checked — its own, or
// the primary's that an Azure offsite copy without its own inherits — and
// takes 4000.
func TestAzurePartSizeLimit(t *testing.T) {
	azure := func(t *testing.T) string {
		s := string(loadValid(t))
		i := strings.Index(s, "  s3: {bucket: backups")
		j := strings.Index(s, "  encryption:")
		return s[:i] + "  azure: {account: acct, container: c}\n" + s[j:]
	}
	for name, tc := range map[string]struct {
		edit func(string) string
		want string
	}{
		"primary": {func(s string) string { return strings.Replace(s, "partSizeMiB: 8", "partSizeMiB: 4001", 1) },
			"spec.upload.partSizeMiB: 4001 is above Azure's block limit of 4000 MiB"},
		"offsite's own": {func(s string) string {
			return strings.Replace(s, "  upload: {partSizeMiB: 8, concurrency: 3}\n",
				"  upload: {partSizeMiB: 8, concurrency: 3}\n  offsite: {azure: {account: far, container: c}, upload: {partSizeMiB: 5000}}\n", 1)
		}, "spec.offsite.upload.partSizeMiB: 5000 is above Azure's block limit"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("valid.yaml", []byte(tc.edit(azure(t))))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	// An S3 primary with 5000 MiB parts is fine for S3, not for the Azure
	// offsite copy that takes its settings.
	s := strings.Replace(string(loadValid(t)), "  upload: {partSizeMiB: 8, concurrency: 3}\n",
		"  upload: {partSizeMiB: 5000, concurrency: 3}\n  offsite: {azure: {account: far, container: c}}\n", 1)
	if _, err := Parse("valid.yaml", []byte(s)); err == nil || !strings.Contains(err.Error(), "spec.offsite.azure uses") ||
		!strings.Contains(err.Error(), "5000 is above Azure's block limit") {
		t.Fatalf("inherited part size: %v", err)
	}
	ok := strings.Replace(azure(t), "partSizeMiB: 8", "partSizeMiB: 4000", 1)
	c, err := Parse("valid.yaml", []byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	if sc, err := c.StorageConfig(); err != nil || sc.PartSize != storage.AzureMaxBlockSize {
		t.Fatalf("4000 MiB on Azure: %v, %d", err, sc.PartSize)
	}
}
