package runner_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/pipeline"
	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/testutil"
)

func chunkFiles(t *testing.T, dir string) map[string]bool {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "test", "shop", "chunks", "*.zst.age"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, n := range names {
		out[filepath.Base(n)] = true
	}
	return out
}

// TestChunkedFormatLifecycle: one storage holds a format 1 backup and format
// 2 backups; a little change stores few new chunks; each restores; verify
// reads chunks and finds a damaged one in every backup that shares it;
// deleting backups and pruning removes exactly the chunks nobody
// references.
func TestChunkedFormatLifecycle(t *testing.T) {
	dir := t.TempDir()
	pg := testutil.PostgresDB(t)
	testutil.PGExec(t, pg, "CREATE TABLE t AS SELECT i, md5(i::text) AS v FROM generate_series(1, 200000) AS i")
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	v1 := newRunner(t, fixture{pg: pg, identity: id}.load(t, dir), runner.Options{})
	old := backup(t, v1)
	time.Sleep(time.Second)

	now := time.Now()
	clock := func() time.Time { return now }
	r := newRunner(t, fixture{pg: pg, identity: id, chunked: true}.load(t, dir), runner.Options{Now: func() time.Time { return clock() }})
	first := backup(t, r)
	afterFirst := chunkFiles(t, dir)
	testutil.PGExec(t, pg, "INSERT INTO t SELECT i, 'new' FROM generate_series(200001, 201000) AS i")
	now = now.Add(time.Second)
	second := backup(t, r)
	afterSecond := chunkFiles(t, dir)
	added := len(afterSecond) - len(afterFirst)
	if len(afterFirst) < 3 || added < 1 || added*2 > len(afterFirst) {
		t.Fatalf("first backup stored %d chunks, the second %d more: want the second to add few", len(afterFirst), added)
	}

	ms, err := r.Catalog().List(ctx)
	if err != nil || len(ms) != 3 {
		t.Fatalf("listing: %d backups, %v", len(ms), err)
	}
	ms = wholeManifests(t, r.Catalog(), ms) // a listing holds summaries, without chunk lists
	if ms[0].FormatVersion != manifest.FormatVersion || ms[1].FormatVersion != manifest.FormatChunked || len(ms[2].Targets[0].Chunks) == 0 {
		t.Fatalf("formats %d, %d; want 1 then 2 with chunks", ms[0].FormatVersion, ms[1].FormatVersion)
	}
	// NewSize: the first chunked backup uploaded all it stores, the second
	// only its new chunks, a small part of what it references.
	if f, s := ms[1].Targets[0], ms[2].Targets[0]; f.NewSize != f.Size || s.NewSize <= 0 || s.NewSize*2 > s.Size {
		t.Fatalf("newSize/size: first %d/%d, second %d/%d; want all new, then a small part", f.NewSize, f.Size, s.NewSize, s.Size)
	}
	want := testutil.PGFingerprint(t, pg)
	for _, bid := range []string{old, second} {
		dst := testutil.PostgresDB(t)
		if _, err := r.Restore(ctx, runner.RestoreRequest{BackupID: bid, IntoDatabase: dst}); err != nil {
			t.Fatalf("restoring %s: %v", bid, err)
		}
		if bid == second && testutil.PGFingerprint(t, dst) != want {
			t.Fatalf("restored %s differs from the database", bid)
		}
	}

	// Damage a chunk both format 2 backups share.
	var shared string
	for _, c := range ms[1].Targets[0].Chunks {
		if referenced(ms[2], c.Hash+ms[1].Chunking.Suffix) {
			shared = filepath.Join(dir, filepath.FromSlash(ms[1].Chunking.Dir), c.Hash+ms[1].Chunking.Suffix)
		}
	}
	if shared == "" {
		t.Fatal("the two format 2 backups share no chunk")
	}
	flipByte(t, shared)
	_, results, err := r.Verify(ctx, second)
	if err != nil || len(results) != 1 || !errors.Is(results[0].Err, pipeline.ErrIntegrity) {
		t.Fatalf("verify of a damaged chunk: %+v, %v", results, err)
	}
	checked, err := r.CheckBackups(ctx, ms)
	if err != nil || len(checked.Problems) != 2 || len(checked.Verified) != 3 {
		t.Fatalf("check: %d problems (%+v), verified %v, err %v; want the two format 2 backups", len(checked.Problems), checked.Problems, checked.Verified, err)
	}
	flipByte(t, shared) // repaired
	if _, results, err := r.Verify(ctx, second); err != nil || results[0].Err != nil {
		t.Fatalf("verify after repair: %+v, %v", results, err)
	}

	// Delete the first format 2 backup: only its own chunks go, after the grace.
	if err := r.Catalog().DeleteBackup(ctx, first); err != nil {
		t.Fatal(err)
	}
	rep, err := r.Prune(ctx, false, time.Hour, 0)
	if err != nil || len(rep.SweptChunks) != 0 {
		t.Fatalf("prune within the grace swept %v, err %v", rep.SweptChunks, err)
	}
	clock = func() time.Time { return now.Add(2 * time.Hour) }
	rep, err = r.Prune(ctx, false, time.Hour, 0)
	if err != nil {
		t.Fatal(err)
	}
	only := 0
	for h := range afterFirst {
		if !referenced(ms[2], h) {
			only++
		}
	}
	if len(rep.SweptChunks) != only {
		t.Fatalf("swept %d chunks, want the %d only the deleted backup used", len(rep.SweptChunks), only)
	}
	if _, results, err := r.Verify(ctx, second); err != nil || results[0].Err != nil {
		t.Fatalf("the remaining format 2 backup after the sweep: %+v, %v", results, err)
	}
	if _, results, err := r.Verify(ctx, old); err != nil || results[0].Err != nil {
		t.Fatalf("the format 1 backup after the sweep: %+v, %v", results, err)
	}
	if err := r.Catalog().DeleteBackup(ctx, second); err != nil {
		t.Fatal(err)
	}
	if _, err = r.Prune(ctx, false, time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	if left := chunkFiles(t, dir); len(left) != 0 {
		t.Fatalf("%d chunks left after every format 2 backup was deleted", len(left))
	}
	if _, err := os.Stat(filepath.Join(dir, "test", "shop", old, "manifest.json")); err != nil {
		t.Fatalf("the format 1 backup went: %v", err)
	}
}

// wholeManifests reads the listed backups ms in full, with their chunk lists.
func wholeManifests(t *testing.T, cat catalog.Catalog, ms []*manifest.Manifest) []*manifest.Manifest {
	t.Helper()
	out := make([]*manifest.Manifest, len(ms))
	for i, m := range ms {
		full, err := cat.Full(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = full
	}
	return out
}

func referenced(m *manifest.Manifest, file string) bool {
	for _, t := range m.Targets {
		for _, c := range t.Chunks {
			if c.Hash+m.Chunking.Suffix == file {
				return true
			}
		}
	}
	return false
}

// TestChunkedKeyChange: after the dedup key changes, backups named under
// the old key still verify and restore (their chunks checked by size, age,
// zstd and the dump's SHA-256), and the next backup stores its chunks anew.
func TestChunkedKeyChange(t *testing.T) {
	dir := t.TempDir()
	pg := testutil.PostgresDB(t)
	testutil.PGExec(t, pg, "CREATE TABLE t AS SELECT i, md5(i::text) AS v FROM generate_series(1, 50000) AS i")
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	old := newRunner(t, fixture{pg: pg, identity: id, chunked: true}.load(t, dir), runner.Options{})
	first := backup(t, old)
	before := len(chunkFiles(t, dir))
	time.Sleep(time.Second)
	r := newRunner(t, fixture{pg: pg, identity: id, chunked: true, dedupKey: "another-key-of-more-than-thirty-two-bytes"}.load(t, dir), runner.Options{})
	if _, results, err := r.Verify(ctx, first); err != nil || results[0].Err != nil {
		t.Fatalf("verify of a backup named under the old key: %+v, %v", results, err)
	}
	dst := testutil.PostgresDB(t)
	if _, err := r.Restore(ctx, runner.RestoreRequest{BackupID: first, IntoDatabase: dst}); err != nil {
		t.Fatalf("restore of a backup named under the old key: %v", err)
	}
	second := backup(t, r)
	if after := len(chunkFiles(t, dir)); after < 2*before {
		t.Fatalf("a new key reused chunks: %d before, %d after", before, after)
	}
	m, err := r.Catalog().Get(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	m0, err := r.Catalog().Get(ctx, first)
	if err != nil || m.Chunking.KeyID == m0.Chunking.KeyID || len(m.Chunking.KeyID) != 16 {
		t.Fatalf("key ids %q and %q: want two different 16-digit ids (%v)", m0.Chunking.KeyID, m.Chunking.KeyID, err)
	}
	checked, err := r.CheckBackups(ctx, []*manifest.Manifest{m0, m})
	if err != nil || len(checked.Problems) != 0 {
		t.Fatalf("scheduled check across two keys: %+v, %v", checked.Problems, err)
	}
}
