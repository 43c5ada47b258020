package filesystem_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/filesystem"
)

// TestCountsOfArchiveAndTree: the counts of a backup's archive, taken as
// it streams, equal the counts of the tree it came from and of the tree a
// restore of it makes (hard links, symbolic links, sparse and read-only
// entries included). A truncated archive's count is an error, never a
// wrong number.
func TestCountsOfArchiveAndTree(t *testing.T) {
	src := tempDir(t)
	fillTree(t, src)
	e := filesystem.New()
	var buf bytes.Buffer
	c := e.NewCounter()
	if _, err := e.Backup(context.Background(), fsTarget("files", src), io.MultiWriter(&buf, c)); err != nil {
		t.Fatal(err)
	}
	archive, err := c.Finish()
	if err != nil {
		t.Fatal(err)
	}
	tree, err := filesystem.CountTree(src)
	if err != nil {
		t.Fatal(err)
	}
	if archive != tree || archive.Files < 10 || archive.Symlinks != 4 || archive.Bytes < 16<<20 {
		t.Fatalf("archive counts %+v, tree counts %+v", archive, tree)
	}

	dst := tempDir(t)
	if err := e.Restore(context.Background(), fsTarget("files", src), bytes.NewReader(buf.Bytes()), engine.RestoreOptions{IntoPath: dst}); err != nil {
		t.Fatal(err)
	}
	restored, err := filesystem.CountTree(dst)
	if err != nil {
		t.Fatal(err)
	}
	if restored != tree {
		t.Fatalf("restored counts %+v, tree counts %+v", restored, tree)
	}

	short := e.NewCounter()
	_, _ = short.Write(buf.Bytes()[:buf.Len()/2])
	if n, err := short.Finish(); err == nil || !strings.Contains(err.Error(), "counting the archive's entries") {
		t.Fatalf("counts of a truncated archive: %+v, %v", n, err)
	}
	abandoned := e.NewCounter()
	_, _ = abandoned.Write(buf.Bytes()[:1000])
	abandoned.Abort() // returns: the goroutine ends
}

// BenchmarkCounter is the cost of counting an archive as it streams: 64
// MiB of tar (1024 files of 64 KiB) written in 256 KiB chunks.
func BenchmarkCounter(b *testing.B) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := bytes.Repeat([]byte{7}, 64<<10)
	for i := range 1024 {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("f%04d", i), Mode: 0o644, Size: int64(len(body))}); err != nil {
			b.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			b.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		c := filesystem.NewCounter()
		for off := 0; off < len(data); off += 256 << 10 {
			_, _ = c.Write(data[off:min(off+256<<10, len(data))])
		}
		if n, err := c.Finish(); err != nil || n.Files != 1024 {
			b.Fatal(n, err)
		}
	}
}
