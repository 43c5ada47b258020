//go:build linux

package filesystem_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/enginetest"
	"github.com/coffer-dev/coffer/internal/engine/filesystem"
)

func TestConformance(t *testing.T) {
	enginetest.Run(t, harness{})
}

func backup(t *testing.T, e *filesystem.Engine, target engine.Target) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := e.Backup(context.Background(), target, &buf); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	return buf.Bytes()
}

// names lists the entry names of an archive.
func names(t *testing.T, archive []byte) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		must(t, err)
		out = append(out, hdr.Name)
	}
}

func TestExcludes(t *testing.T) {
	dir := tempDir(t)
	for _, p := range []string{"keep", "x.tmp", "a/x.tmp", "a/keep", "cache/big", "a/cache/kept-file-named-cache-dir", "logs/l", "sub/logs", "sub/deep/node_modules/m"} {
		must(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, p), nil, 0o644))
	}
	target := fsTarget("fs-excl", dir, "*.tmp", "/cache", "logs/", "node_modules")
	got := names(t, backup(t, filesystem.New(), target))
	want := []string{"./", "a/", "a/cache/", "a/cache/kept-file-named-cache-dir", "a/keep", "keep", "sub/", "sub/deep/", "sub/logs"}
	if !slices.Equal(got, want) {
		t.Errorf("archive holds %q,\nwant %q", got, want)
	}
}

// TestMaliciousArchive: no entry of a hostile archive lands outside the
// destination, whatever trick it uses.
func TestMaliciousArchive(t *testing.T) {
	type entry struct {
		name, link string
		typ        byte
	}
	tests := map[string][]entry{
		"dot dot":               {{name: "../evil", typ: tar.TypeReg}},
		"dot dot inside":        {{name: "a/../../evil", typ: tar.TypeReg}},
		"absolute":              {{name: "/OUTSIDE/evil", typ: tar.TypeReg}},
		"through symlink":       {{name: "lnk", link: "/OUTSIDE", typ: tar.TypeSymlink}, {name: "lnk/evil", typ: tar.TypeReg}},
		"through relative link": {{name: "lnk", link: "../outside", typ: tar.TypeSymlink}, {name: "lnk/evil", typ: tar.TypeReg}},
		"symlink dir then dir":  {{name: "lnk", link: "/OUTSIDE", typ: tar.TypeSymlink}, {name: "lnk/", typ: tar.TypeDir}, {name: "lnk/evil", typ: tar.TypeReg}},
		"hard link outside":     {{name: "h", link: "../outside/victim", typ: tar.TypeLink}},
		"hard link absolute":    {{name: "h", link: "/OUTSIDE/victim", typ: tar.TypeLink}},
		"hard link via symlink": {{name: "lnk", link: "/OUTSIDE", typ: tar.TypeSymlink}, {name: "h", link: "lnk/victim", typ: tar.TypeLink}},
	}
	for name, entries := range tests {
		t.Run(name, func(t *testing.T) {
			base := tempDir(t)
			outside := filepath.Join(base, "outside")
			must(t, os.Mkdir(outside, 0o755))
			must(t, os.WriteFile(filepath.Join(outside, "victim"), []byte("precious"), 0o644))
			dest := filepath.Join(base, "dest")
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, e := range entries {
				hdr := &tar.Header{Name: strings.ReplaceAll(e.name, "/OUTSIDE", outside), Typeflag: e.typ, Mode: 0o644,
					Linkname: strings.ReplaceAll(e.link, "/OUTSIDE", outside)}
				if e.typ == tar.TypeReg {
					hdr.Size = 4
				}
				must(t, tw.WriteHeader(hdr))
				if e.typ == tar.TypeReg {
					_, _ = tw.Write([]byte("evil"))
				}
			}
			must(t, tw.Close())
			err := filesystem.New().Restore(context.Background(), fsTarget("fs-evil", "/nonexistent"), &buf,
				engine.RestoreOptions{IntoPath: dest})
			if err == nil {
				t.Fatal("Restore of a hostile archive succeeded")
			}
			t.Logf("refused: %v", err)
			left, _ := os.ReadDir(outside)
			if len(left) != 1 {
				t.Errorf("outside directory now holds %v", left)
			}
			if b, _ := os.ReadFile(filepath.Join(outside, "victim")); string(b) != "precious" {
				t.Errorf("victim now holds %q", b)
			}
			if _, err := os.Stat(filepath.Join(base, "evil")); err == nil {
				t.Error("evil written next to the destination")
			}
		})
	}
}

// logBuffer collects what the engine logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// hookWriter runs hook once, on the first write.
type hookWriter struct {
	once sync.Once
	hook func()
	n    int
}

func (w *hookWriter) Write(p []byte) (int, error) {
	w.once.Do(w.hook)
	w.n += len(p)
	return len(p), nil
}

// TestChangesWhileReading: a file that grows while it is read is kept and
// reported, one that vanishes is left out and reported; the backup succeeds.
// The reader runs at most a few hundred entries ahead of the writer, so the
// file to vanish comes after more than that.
func TestChangesWhileReading(t *testing.T) {
	dir := tempDir(t)
	must(t, os.WriteFile(filepath.Join(dir, "a_growing"), make([]byte, 8<<20), 0o644))
	for i := range 600 {
		must(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("m%03d", i)), []byte("filler"), 0o644))
	}
	must(t, os.WriteFile(filepath.Join(dir, "z_vanishing"), []byte("soon gone"), 0o644))
	logs := &logBuffer{}
	e := &filesystem.Engine{Log: slog.New(slog.NewTextHandler(logs, nil))}
	w := &hookWriter{hook: func() {
		f, err := os.OpenFile(filepath.Join(dir, "a_growing"), os.O_APPEND|os.O_WRONLY, 0)
		must(t, err)
		_, _ = f.Write([]byte("more"))
		must(t, f.Close())
		must(t, os.Remove(filepath.Join(dir, "z_vanishing")))
	}}
	if _, err := e.Backup(context.Background(), fsTarget("fs-live", dir), w); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	out := logs.String()
	for _, want := range []string{"file changed while it was read", "entry=a_growing", "entry vanished", "entry=z_vanishing", `target=fs-live`} {
		if !strings.Contains(out, want) {
			t.Errorf("log does not mention %q:\n%s", want, out)
		}
	}
}

func TestSocketSkipped(t *testing.T) {
	dir := tempDir(t)
	l, err := net.Listen("unix", filepath.Join(dir, "sock"))
	if err != nil {
		t.Skip(err)
	}
	defer l.Close()
	logs := &logBuffer{}
	e := &filesystem.Engine{Log: slog.New(slog.NewTextHandler(logs, nil))}
	if got := names(t, backup(t, e, fsTarget("fs-sock", dir))); !slices.Equal(got, []string{"./"}) {
		t.Errorf("archive holds %q", got)
	}
	if !strings.Contains(logs.String(), "socket skipped") {
		t.Errorf("no warning about the socket: %s", logs)
	}
}

func TestMissingPath(t *testing.T) {
	_, err := filesystem.New().Backup(context.Background(), fsTarget("fs-gone", "/nonexistent/coffer"), io.Discard)
	if err == nil || !strings.Contains(err.Error(), `"fs-gone"`) || !strings.Contains(err.Error(), "/nonexistent/coffer") {
		t.Fatalf("Backup of a missing path: error = %v", err)
	}
}

// TestGNUTarReadsIt keeps the promise that a backup restores without
// Coffer: GNU tar extracts the same tree, silently, except that it writes
// the holes of sparse files as zeros.
func TestGNUTarReadsIt(t *testing.T) {
	gnutar, err := exec.LookPath("tar")
	if err != nil {
		t.Skip(err)
	}
	target := harness{}.NewTarget(t)
	archive := backup(t, filesystem.New(), target)
	dest := tempDir(t)
	cmd := exec.Command(gnutar, "--extract", "--preserve-permissions", "--numeric-owner", "--xattrs",
		"--xattrs-include=*", "--file=-", "--directory="+dest)
	cmd.Stdin = bytes.NewReader(archive)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tar: %v\n%s", err, stderr.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		// The fixture's times are odd on purpose: tar says so.
		if line != "" && !strings.Contains(line, "time stamp") {
			t.Errorf("tar complained: %s", line)
		}
	}
	want := fingerprint(t, target.Spec.Filesystem.Path, false)
	if got := fingerprint(t, dest, false); got != want {
		t.Errorf("GNU tar extracted another tree:\n--- want\n%s\n--- got\n%s", want, got)
	}
}

// TestSparseStaysSparse: holes are neither read nor restored as data.
func TestSparseStaysSparse(t *testing.T) {
	target := harness{}.NewTarget(t)
	archive := backup(t, filesystem.New(), target)
	dest := tempDir(t)
	must(t, filesystem.New().Restore(context.Background(), target, bytes.NewReader(archive), engine.RestoreOptions{IntoPath: dest}))
	var src, got syscallStat
	src.of(t, filepath.Join(target.Spec.Filesystem.Path, "sparse.img"))
	got.of(t, filepath.Join(dest, "sparse.img"))
	if got.size != 16<<20 || got.blocks*512 > 1<<20 {
		t.Errorf("restored sparse file: size %d, %d bytes allocated (source %d allocated)", got.size, got.blocks*512, src.blocks*512)
	}
}
