package daemon

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/runnerapi"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestRestoreRecordsSurviveRestart, on real PostgreSQL and real storage: a
// Running record left by an earlier process is Failed, with the reason, as
// soon as a daemon holds the lease; old records are pruned to the newest
// keepRestores; a restore's record is Completed in storage, and a daemon
// started after it answers for it.
func TestRestoreRecordsSurviveRestart(t *testing.T) {
	for name, backend := range map[string]func(*testing.T) testStorage{"filesystem": filesystemStorage, "minio": minioStorage} {
		t.Run(name, func(t *testing.T) {
			st := backend(t)
			db := testutil.PostgresDB(t)
			testutil.PGExec(t, db, "CREATE TABLE t AS SELECT i FROM generate_series(1, 1000) AS i")
			cfg := loadConfigOn(t, st.spec, st.docs, db, true)
			crashed := seedRestoreRecords(t, st.cat, keepRestores+5)

			a := startDaemon(t, cfg, Options{})
			var got runnerapi.Restore
			if code := a.call(t, "GET", "/v1/restores/"+crashed.ID, nil, &got); code != http.StatusOK ||
				got.Status != phase.Failed || got.Error != ReasonRestarted || got.EndTime.IsZero() {
				t.Fatalf("restore left Running by an earlier process: %d %+v", code, got)
			}
			if recs, err := st.cat.ListRestores(context.Background()); err != nil || len(recs) != keepRestores {
				t.Fatalf("%d restore records kept (%v), want %d", len(recs), err, keepRestores)
			}

			a.backup(t)
			started, dst := a.startRestore(t)
			done := a.restore(t, started.ID)
			if done.Status != phase.Completed {
				t.Fatalf("restore %+v", done)
			}
			if rec, err := st.cat.GetRestore(context.Background(), started.ID); err != nil || rec.Status != phase.Completed {
				t.Fatalf("stored record %+v, %v", rec, err)
			}
			if testutil.PGFingerprint(t, dst) != testutil.PGFingerprint(t, db) {
				t.Fatal("restored database differs")
			}
			a.cancel()
			if err := a.wait(t); err != nil {
				t.Fatal(err)
			}

			b := startDaemon(t, cfg, Options{})
			var again runnerapi.Restore
			if code := b.call(t, "GET", "/v1/restores/"+started.ID, nil, &again); code != http.StatusOK || !reflect.DeepEqual(again, done) {
				t.Fatalf("after a restart: %d %+v, want %+v", code, again, done)
			}
			if code := b.call(t, "GET", "/v1/restores/20261121T103000Z-none", nil, nil); code != http.StatusNotFound {
				t.Errorf("unknown restore: %d, want 404", code)
			}
		})
	}
}

// seedRestoreRecords writes n finished records and, newest, one Running
// record of a process that is gone.
func seedRestoreRecords(t *testing.T, cat catalog.Catalog, n int) catalog.Restore {
	t.Helper()
	ctx := context.Background()
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	for i := range n {
		start := t0.Add(time.Duration(i) * time.Second)
		r := catalog.Restore{ID: fmt.Sprintf("%s-%04d", start.Format("20060102T150405Z"), i), BackupID: "20261121T090000Z-bbbb",
			Status: phase.Completed, StartTime: start, EndTime: start}
		if err := cat.PutRestore(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	crashed := catalog.Restore{ID: layout.NewID(t0.Add(time.Duration(n) * time.Second)), BackupID: "20261121T090000Z-bbbb",
		Status: phase.Running, StartTime: t0.Add(time.Duration(n) * time.Second)}
	if err := cat.PutRestore(ctx, crashed); err != nil {
		t.Fatal(err)
	}
	return crashed
}

// TestGracefulStop: after Stop the daemon takes no new work but lets the
// restore in flight finish and records it Completed; with no drain time
// left the restore is aborted and recorded Failed with the reason. Either
// way Run returns once the restore has ended.
func TestGracefulStop(t *testing.T) {
	db := testutil.PostgresDB(t)
	testutil.PGExec(t, db, "CREATE TABLE big AS SELECT i, repeat(md5(i::text), 10) AS body FROM generate_series(1, 200000) AS i")
	st := filesystemStorage(t)
	cfg := loadConfigOn(t, st.spec, "", db, true)

	cases := map[string]struct {
		drain   time.Duration
		status  phase.Phase
		errPart string
	}{
		"finishes within the drain timeout": {drain: 2 * time.Minute, status: phase.Completed},
		"drain timeout passes":              {drain: 0, status: phase.Failed, errPart: "drain timeout"},
	}
	first := true
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := startDaemon(t, cfg, Options{DrainTimeout: tc.drain})
			if first {
				d.backup(t)
				first = false
			}
			rs, _ := d.startRestore(t)
			close(d.stop)
			if tc.drain > 0 {
				testutil.Eventually(t, 60*time.Second, "new work refused because the runner stops", func() bool {
					var e apiError
					return d.call(t, "POST", "/v1/backups", nil, &e) == http.StatusConflict && strings.Contains(e.Error, "stopping")
				})
			}
			if err := d.wait(t); err != nil {
				t.Fatal(err)
			}
			rec, err := st.cat.GetRestore(context.Background(), rs.ID)
			if err != nil || rec.Status != tc.status || !strings.Contains(rec.Error, tc.errPart) {
				t.Fatalf("restore after stop: %+v, %v; want %s (%q)", rec, err, tc.status, tc.errPart)
			}
		})
	}
}
