package runner_test

import (
	"context"
	"testing"

	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestCompressionLevelNone: a storage at spec.compression.level none stores
// a dump about as large as it is (zstd frames of raw blocks), in format 1
// and 2; the backups verify and restore equal to the database. The same
// dump at the default level is stored in less than half.
func TestCompressionLevelNone(t *testing.T) {
	pg := testutil.PostgresDB(t)
	testutil.PGExec(t, pg, "CREATE TABLE t AS SELECT i, repeat(md5(i::text), 3) AS v FROM generate_series(1, 50000) AS i")
	want := testutil.PGFingerprint(t, pg)
	ctx := context.Background()
	for _, tc := range []struct {
		name, level string
		chunked     bool
		compressed  bool
	}{
		{"format 1, none", "none", false, false},
		{"format 2, none", "none", true, false},
		{"format 1, default level", "", false, true},
		{"format 2, fastest", "fastest", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRunner(t, fixture{pg: pg, chunked: tc.chunked, compression: tc.level}.load(t, t.TempDir()), runner.Options{})
			m, err := r.Backup(ctx, runner.BackupRequest{})
			if err != nil {
				t.Fatal(err)
			}
			tg := m.Targets[0]
			if compressed := tg.Size*2 < tg.PlainSize; compressed != tc.compressed {
				t.Fatalf("stored %d bytes of a %d-byte dump: compressed %v, want %v", tg.Size, tg.PlainSize, compressed, tc.compressed)
			}
			if !tc.compressed && tg.Size < tg.PlainSize {
				t.Fatalf("stored %d bytes of a %d-byte dump at level none: smaller than the dump", tg.Size, tg.PlainSize)
			}
			if _, results, err := r.Verify(ctx, m.ID); err != nil || results[0].Err != nil {
				t.Fatalf("verify: %+v, %v", results, err)
			}
			dst := testutil.PostgresDB(t)
			if _, err := r.Restore(ctx, runner.RestoreRequest{BackupID: m.ID, IntoDatabase: dst}); err != nil {
				t.Fatal(err)
			}
			if testutil.PGFingerprint(t, dst) != want {
				t.Fatal("restored database differs from the source")
			}
		})
	}
}
