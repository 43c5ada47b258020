package storage_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/internal/storage"
)

func TestOpenRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	fsys := &storage.FilesystemConfig{Path: dir}
	s3 := &storage.S3Config{Bucket: "b", AccessKeyID: "AKID", SecretAccessKey: "SECRET"}
	for name, tc := range map[string]struct {
		config storage.Config
		want   string
	}{
		"no backend":            {storage.Config{}, "exactly one"},
		"two backends":          {storage.Config{Filesystem: fsys, S3: s3}, "exactly one"},
		"missing directory":     {storage.Config{Filesystem: &storage.FilesystemConfig{Path: filepath.Join(dir, "not-mounted")}}, "no such file"},
		"empty path":            {storage.Config{Filesystem: &storage.FilesystemConfig{}}, "path is empty"},
		"s3 part under 5 MiB":   {storage.Config{S3: s3, PartSize: 4 << 20}, "part size"},
		"s3 without bucket":     {storage.Config{S3: &storage.S3Config{}}, "bucket"},
		"s3 half credentials":   {storage.Config{S3: &storage.S3Config{Bucket: "b", AccessKeyID: "AKID"}}, "both"},
		"too many parts":        {storage.Config{S3: s3, MaxParts: 10001}, "max parts"},
		"prefix escapes":        {storage.Config{Filesystem: fsys, Prefix: "a/../.."}, "prefix"},
		"negative concurrency":  {storage.Config{Filesystem: fsys, Concurrency: -1}, "concurrency"},
		"prefix with backslash": {storage.Config{Filesystem: fsys, Prefix: `a\b`}, "prefix"},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := storage.Open(context.Background(), tc.config)
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open succeeded, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open: %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("Open error %q contains the secret key", err)
			}
		})
	}
}

func TestOpenDescribe(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		config storage.Config
		want   string
	}{
		"filesystem": {storage.Config{Prefix: "/prod/", Filesystem: &storage.FilesystemConfig{Path: dir}}, "file://" + dir + "/prod"},
		"s3 endpoint": {storage.Config{Prefix: "prod", S3: &storage.S3Config{
			Bucket: "backups", Endpoint: "http://127.0.0.1:9000", AccessKeyID: "AKID", SecretAccessKey: "SECRET",
		}}, "s3://backups/prod (endpoint http://127.0.0.1:9000)"},
		"s3 aws no prefix": {storage.Config{S3: &storage.S3Config{Bucket: "backups", Region: "eu-west-1"}}, "s3://backups"},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := storage.Open(context.Background(), tc.config)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer func() { _ = s.Close() }()
			if got := s.Describe(); got != tc.want {
				t.Errorf("Describe() = %q, want %q", got, tc.want)
			}
		})
	}
}

// A writer killed before its cleanup (OOM, node loss) leaves its temp file;
// it must never be listed as an object.
func TestFilesystemHidesStrayFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := storage.Open(context.Background(), storage.Config{Filesystem: &storage.FilesystemConfig{Path: dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	writeFile(t, filepath.Join(dir, "ns/def/b1/main.dump.18b2c4f9a0e1d2c3.tmp"), []byte("half"))
	writeFile(t, filepath.Join(dir, "ns/def/b1/lock.123456.tmp"), []byte("half"))
	writeFile(t, filepath.Join(dir, "ns/def/b1/main.dump.attrs"), []byte("{}"))
	writeFile(t, filepath.Join(dir, "ns/def/b1/manifest.json"), []byte("{}"))
	objs, err := s.List(context.Background(), "ns/")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	if want := []string{"ns/def/b1/manifest.json"}; !slices.Equal(keys, want) {
		t.Errorf("List = %q, want %q", keys, want)
	}
}
