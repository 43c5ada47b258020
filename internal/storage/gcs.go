package storage

import (
	"context"
	"fmt"
	"strings"
	"time"

	gcs "cloud.google.com/go/storage"
	"gocloud.dev/blob/gcsblob"
	"google.golang.org/api/option"
)

// openGCS builds a GCS client from c alone. A Put is one resumable upload
// session: the object exists only once the session is finalised after the
// last byte, so a half-written object is never listed or read. An
// unfinished session holds no object and expires by itself after a week;
// no API lists sessions, so there is nothing for SweepIncomplete to do.
func openGCS(ctx context.Context, c Config) (*blobStore, error) {
	gc := c.GCS
	desc := "gs://" + gc.Bucket
	if c.Prefix != "" {
		desc += "/" + c.Prefix
	}
	var opts []option.ClientOption
	if gc.Endpoint != "" {
		desc += " (endpoint " + gc.Endpoint + ")"
		opts = append(opts, option.WithEndpoint(strings.TrimSuffix(gc.Endpoint, "/")+"/storage/v1/"))
	}
	switch {
	case gc.CredentialsJSON != "":
		opts = append(opts, option.WithAuthCredentialsJSON(option.ServiceAccount, []byte(gc.CredentialsJSON)))
	case gc.Endpoint != "" && gc.Anonymous:
		opts = append(opts, option.WithoutAuthentication())
	}
	// Neither: application default credentials, i.e. GKE workload
	// identity or the node's service account.
	client, err := gcs.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", desc, err)
	}
	bucket, err := gcsblob.OpenBucket(ctx, nil, gc.Bucket, &gcsblob.Options{Client: client})
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("open %s: %w", desc, err)
	}
	return &blobStore{
		bucket:      bucket,
		desc:        desc,
		partSize:    c.PartSize,
		concurrency: c.Concurrency,
		sweepIncomplete: func(context.Context, string, time.Time) ([]string, error) {
			return nil, nil
		},
	}, nil
}
