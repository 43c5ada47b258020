package pushendpoint_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/internal/pushendpoint"
)

type entry struct {
	name     string
	typeflag byte
	body     string
	link     string
}

func archive(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typeflag, Size: int64(len(e.body)), Mode: 0o644, Linkname: e.link}
		if e.typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestExtractTar: an archive of files and directories extracts, the last
// copy of a file winning; anything else, or a name that leaves the
// directory, is refused.
func TestExtractTar(t *testing.T) {
	good := archive(t,
		entry{name: "./", typeflag: tar.TypeDir},
		entry{name: "a/", typeflag: tar.TypeDir},
		entry{name: "a/b/c.sst", typeflag: tar.TypeReg, body: "first"},
		entry{name: "LATEST", typeflag: tar.TypeReg, body: "/a"},
		entry{name: "./a/b/c.sst", typeflag: tar.TypeReg, body: "second"},
	)
	dir := t.TempDir()
	n, err := pushendpoint.ExtractTar(context.Background(), bytes.NewReader(append(good, make([]byte, 10240)...)), dir)
	if err != nil || n != 4 {
		t.Fatalf("ExtractTar: %d entries, %v", n, err)
	}
	for name, want := range map[string]string{"a/b/c.sst": "second", "LATEST": "/a"} {
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	if info, _ := os.Stat(filepath.Join(dir, "a/b/c.sst")); info.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", info.Mode().Perm())
	}

	outside := filepath.Join(t.TempDir(), "outside")
	bad := map[string][]byte{
		"dot dot":  archive(t, entry{name: "../evil", typeflag: tar.TypeReg, body: "x"}),
		"inner ..": archive(t, entry{name: "a/../../evil", typeflag: tar.TypeReg, body: "x"}),
		"absolute": archive(t, entry{name: outside, typeflag: tar.TypeReg, body: "x"}),
		"symlink":  archive(t, entry{name: "link", typeflag: tar.TypeSymlink, link: outside}),
		"hardlink": archive(t, entry{name: "hard", typeflag: tar.TypeLink, link: "LATEST"}),
		"fifo":     archive(t, entry{name: "fifo", typeflag: tar.TypeFifo}),
		"garbage":  []byte(strings.Repeat("not a tar archive ", 100)),
	}
	for name, data := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := pushendpoint.ExtractTar(context.Background(), bytes.NewReader(data), t.TempDir())
			if err == nil {
				t.Fatal("ExtractTar accepted it")
			}
			t.Log(err)
			if _, err := os.Lstat(outside); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("something was written outside: %v", err)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := pushendpoint.ExtractTar(ctx, bytes.NewReader(good), t.TempDir()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error = %v", err)
	}
}
