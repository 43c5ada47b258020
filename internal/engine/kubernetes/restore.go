package kubernetes

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
)

// Existing-object policies.
const (
	existingSkip   = "skip"
	existingUpdate = "update"
)

// restorer is one run of Restore.
type restorer struct {
	rc   rest.Interface
	l    lister
	opts v1alpha1.KubernetesRestoreOptions
	f    filter
	log  *slog.Logger
	// uids maps an object's uid in the backup to its uid now, for every
	// object restored or found existing: owner references follow it.
	uids map[string]string
	// namespaces are the destination namespaces known to exist (or, in a
	// dry run, to be created); volumes the PersistentVolumes restored.
	namespaces map[string]nsState
	volumes    map[string]bool
	// pendingCRDs are CRDs a dry run would create: their objects cannot be
	// checked against the server.
	pendingCRDs map[string]bool
	report      Report
	// tally, when set (restore tests), also counts the archive's objects
	// and reads its index.
	tally *tally
}

type nsState int

const (
	nsUnknown nsState = iota
	nsExists
	nsWouldCreate
)

// Restore reads a tar written by Backup and creates its objects, in the
// tar's order, one at a time. Objects that fail do not stop the others: a
// restore with failures returns a *PartialError, which wraps
// engine.ErrPartiallyFailed and lists them.
func (e *Engine) Restore(ctx context.Context, t engine.Target, r io.Reader, opts engine.RestoreOptions) error {
	if t.Spec.Kubernetes == nil {
		return fmt.Errorf("target %q has no kubernetes block", t.Name())
	}
	ko, err := restoreOptions(opts.Kubernetes)
	if err != nil {
		return fmt.Errorf("restore of target %q: %w", t.Name(), err)
	}
	cfg, err := e.restConfig(t)
	if err != nil {
		return err
	}
	rc, _, err := clients(cfg)
	if err != nil {
		return fmt.Errorf("target %q: %w", t.Name(), err)
	}
	rs := &restorer{rc: rc, l: lister{rc: rc}, opts: ko, f: restoreFilter(&ko), log: e.log(),
		uids: map[string]string{}, namespaces: map[string]nsState{}, volumes: map[string]bool{}, pendingCRDs: map[string]bool{}}
	if err := rs.run(ctx, tar.NewReader(r)); err != nil {
		return fmt.Errorf("restore of target %q: %w", t.Name(), err)
	}
	rs.log.Info("kubernetes resources restored", "target", t.Name(), "dryRun", ko.DryRun, "created", rs.report.Created,
		"updated", rs.report.Updated, "unchanged", rs.report.Unchanged, "skipped", rs.report.Skipped, "failed", len(rs.report.Failures))
	if len(rs.report.Failures) > 0 {
		return fmt.Errorf("restore of target %q: %w", t.Name(), &PartialError{Target: t.Name(), Report: rs.report})
	}
	return nil
}

// restoreOptions checks and defaults the request's options.
func restoreOptions(o *v1alpha1.KubernetesRestoreOptions) (v1alpha1.KubernetesRestoreOptions, error) {
	var ko v1alpha1.KubernetesRestoreOptions
	if o != nil {
		ko = *o
	}
	switch ko.ExistingResources {
	case "":
		ko.ExistingResources = existingSkip
	case existingSkip, existingUpdate:
	default:
		return ko, fmt.Errorf("existingResources %q: want skip or update", ko.ExistingResources)
	}
	for _, from := range sortedKeys(ko.NamespaceMapping) {
		to := ko.NamespaceMapping[from]
		for _, ns := range []string{from, to} {
			if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
				return ko, fmt.Errorf("namespaceMapping %s=%s: %q is not a namespace name", from, to, ns)
			}
		}
	}
	return ko, nil
}

func (rs *restorer) run(ctx context.Context, tr *tar.Reader) error {
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the backup: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		ent, ok, err := parseEntryPath(hdr.Name)
		if err != nil {
			return err
		}
		if !ok {
			if err := rs.tally.readIndex(hdr.Name, tr); err != nil {
				return err
			}
			continue
		}
		dec := json.NewDecoder(io.LimitReader(tr, maxObjectBytes))
		dec.UseNumber()
		var obj object
		if err := dec.Decode(&obj); err != nil {
			return fmt.Errorf("reading %s: %w", hdr.Name, err)
		}
		if err := rs.item(ctx, ent, obj); err != nil {
			return err
		}
	}
}

// item restores one object and records its result. Only a canceled
// context ends the restore: everything else is the object's failure.
func (rs *restorer) item(ctx context.Context, ent entry, obj object) error {
	res, ok := rs.selected(ent)
	if !ok {
		return nil
	}
	res.Action, res.Reason = rs.apply(ctx, ent, obj, &res)
	if res.Action == ActionFailed && ctx.Err() != nil {
		return ctx.Err()
	}
	rs.report.add(res)
	rs.tally.item(ent, res)
	level := slog.LevelInfo
	if res.Action == ActionFailed {
		level = slog.LevelWarn
	}
	rs.log.Log(ctx, level, "object "+string(res.Action), "resource", res.Resource, "namespace", res.Namespace,
		"name", res.Name, "reason", res.Reason, "dryRun", rs.opts.DryRun)
	return nil
}

// selected applies the request's filters and the namespace mapping.
func (rs *restorer) selected(ent entry) (ItemResult, bool) {
	name, group := ent.split()
	r := Resource{Group: group, Name: name, Namespaced: ent.namespaced}
	if ok, _ := rs.f.resource(r); !ok {
		return ItemResult{}, false
	}
	res := ItemResult{Resource: ent.resource, Name: ent.name}
	switch {
	case ent.namespaced:
		if !rs.f.namespace(ent.namespace) {
			return ItemResult{}, false
		}
		res.Namespace = rs.mapNS(ent.namespace)
	case ent.resource == namespacesResource.String():
		if !rs.f.namespace(ent.name) {
			return ItemResult{}, false
		}
		res.Name = rs.mapNS(ent.name)
	}
	return res, true
}

func (rs *restorer) mapNS(ns string) string {
	if to, ok := rs.opts.NamespaceMapping[ns]; ok {
		return to
	}
	return ns
}
