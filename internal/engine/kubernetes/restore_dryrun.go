package kubernetes

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
)

var _ engine.DryRunner = (*Engine)(nil)

// notChecked starts the reason of an object a dry run cannot send: what it
// needs is created by the same restore.
const notChecked = "not checked: "

// maxIndexBytes bounds the index a restore test reads.
const maxIndexBytes = 64 << 20

// tally counts, for a restore test, the objects an archive holds per
// resource and their results, and reads the archive's index. A nil tally
// counts nothing.
type tally struct {
	perResource map[string]int
	index       *Index
	out         engine.DryRunResult
}

func (t *tally) item(ent entry, res ItemResult) {
	if t == nil {
		return
	}
	t.perResource[ent.resource]++
	t.out.Read++
	switch {
	case res.Action == ActionFailed:
		t.out.Failed = append(t.out.Failed, res.String())
	case strings.HasPrefix(res.Reason, notChecked):
		t.out.Unchecked++
	default:
		t.out.Accepted++
	}
}

// readIndex decodes the archive's index when name is the index entry.
func (t *tally) readIndex(name string, tr *tar.Reader) error {
	if t == nil || name != IndexName {
		return nil
	}
	var idx Index
	if err := json.NewDecoder(io.LimitReader(tr, maxIndexBytes)).Decode(&idx); err != nil {
		return fmt.Errorf("reading %s: %w", IndexName, err)
	}
	t.index = &idx
	return nil
}

// compare fills the index counts and the per-resource mismatches.
func (t *tally) compare() error {
	if t.index == nil {
		return fmt.Errorf("the archive has no %s: it is incomplete", IndexName)
	}
	want := map[string]int{}
	for _, r := range t.index.Resources {
		want[r.Resource] += r.Objects
		t.out.Indexed += r.Objects
	}
	names := map[string]bool{}
	for r := range want {
		names[r] = true
	}
	for r := range t.perResource {
		names[r] = true
	}
	sorted := make([]string, 0, len(names))
	for r := range names {
		sorted = append(sorted, r)
	}
	sort.Strings(sorted)
	for _, r := range sorted {
		if want[r] != t.perResource[r] {
			t.out.Mismatches = append(t.out.Mismatches, fmt.Sprintf("%s: the index lists %d objects, the archive holds %d", r, want[r], t.perResource[r]))
		}
	}
	return nil
}

// DryRunRestore restores the archive as a server-side dry run over what
// exists (existing objects are applied over, so the server checks them
// too), with no filter and no namespace mapping, and counts every
// object's result against the archive's index. Nothing is stored. The
// error is for a restore that could not run (no server, an unreadable
// archive, no index); refused objects are in the result.
func (e *Engine) DryRunRestore(ctx context.Context, t engine.Target, r io.Reader) (engine.DryRunResult, error) {
	if t.Spec.Kubernetes == nil {
		return engine.DryRunResult{}, fmt.Errorf("target %q has no kubernetes block", t.Name())
	}
	cfg, err := e.restConfig(t)
	if err != nil {
		return engine.DryRunResult{}, err
	}
	rc, _, err := clients(cfg)
	if err != nil {
		return engine.DryRunResult{}, fmt.Errorf("target %q: %w", t.Name(), err)
	}
	ko := v1alpha1.KubernetesRestoreOptions{DryRun: true, ExistingResources: existingUpdate}
	tl := &tally{perResource: map[string]int{}}
	rs := &restorer{rc: rc, l: lister{rc: rc}, opts: ko, f: restoreFilter(&ko), log: e.log(), tally: tl,
		uids: map[string]string{}, namespaces: map[string]nsState{}, volumes: map[string]bool{}, pendingCRDs: map[string]bool{}}
	if err := rs.run(ctx, tar.NewReader(r)); err != nil {
		return tl.out, fmt.Errorf("dry-run restore of target %q: %w", t.Name(), err)
	}
	if err := tl.compare(); err != nil {
		return tl.out, fmt.Errorf("dry-run restore of target %q: %w", t.Name(), err)
	}
	rs.log.Info("kubernetes resources checked by a dry-run restore", "target", t.Name(), "indexed", tl.out.Indexed,
		"read", tl.out.Read, "accepted", tl.out.Accepted, "unchecked", tl.out.Unchecked, "failed", len(tl.out.Failed))
	return tl.out, nil
}
