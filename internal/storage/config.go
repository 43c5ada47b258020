package storage

import (
	"errors"
	"fmt"
	"strings"
)

const (
	// DefaultPartSize is large enough that the default part-count limit
	// allows objects of 156 GiB, small enough that a runner pod's memory
	// limit stays modest (see docs/storage.md).
	DefaultPartSize int64 = 16 << 20
	// DefaultConcurrency keeps two parts uploading while a third fills.
	DefaultConcurrency = 2
	// DefaultMaxParts is S3's limit on parts per multipart upload.
	DefaultMaxParts = 10000

	// s3MinPartSize and s3MaxPartSize are S3's limits for every part but the
	// last; a smaller part makes CompleteMultipartUpload fail at the very end
	// of a long upload, so Open rejects it up front.
	s3MinPartSize int64 = 5 << 20
	s3MaxPartSize int64 = 5 << 30
)

// Config selects and tunes one backend. Exactly one of Filesystem, S3 and
// Azure must be set.
type Config struct {
	// Prefix is prepended to every key, joined with "/". Keys given to and
	// returned by a Store are relative to it, so two stores with different
	// prefixes on one bucket never see each other's objects.
	Prefix     string
	Filesystem *FilesystemConfig
	S3         *S3Config
	Azure      *AzureConfig
	GCS        *GCSConfig

	// PartSize is the number of bytes per multipart part (default 16 MiB;
	// at least 5 MiB for S3). It bounds memory and, with MaxParts, the
	// largest object an S3 upload can hold.
	PartSize int64
	// Concurrency is the number of parts uploading at once (default 2).
	Concurrency int
	// MaxParts is the part-count limit of one upload (default and maximum
	// 10000, S3's limit, or 50000 blocks on Azure). It only exists to be
	// lowered by tests.
	MaxParts int
}

// FilesystemConfig stores objects as files under Path, which must exist: a
// missing mount point must fail loudly rather than fill the root disk.
type FilesystemConfig struct {
	Path string
}

// S3Config addresses an S3 or S3-compatible bucket. Keys, when given, are
// used alone; nothing else is read. Both empty means the AWS SDK's default
// credential chain (IRSA's web identity, EKS Pod Identity, instance
// metadata, AWS_* variables), for credentials only.
type S3Config struct {
	Bucket   string
	Endpoint string // e.g. http://127.0.0.1:9000; empty for AWS
	Region   string // default us-east-1
	// ForcePathStyle addresses the bucket as endpoint/bucket instead of
	// bucket.endpoint, which most S3-compatible servers need.
	ForcePathStyle  bool
	AccessKeyID     string
	SecretAccessKey string
	// ServerSideEncryption, when set, asks S3 to encrypt every object it
	// stores: "AES256" (SSE-S3) or "aws:kms" (SSE-KMS, under KMSKeyID or
	// the bucket's default key). It is sent with every upload, single or
	// multipart.
	ServerSideEncryption string
	KMSKeyID             string
}

// Server-side encryption of S3 objects.
const (
	SSES3  = "AES256"
	SSEKMS = "aws:kms"
)

// AzureConfig addresses an Azure Blob Storage container. Credentials are
// used as given: a shared key, or a SAS token, or neither, and then the
// pod's own Azure identity (workload identity, managed identity, or the
// AZURE_* environment through azidentity's default chain).
type AzureConfig struct {
	Account   string
	Container string
	// Endpoint is the blob service URL, e.g. Azurite's
	// http://127.0.0.1:10000/<account>; empty for
	// https://<account>.blob.core.windows.net.
	Endpoint  string
	SharedKey string
	SASToken  string
}

// GCSConfig addresses a Google Cloud Storage bucket. With a service-account
// key (JSON) it is used as given; without one, application default
// credentials (GKE workload identity, the node's service account).
type GCSConfig struct {
	Bucket string
	// Endpoint is the server's base URL, e.g. an emulator's
	// http://127.0.0.1:4443; empty for Google.
	Endpoint        string
	CredentialsJSON string
	// Anonymous sends no credentials at all; only with Endpoint (an
	// emulator).
	Anonymous bool
}

// withDefaults returns c with zero settings replaced by defaults and the
// prefix normalised, or an error naming the first invalid setting.
func (c Config) withDefaults() (Config, error) {
	set := 0
	for _, b := range []bool{c.Filesystem != nil, c.S3 != nil, c.Azure != nil, c.GCS != nil} {
		if b {
			set++
		}
	}
	if set != 1 {
		return c, errors.New("storage config: set exactly one of filesystem, s3, azure and gcs")
	}
	c.Prefix = strings.Trim(c.Prefix, "/")
	if c.Prefix != "" {
		if err := validateKey(c.Prefix); err != nil {
			return c, fmt.Errorf("storage config: prefix: %w", err)
		}
	}
	if c.PartSize == 0 {
		c.PartSize = DefaultPartSize
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	maxParts := DefaultMaxParts
	if c.Azure != nil {
		maxParts = azureMaxBlocks
	}
	if c.MaxParts == 0 {
		c.MaxParts = maxParts
	}
	switch {
	case c.PartSize < 0:
		return c, fmt.Errorf("storage config: part size %d is negative", c.PartSize)
	case c.Concurrency < 0:
		return c, fmt.Errorf("storage config: concurrency %d is negative", c.Concurrency)
	case c.MaxParts < 0 || c.MaxParts > maxParts:
		return c, fmt.Errorf("storage config: max parts %d is outside 1..%d", c.MaxParts, maxParts)
	}
	if c.Azure != nil {
		if c.PartSize > AzureMaxBlockSize {
			return c, fmt.Errorf("storage config: azure part size %d is above Azure's block limit %d", c.PartSize, AzureMaxBlockSize)
		}
		if c.Azure.Account == "" || c.Azure.Container == "" {
			return c, errors.New("storage config: azure needs an account and a container")
		}
		if c.Azure.SharedKey != "" && c.Azure.SASToken != "" {
			return c, errors.New("storage config: azure takes a shared key or a SAS token, not both")
		}
	}
	if c.S3 != nil {
		if c.PartSize < s3MinPartSize || c.PartSize > s3MaxPartSize {
			return c, fmt.Errorf("storage config: s3 part size %d is outside S3's limits %d..%d", c.PartSize, s3MinPartSize, s3MaxPartSize)
		}
		if c.S3.Bucket == "" {
			return c, errors.New("storage config: s3 bucket is empty")
		}
		if (c.S3.AccessKeyID == "") != (c.S3.SecretAccessKey == "") {
			return c, errors.New("storage config: s3 needs both an access key ID and a secret access key, or neither")
		}
		switch sse := c.S3.ServerSideEncryption; {
		case sse != "" && sse != SSES3 && sse != SSEKMS:
			return c, fmt.Errorf("storage config: s3 server-side encryption %q is not %s or %s", sse, SSES3, SSEKMS)
		case c.S3.KMSKeyID != "" && sse != SSEKMS:
			return c, fmt.Errorf("storage config: s3 KMS key id needs server-side encryption %s", SSEKMS)
		}
	}
	if c.GCS != nil && c.GCS.Bucket == "" {
		return c, errors.New("storage config: gcs bucket is empty")
	}
	if c.Filesystem != nil && c.Filesystem.Path == "" {
		return c, errors.New("storage config: filesystem path is empty")
	}
	return c, nil
}

// maxObjectSize is the largest stream an upload of c can hold, or 0 when
// the backend has no part-count limit.
func (c Config) maxObjectSize() int64 {
	if c.S3 == nil && c.Azure == nil {
		return 0
	}
	return c.PartSize * int64(c.MaxParts)
}
