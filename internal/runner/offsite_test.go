package runner_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestPrimaryRetentionWaitsForTheOffsiteCopy: retention of the primary
// does not delete a backup the offsite copy lacks and would keep; once it
// is copied, it does. When the offsite copy cannot be listed, the primary
// deletes nothing.
func TestPrimaryRetentionWaitsForTheOffsiteCopy(t *testing.T) {
	pg := testutil.PostgresDB(t)
	testutil.PGExec(t, pg, "CREATE TABLE t AS SELECT 1 AS i")
	far := t.TempDir()
	cfg := fixture{pg: pg, offsite: fmt.Sprintf("{filesystem: {path: %q}}", far),
		spec: "retention: {manual: 1, offsite: {manual: 5}}"}.load(t, t.TempDir())
	r := newRunner(t, cfg, runner.Options{})
	ctx := context.Background()
	first := backup(t, r)
	time.Sleep(time.Second)
	second := backup(t, r)

	rep, err := r.Prune(ctx, false, time.Hour, time.Nanosecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Plan.Delete) != 0 || !kept(rep, first, runner.ReasonNotOffsite) {
		t.Fatalf("prune before the copy: %+v", rep.Plan)
	}

	// The same backups, with an offsite copy that does not answer.
	down := cfg.Storage.DeepCopy()
	down.Spec.Offsite.Filesystem = nil
	down.Spec.Offsite.S3 = &v1alpha1.S3Storage{Bucket: "b", Endpoint: fmt.Sprintf("http://127.0.0.1:%d", testutil.ClosedPort(t)), ForcePathStyle: true}
	cfgDown := *cfg
	cfgDown.Storage = *down
	if rep, err := newRunner(t, &cfgDown, runner.Options{}).Prune(ctx, false, time.Hour, time.Nanosecond); err == nil || len(rep.Plan.Delete) != 0 {
		t.Fatalf("prune with the offsite copy unreachable: %v, %+v", err, rep.Plan)
	}

	cp, err := r.CopyOffsite(ctx, time.Nanosecond)
	if err != nil || len(cp.Copied) != 2 {
		t.Fatalf("copy: %+v, %v", cp, err)
	}
	rep, err = r.Prune(ctx, false, time.Hour, time.Nanosecond)
	if err != nil || len(rep.Plan.Delete) != 1 || rep.Plan.Delete[0].ID != first {
		t.Fatalf("prune after the copy: %+v, %v", rep.Plan, err)
	}
	off := newRunner(t, cfg, runner.Options{From: "offsite"})
	ms, _ := off.Catalog().List(ctx)
	if len(ms) != 2 || ms[0].ID != first || ms[1].ID != second {
		t.Fatalf("offsite holds %d backups, want both (it keeps 5 manual)", len(ms))
	}
}

func kept(rep *runner.PruneReport, id, reason string) bool {
	for _, d := range rep.Plan.Keep {
		if d.ID == id && slices.Contains(d.Reasons, reason) {
			return true
		}
	}
	return false
}
