package runner_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"filippo.io/age"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/config"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// volumeConfig is a runner config with a filesystem target "files" on
// src, stored encrypted in MinIO, restore-tested with scratch directories
// under scratch.
func volumeConfig(t *testing.T, m *testutil.MinIO, src, scratch string) *config.Config {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(`apiVersion: coffer.dev/v1alpha1
kind: BackupStorage
metadata: {name: minio}
spec:
  s3: {bucket: %s, prefix: %s, endpoint: %q, region: %s, forcePathStyle: true, credentialsSecretRef: {name: s3}}
  encryption: {recipients: [%s], identitySecretRef: {name: age, key: identity}}
---
apiVersion: coffer.dev/v1alpha1
kind: BackupDefinition
metadata: {name: files, namespace: test}
spec:
  storageRef: {name: minio}
  targets:
  - name: files
    filesystem: {path: %q}
  restoreTest: {schedule: "0 4 * * *", targets: [{name: files, scratchDirectory: %q}]}
---
apiVersion: v1
kind: Secret
metadata: {name: s3}
stringData: {accessKeyID: %q, secretAccessKey: %q}
---
apiVersion: v1
kind: Secret
metadata: {name: age}
stringData: {identity: %q}
`, m.Bucket, strings.ToLower(t.Name()), m.Endpoint, testutil.MinIORegion, id.Recipient(), src, scratch, m.AccessKey, m.SecretKey, id.String())
	path := filepath.Join(t.TempDir(), "coffer.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// volumeTree writes a tree whose counts are known: 5 file names (one a
// hard link, so 4 inodes), 1+2+3+4 = 10 bytes of content plus an empty
// file, 3 directories below the root (one without write permission, so
// removing it needs care), 2 symbolic links (one dangling) and a FIFO.
func volumeTree(t *testing.T) (string, manifest.Contents) {
	t.Helper()
	src := t.TempDir()
	for name, data := range map[string]string{"a": "1", "d1/b": "22", "d1/d2/c": "333", "ro/e": "4444", "empty": ""} {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	must(t, os.Link(filepath.Join(src, "d1/b"), filepath.Join(src, "d1/b-link")))
	must(t, os.Symlink("a", filepath.Join(src, "to-a")))
	must(t, os.Symlink("/nowhere/at/all", filepath.Join(src, "dangling")))
	must(t, syscall.Mkfifo(filepath.Join(src, "fifo"), 0o600))
	must(t, os.Chmod(filepath.Join(src, "ro"), 0o555))
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(src, "ro"), 0o755) })
	return src, manifest.Contents{Files: 6, Directories: 3, Symlinks: 2, Special: 1, Bytes: 10}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// entries lists what a directory holds.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range des {
		out = append(out, d.Name())
	}
	return out
}

// rewriteManifest changes the stored manifest of backup id.
func rewriteManifest(t *testing.T, cat catalog.Catalog, id string, change func(*manifest.Manifest)) {
	t.Helper()
	m, err := cat.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	change(m)
	must(t, cat.Commit(context.Background(), m))
}

// TestVolumeRestoreTest: the backup of a filesystem target records its
// counts; a restore test restores it into a scratch directory under the
// directory the test names, finds the same counts, and removes the
// directory (read-only directories included). A backup whose recorded
// counts the restore does not reproduce fails naming the count; a backup
// recorded before counts existed passes on a complete restore alone.
func TestVolumeRestoreTest(t *testing.T) {
	m := testutil.StartMinIO(t)
	src, want := volumeTree(t)
	scratch := t.TempDir()
	r := newRunner(t, volumeConfig(t, m, src, scratch), runner.Options{})
	ctx := context.Background()
	id := backup(t, r)
	mf, err := r.Catalog().Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := mf.Targets[0].Contents; got == nil || *got != want {
		t.Fatalf("manifest contents %+v, want %+v", got, want)
	}

	saves := 0
	s := &saved{cat: r.Catalog(), before: func(rec catalog.RestoreTest) {
		saves++
		d := rec.Targets[0].Directory
		if filepath.Dir(d) != scratch || !strings.HasPrefix(filepath.Base(d), runner.ScratchPrefix) {
			t.Errorf("scratch directory %q is not a coffer_rt_ directory under %s", d, scratch)
		}
		if _, err := os.Stat(d); saves == 1 && (rec.Targets[0].Created || !os.IsNotExist(err)) {
			t.Errorf("the first record is stored after the scratch directory was made: %+v, %v", rec.Targets[0], err)
		}
	}}
	c := counted(r)
	rec, err := r.RestoreTest(ctx, "20261129T000000Z-vol1", s.save)
	if err != nil || rec.Status != catalog.RestoreTestPassed {
		t.Fatalf("restore test: %v, %+v", err, rec)
	}
	if gets, n := c.reset(); gets != 1 || n != mf.Targets[0].Size {
		t.Errorf("the restore test read %d objects, %d bytes; want the backup's one object once (%d bytes)", gets, n, mf.Targets[0].Size)
	}
	got := rec.Targets[0]
	if len(got.Counts) != 4 || !got.Created || !got.Dropped || got.RestoreSeconds <= 0 {
		t.Fatalf("target record %+v", got)
	}
	for _, c := range got.Counts {
		if c.Backup != c.Restored {
			t.Errorf("count %+v", c)
		}
	}
	if left := entries(t, scratch); len(left) != 0 {
		t.Fatalf("scratch directory not removed: %v", left)
	}
	if saves < 3 {
		t.Fatalf("%d records stored, want one before the directory, one after the target, one at the end", saves)
	}

	// The recorded counts say one file more than the archive holds.
	rewriteManifest(t, r.Catalog(), id, func(m *manifest.Manifest) { m.Targets[0].Contents.Files++ })
	rec, err = r.RestoreTest(ctx, "20261129T000001Z-vol2", s.save)
	if !errors.Is(err, runner.ErrRestoreTest) || rec.Status != catalog.RestoreTestFailed ||
		!strings.Contains(rec.Targets[0].Error, "files: the backup recorded 7, the restore produced 6") {
		t.Fatalf("restore test with a wrong count: %v, %+v", err, rec)
	}
	if left := entries(t, scratch); len(left) != 0 || !rec.Targets[0].Dropped {
		t.Fatalf("scratch directory not removed after a failure: %v", left)
	}

	// A backup written before counts were recorded.
	rewriteManifest(t, r.Catalog(), id, func(m *manifest.Manifest) { m.Targets[0].Contents = nil })
	rec, err = r.RestoreTest(ctx, "20261129T000002Z-vol3", s.save)
	if err != nil || rec.Status != catalog.RestoreTestPassed || len(rec.Targets[0].Counts) != 0 {
		t.Fatalf("restore test of a backup without counts: %v, %+v", err, rec)
	}
}

// TestVolumeRestoreTestOfACorruptBackup: a flipped byte fails the test,
// which reads the backup once (no verify pass first), and the scratch
// directory it was restoring into is removed.
func TestVolumeRestoreTestOfACorruptBackup(t *testing.T) {
	m := testutil.StartMinIO(t)
	src, _ := volumeTree(t)
	scratch := t.TempDir()
	r := newRunner(t, volumeConfig(t, m, src, scratch), runner.Options{})
	ctx := context.Background()
	id := backup(t, r)
	mf, err := r.Catalog().Get(ctx, id)
	must(t, err)
	store := r.Catalog().Store
	rc, err := store.Get(ctx, mf.Targets[0].Object)
	must(t, err)
	data, err := io.ReadAll(rc)
	rc.Close()
	must(t, err)
	data[len(data)/2] ^= 0x01
	must(t, store.Put(ctx, mf.Targets[0].Object, bytes.NewReader(data)))

	s := &saved{cat: r.Catalog()}
	rec, err := r.RestoreTest(ctx, "20261129T000000Z-bad1", s.save)
	if !errors.Is(err, runner.ErrRestoreTest) || rec.Status != catalog.RestoreTestFailed ||
		!strings.Contains(rec.Error, "restoring into scratch directory") || !strings.Contains(rec.Error, mf.Targets[0].Object) {
		t.Fatalf("restore test of a corrupt backup: %v, %+v", err, rec)
	}
	if !rec.Targets[0].Dropped || len(entries(t, scratch)) != 0 {
		t.Fatalf("the scratch directory of a corrupt backup's test is left: %+v, %v", rec.Targets[0], entries(t, scratch))
	}
}

// TestVolumeRestoreTestLeftovers: after a kill, the next run removes the
// scratch directory a record lists and marks the record Failed — and
// leaves alone a coffer_rt_ directory no record lists, and a listed one
// outside the target's scratch directory.
func TestVolumeRestoreTestLeftovers(t *testing.T) {
	m := testutil.StartMinIO(t)
	src, _ := volumeTree(t)
	scratch, elsewhere := t.TempDir(), t.TempDir()
	r := newRunner(t, volumeConfig(t, m, src, scratch), runner.Options{})
	ctx := context.Background()

	mkTree := func(dir string) string {
		must(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, "sub", "f"), []byte("x"), 0o644))
		must(t, os.Chmod(filepath.Join(dir, "sub"), 0o500)) // as a restore may leave it
		t.Cleanup(func() { _ = os.Chmod(filepath.Join(dir, "sub"), 0o755) })
		return dir
	}
	listed := mkTree(filepath.Join(scratch, runner.ScratchName("20261129T000000Z-kill", 0)))
	unlisted := mkTree(filepath.Join(scratch, runner.ScratchName("20261129T000000Z-other", 0)))
	outside := mkTree(filepath.Join(elsewhere, runner.ScratchName("20261129T000000Z-out", 0)))
	recs := []catalog.RestoreTest{
		{ID: "20261129T000000Z-kill", Status: catalog.RestoreTestRunning,
			Targets: []catalog.RestoreTestTarget{{Name: "files", Directory: listed, Created: true}}},
		{ID: "20261129T000000Z-out", Status: catalog.RestoreTestFailed,
			Targets: []catalog.RestoreTestTarget{{Name: "files", Directory: outside, Created: true}}},
	}
	s := &saved{cat: r.Catalog()}
	must(t, r.CleanRestoreTests(ctx, recs, s.save))
	if _, err := os.Stat(listed); !os.IsNotExist(err) {
		t.Errorf("the listed leftover %s is still there: %v", listed, err)
	}
	for _, d := range []string{unlisted, outside} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed, but this runner did not list it where it puts scratch directories: %v", d, err)
		}
	}
	if len(s.records) != 1 || s.records[0].Status != catalog.RestoreTestFailed || !s.records[0].Targets[0].Dropped ||
		s.records[0].Error != runner.ReasonRestoreTestInterrupted {
		t.Fatalf("records after cleanup: %+v", s.records)
	}
}
