package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"gocloud.dev/blob/s3blob"
)

// abortTimeout bounds the AbortMultipartUpload that follows a failed or
// cancelled upload; it runs on a fresh context, since the upload's own may
// be the thing that was cancelled.
const abortTimeout = 30 * time.Second

// openS3 builds its own S3 client from c. With keys, they alone are used:
// a runner writes only where its BackupStorage says, with the keys it was
// given. Without keys, the credentials (and only they) come from the AWS
// SDK's default chain: AWS_* variables, the web identity token file of
// IRSA, the container credentials of EKS Pod Identity or ECS, shared config
// files, instance metadata. Endpoint and region stay the BackupStorage's.
func openS3(ctx context.Context, c Config) (*blobStore, error) {
	sc := c.S3
	desc := "s3://" + sc.Bucket
	if c.Prefix != "" {
		desc += "/" + c.Prefix
	}
	if sc.Endpoint != "" {
		desc += " (endpoint " + sc.Endpoint + ")"
	}
	region := sc.Region
	if region == "" {
		region = "us-east-1"
	}
	var creds aws.CredentialsProvider
	if sc.AccessKeyID != "" {
		creds = credentials.NewStaticCredentialsProvider(sc.AccessKeyID, sc.SecretAccessKey, "")
	} else {
		// Loading resolves no credentials yet: a missing identity shows
		// at the first request, like an unreachable endpoint.
		cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
		if err != nil {
			return nil, fmt.Errorf("open %s: default AWS credentials: %w", desc, err)
		}
		creds = cfg.Credentials
	}
	client := s3.New(s3.Options{
		Region:       region,
		Credentials:  creds,
		UsePathStyle: sc.ForcePathStyle,
		BaseEndpoint: optional(sc.Endpoint),
	})
	// gocloud sends the encryption settings with every write it makes:
	// the single PutObject and the multipart CreateMultipartUpload alike.
	bucket, err := s3blob.OpenBucket(ctx, client, sc.Bucket, &s3blob.Options{
		EncryptionType: s3types.ServerSideEncryption(sc.ServerSideEncryption), KMSEncryptionID: sc.KMSKeyID})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", desc, err)
	}
	tm := transfermanager.New(client, func(o *transfermanager.Options) {
		o.PartSizeBytes = c.PartSize
		o.Concurrency = c.Concurrency
		// The SDK reads its first part into a growing slice of up to
		// MultipartUploadThreshold bytes (16 MiB by default) besides its
		// pool of Concurrency+1 part buffers. Equal to the part size, the
		// first read is just one more part, and memory stays
		// PartSize × (Concurrency+2).
		o.MultipartUploadThreshold = c.PartSize
		o.MaxUploadParts = int64(c.MaxParts)
		// Without it, an upload cancelled through its context would try to
		// abort with that same cancelled context, and leave its parts
		// behind, stored and billed.
		o.FailTimeout = abortTimeout
	})
	return &blobStore{
		bucket:      bucket,
		desc:        desc,
		partSize:    c.PartSize,
		concurrency: c.Concurrency,
		maxSize:     c.maxObjectSize(),
		tooLarge: fmt.Sprintf("%d parts of %d bytes; raise the storage part size",
			c.MaxParts, c.PartSize),
		sweepIncomplete: func(ctx context.Context, prefix string, before time.Time) ([]string, error) {
			full := prefix
			if c.Prefix != "" {
				full = strings.TrimSuffix(c.Prefix, "/") + "/" + prefix
			}
			return abortStaleUploads(ctx, client, sc.Bucket, full, before)
		},
		beforeWrite: func(asFunc func(any) bool) error {
			// gocloud makes a transfer manager per write from BufferSize and
			// MaxConcurrency only; the threshold and the abort timeout above
			// are not reachable through it, so swap in ours. The upload
			// request itself (key, If-None-Match) stays gocloud's.
			var dst *transfermanager.Client
			if !asFunc(&dst) {
				return errors.New("the s3 writer does not expose its transfer manager")
			}
			*dst = *tm
			return nil
		},
	}, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// abortStaleUploads aborts multipart uploads under prefix started before
// the cutoff: a runner killed mid-upload leaves their parts stored (and
// billed) but invisible to listings.
func abortStaleUploads(ctx context.Context, client *s3.Client, bucket, prefix string, before time.Time) ([]string, error) {
	var removed []string
	in := &s3.ListMultipartUploadsInput{Bucket: &bucket, Prefix: &prefix}
	for {
		out, err := client.ListMultipartUploads(ctx, in)
		if err != nil {
			return removed, err
		}
		for _, u := range out.Uploads {
			if u.Initiated == nil || !u.Initiated.Before(before) {
				continue
			}
			if _, err := client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: u.Key, UploadId: u.UploadId}); err != nil {
				return removed, err
			}
			removed = append(removed, aws.ToString(u.Key))
		}
		if !aws.ToBool(out.IsTruncated) {
			return removed, nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}
