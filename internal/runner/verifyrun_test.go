package runner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/metrics"
	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// backups are n manifests, oldest first, each one object of 10 bytes.
func backups(n int) []*manifest.Manifest {
	var out []*manifest.Manifest
	for i := range n {
		out = append(out, &manifest.Manifest{ID: fmt.Sprintf("20261121T10%02d00Z-aaaa", i),
			Targets: []manifest.Target{{Name: "main", Size: 10}}})
	}
	return out
}

func TestSelection(t *testing.T) {
	ms := backups(5)
	id := func(i int) string { return ms[i].ID }
	tests := map[string]struct {
		sel        runner.Selection
		want       []int
		wantCursor string
	}{
		"newest 1 by default":        {runner.Selection{}, []int{4}, ""},
		"newest 2":                   {runner.Selection{Newest: 2}, []int{3, 4}, ""},
		"newest more than there are": {runner.Selection{Newest: 9}, []int{0, 1, 2, 3, 4}, ""},
		"budget from the start":      {runner.Selection{Budget: 25}, []int{0, 1}, id(1)},
		"budget after the cursor":    {runner.Selection{Budget: 25, Cursor: id(1)}, []int{2, 3}, id(3)},
		"budget wraps around":        {runner.Selection{Budget: 30, Cursor: id(3)}, []int{4, 0, 1}, id(1)},
		"cursor at the end restarts": {runner.Selection{Budget: 10, Cursor: id(4)}, []int{0}, id(0)},
		"at least one over budget":   {runner.Selection{Budget: 1, Cursor: id(0)}, []int{1}, id(1)},
		"budget never repeats":       {runner.Selection{Budget: 1000}, []int{0, 1, 2, 3, 4}, id(4)},
		"cursor of a deleted backup": {runner.Selection{Budget: 10, Cursor: "20261121T100150Z-zzzz"}, []int{2}, id(2)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, cursor := tc.sel.Select(ms)
			var idx []int
			for _, m := range got {
				idx = append(idx, slices.Index(ms, m))
			}
			if !slices.Equal(idx, tc.want) || cursor != tc.wantCursor {
				t.Errorf("Select = %v, cursor %q; want %v, %q", idx, cursor, tc.want, tc.wantCursor)
			}
		})
	}
}

// TestCheckBackupsFindsBitRotAndMissingObjects: a flipped byte and a
// deleted object are each reported, naming backup and object, and the
// other backups verify.
func TestCheckBackupsFindsBitRotAndMissingObjects(t *testing.T) {
	dir := t.TempDir()
	pg := testutil.PostgresDB(t)
	testutil.PGExec(t, pg, "CREATE TABLE t AS SELECT i FROM generate_series(1, 1000) AS i")
	r := newRunner(t, fixture{pg: pg}.load(t, dir), runner.Options{})
	var ids []string
	for range 3 {
		ids = append(ids, backup(t, r))
		time.Sleep(time.Second) // one id per second
	}
	ctx := context.Background()
	ms, err := r.Catalog().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	flipByte(t, filepath.Join(dir, ms[0].Targets[0].Object))
	if err := os.Remove(filepath.Join(dir, ms[1].Targets[0].Object)); err != nil {
		t.Fatal(err)
	}
	got, err := r.CheckBackups(ctx, ms)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Verified, ids) || len(got.Problems) != 2 {
		t.Fatalf("verified %v, problems %+v", got.Verified, got.Problems)
	}
	for i, want := range []string{metrics.ProblemCorrupt, metrics.ProblemMissing} {
		p := got.Problems[i]
		if p.Problem != want || p.BackupID != ids[i] || p.Object != ms[i].Targets[0].Object || p.Storage != "primary" || p.Error == "" {
			t.Errorf("problem %d: %+v, want %s of %s", i, p, want, ids[i])
		}
	}
}
