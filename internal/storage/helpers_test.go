package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/testutil"
)

const mib = 1 << 20

// fixture is one backend, fresh for one test.
type fixture struct {
	// base addresses the backend under a prefix of the test's own.
	base storage.Config
	// leftovers lists what a failed Put of key may have left behind: temp
	// files on a filesystem, incomplete multipart uploads on S3.
	leftovers func(t *testing.T, key string) []string
	// noLeftovers: an upload in progress leaves nothing that can be listed
	// (GCS: a resumable session is not an object and no API lists them).
	noLeftovers bool
	// partLimited: the backend enforces Config.MaxParts.
	partLimited bool
	// tamper rewrites the stored bytes of key behind the store's back, as
	// bit rot or a careless hand would.
	tamper func(t *testing.T, key string, edit func([]byte) []byte)
}

// open opens f's store, after tune adjusts the config.
func (f fixture) open(t *testing.T, tune func(*storage.Config)) storage.Store {
	t.Helper()
	c := f.base
	if tune != nil {
		tune(&c)
	}
	s, err := storage.Open(context.Background(), c)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// backends set up a backend once per test run and return a fixture maker.
var backends = map[string]func(t *testing.T) func(t *testing.T) fixture{
	"azure": azureBackend,
	"gcs":   gcsBackend,
	"filesystem": func(*testing.T) func(t *testing.T) fixture {
		return func(t *testing.T) fixture {
			dir := t.TempDir()
			return fixture{
				base: storage.Config{Prefix: "backups", Filesystem: &storage.FilesystemConfig{Path: dir}},
				leftovers: func(t *testing.T, _ string) []string {
					return strayFiles(t, dir)
				},
				tamper: func(t *testing.T, key string, edit func([]byte) []byte) {
					path := filepath.Join(dir, "backups", filepath.FromSlash(key))
					data, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					writeFile(t, path, edit(data))
				},
			}
		}
	},
	"s3": func(t *testing.T) func(t *testing.T) fixture {
		m := testutil.StartMinIO(t)
		client := m.Client()
		return func(t *testing.T) fixture {
			prefix := "t/" + t.Name()
			return fixture{
				base: m.StorageConfig(prefix),
				leftovers: func(t *testing.T, key string) []string {
					// MinIO lists uploads only for an exact object name.
					out, err := client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{
						Bucket: aws.String(m.Bucket),
						Prefix: aws.String(prefix + "/" + key),
					})
					if err != nil {
						t.Fatalf("ListMultipartUploads: %v", err)
					}
					var ids []string
					for _, u := range out.Uploads {
						ids = append(ids, aws.ToString(u.Key)+" upload "+aws.ToString(u.UploadId))
					}
					return ids
				},
				partLimited: true,
				tamper: func(t *testing.T, key string, edit func([]byte) []byte) {
					ctx := context.Background()
					full := aws.String(prefix + "/" + key)
					out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(m.Bucket), Key: full})
					if err != nil {
						t.Fatal(err)
					}
					data, err := io.ReadAll(out.Body)
					_ = out.Body.Close()
					if err != nil {
						t.Fatal(err)
					}
					if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(m.Bucket), Key: full, Body: bytes.NewReader(edit(data))}); err != nil {
						t.Fatal(err)
					}
				},
			}
		}
	},
}

// azureBackend: a real Azurite; leftovers are blocks staged but never
// committed under the key.
func azureBackend(t *testing.T) func(t *testing.T) fixture {
	a := testutil.StartAzurite(t)
	client, err := a.Client()
	if err != nil {
		t.Fatal(err)
	}
	return func(t *testing.T) fixture {
		prefix := "t/" + t.Name()
		return fixture{
			base: a.StorageConfig(prefix),
			leftovers: func(t *testing.T, key string) []string {
				bl, err := client.NewBlockBlobClient(prefix+"/"+key).GetBlockList(context.Background(), blockblob.BlockListTypeUncommitted, nil)
				if bloberror.HasCode(err, bloberror.BlobNotFound) {
					return nil
				}
				if err != nil {
					t.Fatalf("GetBlockList: %v", err)
				}
				var ids []string
				for _, b := range bl.UncommittedBlocks {
					ids = append(ids, key+" block "+aws.ToString(b.Name))
				}
				return ids
			},
			partLimited: true,
			tamper: func(t *testing.T, key string, edit func([]byte) []byte) {
				ctx := context.Background()
				bb := client.NewBlockBlobClient(prefix + "/" + key)
				out, err := bb.DownloadStream(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				data, err := io.ReadAll(out.Body)
				_ = out.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := bb.UploadBuffer(ctx, edit(data), nil); err != nil {
					t.Fatal(err)
				}
			},
		}
	}
}

// gcsBackend: a real fake-gcs-server. A resumable upload session is
// invisible to every API, so there are no leftovers to find.
func gcsBackend(t *testing.T) func(t *testing.T) fixture {
	g := testutil.StartFakeGCS(t)
	client, err := g.Client(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return func(t *testing.T) fixture {
		prefix := "t/" + t.Name()
		return fixture{
			base:        g.StorageConfig(prefix),
			leftovers:   func(*testing.T, string) []string { return nil },
			noLeftovers: true,
			tamper: func(t *testing.T, key string, edit func([]byte) []byte) {
				ctx := context.Background()
				obj := client.Bucket(g.Bucket).Object(prefix + "/" + key)
				r, err := obj.NewReader(ctx)
				if err != nil {
					t.Fatal(err)
				}
				data, err := io.ReadAll(r)
				_ = r.Close()
				if err != nil {
					t.Fatal(err)
				}
				w := obj.NewWriter(ctx)
				if _, err := w.Write(edit(data)); err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
			},
		}
	}
}

var strayName = regexp.MustCompile(`\.tmp$|\.attrs$`)

// strayFiles lists temp and sidecar files anywhere under dir.
func strayFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strayName.MatchString(d.Name()) {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return out
}

// randomStream yields n pseudo-random bytes without holding them, so large
// streams cost no memory of their own.
type randomStream struct {
	rng *rand.ChaCha8
	n   int64
}

func newRandomStream(seed byte, n int64) *randomStream {
	return &randomStream{rng: rand.NewChaCha8([32]byte{seed}), n: n}
}

func (r *randomStream) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	n, _ := r.rng.Read(p)
	r.n -= int64(n)
	return n, nil
}

// digest is the sha256 and length of a stream.
type digest struct {
	sum [32]byte
	n   int64
}

func digestOf(t *testing.T, r io.Reader) digest {
	t.Helper()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var d digest
	copy(d.sum[:], h.Sum(nil))
	d.n = n
	return d
}

// failAfter yields n bytes of src, then calls then and returns its error
// (or keeps streaming if it returns nil).
type failAfter struct {
	src  io.Reader
	n    int64
	then func() error
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		if err := f.then(); err != nil {
			return 0, err
		}
		return f.src.Read(p)
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.src.Read(p)
	f.n -= int64(n)
	return n, err
}

// getAll reads key back.
func getAll(t *testing.T, s storage.Store, key string) digest {
	t.Helper()
	r, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	defer func() { _ = r.Close() }()
	return digestOf(t, r)
}

// assertAbsent checks that key is neither listed nor readable, and that
// nothing of a failed Put remains.
func assertAbsent(t *testing.T, f fixture, s storage.Store, key string) {
	t.Helper()
	objs, err := s.List(context.Background(), "")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, o := range objs {
		if o.Key == key {
			t.Errorf("List shows %s (%d bytes) after a failed Put", key, o.Size)
		}
	}
	if _, err := s.Get(context.Background(), key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get %s: got %v, want ErrNotFound", key, err)
	}
	if left := f.leftovers(t, key); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
