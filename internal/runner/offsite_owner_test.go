package runner_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/offsite"
	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestTwoPrimariesCannotShareAnOffsiteCopy: two primary storages whose
// definitions have the same namespace and name, with one offsite copy.
// The first claims the copy; the second is refused, naming the first, and
// copies nothing. The first's runner restarted (the same primary) still
// copies. Once the owner object is deleted by hand, the second may claim it.
func TestTwoPrimariesCannotShareAnOffsiteCopy(t *testing.T) {
	pg := testutil.PostgresDB(t)
	testutil.PGExec(t, pg, "CREATE TABLE t AS SELECT 1 AS i")
	far := t.TempDir()
	off := fmt.Sprintf("{filesystem: {path: %q}}", far)
	first, second := t.TempDir(), t.TempDir()
	r1 := newRunner(t, fixture{pg: pg, offsite: off}.load(t, first), runner.Options{})
	r2 := newRunner(t, fixture{pg: pg, offsite: off}.load(t, second), runner.Options{})
	ctx := context.Background()
	b1 := backup(t, r1)
	time.Sleep(time.Second)
	backup(t, r2)

	if rep, err := r1.CopyOffsite(ctx, time.Nanosecond); err != nil || len(rep.Copied) != 1 {
		t.Fatalf("first primary's copy: %+v, %v", rep, err)
	}
	rep, err := r2.CopyOffsite(ctx, time.Nanosecond)
	if !errors.Is(err, offsite.ErrForeignOffsite) || !strings.Contains(err.Error(), first) || len(rep.Copied) != 0 {
		t.Fatalf("second primary's copy: %+v, %v", rep, err)
	}
	ms, _ := newRunner(t, fixture{pg: pg, offsite: off}.load(t, first), runner.Options{From: "offsite"}).Catalog().List(ctx)
	if len(ms) != 1 || ms[0].ID != b1 {
		t.Fatalf("offsite holds %d backups, want only %s", len(ms), b1)
	}

	again := newRunner(t, fixture{pg: pg, offsite: off}.load(t, first), runner.Options{})
	if _, err := again.CopyOffsite(ctx, time.Nanosecond); err != nil {
		t.Fatalf("the first primary, opened again: %v", err)
	}

	owner := filepath.Join(far, layout.Definition{Namespace: "test", Name: "shop"}.OffsiteOwnerKey())
	if err := os.Remove(owner); err != nil {
		t.Fatal(err)
	}
	if rep, err := r2.CopyOffsite(ctx, time.Nanosecond); err != nil || len(rep.Copied) != 1 {
		t.Fatalf("second primary after the hand-over: %+v, %v", rep, err)
	}
	if _, err := r1.CopyOffsite(ctx, time.Nanosecond); !errors.Is(err, offsite.ErrForeignOffsite) {
		t.Fatalf("first primary after the hand-over: %v", err)
	}
}
