package storage

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"gocloud.dev/blob/azureblob"
)

// azureMaxBlocks is Azure's limit on committed blocks per block blob.
const azureMaxBlocks = 50000

// AzureMaxBlockSize is Azure's limit on one staged block (4000 MiB): the
// largest part size an Azure storage takes.
const AzureMaxBlockSize int64 = 4000 << 20

// openAzure builds a container client from c alone. A Put stages blocks
// (Put Block) and commits them with one Put Block List at the end: staged
// blocks are invisible to listings and reads until that commit, so a
// half-written blob never exists. Uncommitted blocks of an upload that
// never commits are discarded by Azure after 7 days; SweepIncomplete
// discards them sooner.
// discardRounds and discardSettle bound how long a failed upload waits for
// its in-flight block requests to land before it discards them.
const (
	discardRounds = 4
	discardSettle = 250 * time.Millisecond
)

func openAzure(_ context.Context, c Config) (*blobStore, error) {
	ac := c.Azure
	svc := ac.Endpoint
	if svc == "" {
		svc = "https://" + ac.Account + ".blob.core.windows.net"
	}
	svc = strings.TrimSuffix(svc, "/")
	desc := "azure://" + ac.Account + "/" + ac.Container
	if c.Prefix != "" {
		desc += "/" + c.Prefix
	}
	if ac.Endpoint != "" {
		desc += " (endpoint " + ac.Endpoint + ")"
	}
	containerURL := svc + "/" + url.PathEscape(ac.Container)
	var (
		client *container.Client
		err    error
	)
	switch {
	case ac.SharedKey != "":
		var cred *container.SharedKeyCredential
		cred, err = container.NewSharedKeyCredential(ac.Account, ac.SharedKey)
		if err == nil {
			client, err = container.NewClientWithSharedKeyCredential(containerURL, cred, nil)
		}
	case ac.SASToken != "":
		client, err = container.NewClientWithNoCredential(containerURL+"?"+strings.TrimPrefix(ac.SASToken, "?"), nil)
	default:
		// Workload identity, managed identity or the environment: the
		// pod's own Azure identity, never a key in a Secret.
		var cred azcore.TokenCredential
		cred, err = azidentity.NewDefaultAzureCredential(nil)
		if err == nil {
			client, err = container.NewClient(containerURL, cred, nil)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", desc, err)
	}
	bucket, err := azureblob.OpenBucket(context.Background(), client, nil)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", desc, err)
	}
	full := func(prefix string) string {
		if c.Prefix == "" {
			return prefix
		}
		return c.Prefix + "/" + prefix
	}
	return &blobStore{
		bucket:      bucket,
		desc:        desc,
		partSize:    c.PartSize,
		concurrency: c.Concurrency,
		maxSize:     c.maxObjectSize(),
		tooLarge: fmt.Sprintf("%d blocks of %d bytes; raise the storage part size",
			c.MaxParts, c.PartSize),
		upload: true,
		afterFailedPut: func(key string) {
			// Azure has no abort: a failed upload's staged blocks stay until
			// they are discarded or expire. Discard them now, on a fresh
			// context, since the upload's own may be what was cancelled.
			// A block request the cancelled upload had already sent may
			// land after the first discard: discard again a few times
			// (the sweeper takes anything later still).
			ctx, cancel := context.WithTimeout(context.Background(), abortTimeout)
			defer cancel()
			for round := range discardRounds {
				if round > 0 {
					time.Sleep(discardSettle)
				}
				if _, err := discardBlocks(ctx, client, full(key)); err != nil {
					return
				}
			}
		},
		sweepIncomplete: func(ctx context.Context, prefix string, before time.Time) ([]string, error) {
			return discardUncommitted(ctx, client, full(prefix), before)
		},
	}, nil
}

// discardUncommitted removes blobs under prefix that hold only uncommitted
// blocks (an upload that never reached Put Block List) and were last
// touched before the cutoff. Azure has no call to drop staged blocks, but
// committing an empty block list discards them: that commit is made only
// if no blob exists (If-None-Match: *), so it can never replace a real
// object, and the empty blob it leaves is deleted only while unchanged.
func discardUncommitted(ctx context.Context, client *container.Client, prefix string, before time.Time) ([]string, error) {
	var removed []string
	pager := client.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{
		Prefix:  &prefix,
		Include: container.ListBlobsInclude{UncommittedBlobs: true},
	})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return removed, err
		}
		for _, item := range page.Segment.BlobItems {
			if item.Name == nil || item.Properties == nil {
				continue
			}
			if lm := item.Properties.LastModified; lm != nil && !lm.Before(before) {
				continue
			}
			discarded, err := discardBlocks(ctx, client, *item.Name)
			if err != nil {
				return removed, err
			}
			if !discarded {
				continue
			}
			removed = append(removed, *item.Name)
		}
	}
	return removed, nil
}

// discardBlocks drops the uncommitted blocks staged under name, if name
// holds no committed blob, and reports whether it did. Blocks staged to
// replace an existing blob cannot be dropped without rewriting that blob;
// they expire with Azure's 7-day garbage collection, or at the next commit
// to the same name.
func discardBlocks(ctx context.Context, client *container.Client, name string) (bool, error) {
	bb := client.NewBlockBlobClient(name)
	etagAny := azcore.ETagAny
	resp, err := bb.CommitBlockList(ctx, nil, &blockblob.CommitBlockListOptions{
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: &etagAny}},
	})
	if bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet) {
		return false, nil // a committed blob: an object, not a leftover
	}
	if err != nil {
		return false, err
	}
	_, err = bb.Delete(ctx, &blob.DeleteOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: resp.ETag}}})
	if err != nil && !bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ConditionNotMet) {
		return true, err
	}
	return true, nil
}
