package runner_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/pipeline"
	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestOffsiteChunked: two format 2 backups sharing most chunks are copied
// to a filesystem offsite copy, the shared chunks once; the offsite copy
// verifies (a damaged offsite chunk is found) and restores. The offsite
// retention then deletes the older backup: within the grace period no
// chunk goes, after it exactly the chunks only that backup used go, and
// the remaining backup still restores from the offsite copy.
func TestOffsiteChunked(t *testing.T) {
	pg := testutil.PostgresDB(t)
	testutil.PGExec(t, pg, "CREATE TABLE t AS SELECT i, md5(i::text) AS v FROM generate_series(1, 200000) AS i")
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir, far := t.TempDir(), t.TempDir()
	fx := fixture{pg: pg, identity: id, chunked: true, offsite: fmt.Sprintf("{filesystem: {path: %q}}", far),
		spec: "retention: {manual: 5}"}
	cfg := fx.load(t, dir)
	now := time.Now()
	clock := func() time.Time { return now }
	r := newRunner(t, cfg, runner.Options{Now: func() time.Time { return clock() }})
	first := backup(t, r)
	testutil.PGExec(t, pg, "INSERT INTO t SELECT i, 'new' FROM generate_series(200001, 201000) AS i")
	now = now.Add(time.Second)
	second := backup(t, r)
	want := testutil.PGFingerprint(t, pg)

	cp, err := r.CopyOffsite(ctx, time.Nanosecond)
	if err != nil || len(cp.Copied) != 2 || cp.Copied[1].Reused == 0 || cp.Copied[1].Chunks >= cp.Copied[0].Chunks {
		t.Fatalf("copy: %+v, %v; want both copied, the second reusing most of the first's chunks", cp.Copied, err)
	}
	primaryChunks := chunkFiles(t, dir)
	if got := chunkFiles(t, far); !maps.Equal(got, primaryChunks) {
		t.Fatalf("offsite holds %d chunks, the primary %d", len(got), len(primaryChunks))
	}
	t.Logf("copied %d + %d chunks (%d reused), %d bytes", cp.Copied[0].Chunks, cp.Copied[1].Chunks, cp.Copied[1].Reused, cp.Bytes())

	off := newRunner(t, cfg, runner.Options{From: "offsite"})
	// A damaged offsite chunk is found by verify --from offsite.
	ms, err := off.Catalog().List(ctx)
	if err != nil || len(ms) != 2 {
		t.Fatalf("offsite lists %d backups, %v", len(ms), err)
	}
	ms = wholeManifests(t, off.Catalog(), ms) // a listing holds summaries, without chunk lists
	damaged := filepath.Join(far, "test", "shop", "chunks", ms[1].Targets[0].Chunks[0].Hash+ms[1].Chunking.Suffix)
	flipByte(t, damaged)
	if _, results, err := off.Verify(ctx, second); err != nil || !errors.Is(results[0].Err, pipeline.ErrIntegrity) {
		t.Fatalf("verify --from offsite of a damaged chunk: %+v, %v", results, err)
	}
	// So is it by the scheduled verification of the offsite copy.
	checked, err := off.CheckBackups(ctx, ms)
	if err != nil || len(checked.Problems) == 0 || checked.Problems[0].Storage != "offsite" {
		t.Fatalf("scheduled verification of the offsite copy with a damaged chunk: %+v, %v", checked.Problems, err)
	}
	flipByte(t, damaged)
	if checked, err := off.CheckBackups(ctx, ms); err != nil || len(checked.Problems) != 0 || len(checked.Verified) != 2 {
		t.Fatalf("scheduled verification of the offsite copy: %+v, %v", checked, err)
	}
	restoreFromOffsite(t, off, second, want)

	// Offsite retention keeps one backup: the older one goes, and after
	// the grace period the chunks only it used.
	fx.spec = "retention: {manual: 5, offsite: {manual: 1}}"
	offNow := now
	pruner := newRunner(t, fx.load(t, dir), runner.Options{From: "offsite", Now: func() time.Time { return offNow }})
	rep, err := pruner.Prune(ctx, false, time.Hour, time.Nanosecond)
	if err != nil || len(rep.Plan.Delete) != 1 || rep.Plan.Delete[0].ID != first || len(rep.SweptChunks) != 0 {
		t.Fatalf("offsite prune within the grace: %+v, swept %v, %v", rep.Plan.Delete, rep.SweptChunks, err)
	}
	offNow = now.Add(2 * time.Hour)
	rep, err = pruner.Prune(ctx, false, time.Hour, time.Nanosecond)
	if err != nil {
		t.Fatal(err)
	}
	kept := ms[1]
	var only []string
	for h := range primaryChunks {
		if !referenced(kept, h) {
			only = append(only, h)
		}
	}
	var swept []string
	for _, k := range rep.SweptChunks {
		swept = append(swept, filepath.Base(k))
	}
	slices.Sort(only)
	slices.Sort(swept)
	if len(only) == 0 || !slices.Equal(swept, only) {
		t.Fatalf("offsite sweep removed %v, want the %d chunks only the deleted backup used: %v", swept, len(only), only)
	}
	for h := range chunkFiles(t, far) {
		if !referenced(kept, h) {
			t.Errorf("offsite chunk %s is referenced by no offsite backup and was not swept", h)
		}
	}
	if got := chunkFiles(t, dir); !maps.Equal(got, primaryChunks) {
		t.Fatalf("the offsite retention changed the primary's chunks")
	}
	// The primary is lost: the offsite copy alone restores.
	if err := os.RemoveAll(filepath.Join(dir, "test")); err != nil {
		t.Fatal(err)
	}
	restoreFromOffsite(t, newRunner(t, cfg, runner.Options{From: "offsite"}), second, want)
}

// restoreFromOffsite restores backup id read from the offsite copy into a
// fresh database and compares it with want.
func restoreFromOffsite(t *testing.T, off *runner.Runner, id, want string) {
	t.Helper()
	ctx := context.Background()
	if _, results, err := off.Verify(ctx, id); err != nil || results[0].Err != nil {
		t.Fatalf("verify --from offsite of %s: %+v, %v", id, results, err)
	}
	dst := testutil.PostgresDB(t)
	m, err := off.Restore(ctx, runner.RestoreRequest{BackupID: id, IntoDatabase: dst})
	if err != nil {
		t.Fatalf("restore --from offsite of %s: %v", id, err)
	}
	if m.FormatVersion != manifest.FormatChunked {
		t.Fatalf("restored a format %d backup, want %d", m.FormatVersion, manifest.FormatChunked)
	}
	if testutil.PGFingerprint(t, dst) != want {
		t.Fatalf("%s restored from the offsite copy differs from the database", id)
	}
}
