package kubernetes

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
)

// Well-known resources.
var (
	namespacesResource = Resource{Version: "v1", Name: "namespaces", Kind: "Namespace"}
	crdResource        = Resource{Group: "apiextensions.k8s.io", Version: "v1", Name: "customresourcedefinitions", Kind: "CustomResourceDefinition"}
)

// backup is one run of Backup.
type backup struct {
	l        lister
	spec     *v1alpha1.KubernetesTarget
	f        filter
	order    Order
	selector string
	tw       *tar.Writer
	mtime    time.Time
	idx      Index
	log      *slog.Logger
	// namespaces are the selected namespaces, in name order; allNS says
	// every namespace is included, so namespaced resources are listed
	// across the cluster in one go.
	namespaces []string
	allNS      bool
	// impliedCRDs are the CRDs of included custom resources, backed up
	// whatever the filters say when cluster resources are included.
	impliedCRDs []string
	// claimedVolumes are the volumes of the claims backed up, written
	// whatever the filters say (backup_volumes.go); volumesImpliedOnly:
	// the filters leave persistentvolumes out, so only those are written.
	claimedVolumes     map[string]bool
	volumesImpliedOnly bool
}

// Backup writes the target's resources to w as a tar (docs/format.md).
func (e *Engine) Backup(ctx context.Context, t engine.Target, w io.Writer) (engine.Result, error) {
	b, dc, err := e.newBackup(t, w)
	if err != nil {
		return engine.Result{}, err
	}
	if err := b.run(ctx, dc); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%v)", ctxErr, err)
		}
		return engine.Result{}, fmt.Errorf("backup of target %q: %w", t.Name(), err)
	}
	b.log.Info("kubernetes resources backed up", "target", t.Name(), "resources", len(b.idx.Resources),
		"objects", b.objects(), "skipped", len(b.idx.Skipped))
	return engine.Result{ServerVersion: b.idx.ServerVersion, ToolVersion: toolVersion()}, nil
}

func (e *Engine) newBackup(t engine.Target, w io.Writer) (*backup, discovery.DiscoveryInterface, error) {
	spec := t.Spec.Kubernetes
	if spec == nil {
		return nil, nil, fmt.Errorf("target %q has no kubernetes block", t.Name())
	}
	order, err := ParseOrder(spec.OrderedResources)
	if err != nil {
		return nil, nil, fmt.Errorf("target %q: %w", t.Name(), err)
	}
	selector := ""
	if spec.LabelSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(spec.LabelSelector)
		if err != nil {
			return nil, nil, fmt.Errorf("target %q: labelSelector: %w", t.Name(), err)
		}
		selector = sel.String()
	}
	cfg, err := e.restConfig(t)
	if err != nil {
		return nil, nil, err
	}
	rc, dc, err := clients(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("target %q: %w", t.Name(), err)
	}
	b := &backup{l: lister{rc: rc, pageSize: e.pageSize()}, spec: spec, f: targetFilter(spec), order: order,
		selector: selector, tw: tar.NewWriter(w), mtime: time.Now().Truncate(time.Second), log: e.log(),
		idx: Index{FormatVersion: IndexFormatVersion, Server: server(t), Skipped: []Skipped{}}}
	return b, dc, nil
}

// clients are a raw REST client (JSON, any path) and a discovery client.
func clients(cfg *rest.Config) (rest.Interface, discovery.DiscoveryInterface, error) {
	raw := rest.CopyConfig(cfg)
	raw.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	raw.ContentType, raw.AcceptContentTypes = "application/json", "application/json"
	rc, err := rest.UnversionedRESTClientFor(raw)
	if err != nil {
		return nil, nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	return rc, dc, nil
}

func (b *backup) run(ctx context.Context, dc discovery.DiscoveryInterface) error {
	d, err := discover(dc)
	if err != nil {
		return err
	}
	b.idx.ServerVersion = d.serverVersion
	for _, gv := range sortedKeys(d.failedGroups) {
		b.skip(Skipped{Resource: "group:" + gv, Reason: "discovery failed: " + d.failedGroups[gv]})
	}
	for _, r := range d.readOnly {
		b.skip(Skipped{Resource: r.String(), Reason: "read-only: the API server cannot create it"})
	}
	if err := b.selectNamespaces(ctx); err != nil {
		return err
	}
	plan := b.plan(d.resources)
	if err := b.findClaimedVolumes(ctx, plan); err != nil {
		return err
	}
	plan = b.claimedVolumesPlan(plan, d.resources)
	if err := b.findImpliedCRDs(ctx, plan); err != nil {
		return err
	}
	if err := b.writeImpliedCRDs(ctx); err != nil {
		return err
	}
	for _, r := range plan {
		if err := b.resource(ctx, r); err != nil {
			return err
		}
	}
	if _, err := writeJSON(b.tw, IndexName, b.mtime, b.idx); err != nil {
		return fmt.Errorf("writing the index: %w", err)
	}
	return b.tw.Close()
}

// selectNamespaces resolves the namespace filters. Exact names need no
// listing, which a runner bound in one namespace could not do.
func (b *backup) selectNamespaces(ctx context.Context) error {
	if names, ok := b.f.exactNamespaces(); ok {
		b.namespaces = names
		return nil
	}
	b.allNS = len(b.f.inNS) == 0
	err := b.l.each(ctx, namespacesResource, "", "", true, func(obj object) error {
		if name := str(metadata(obj), "name"); b.f.namespace(name) {
			b.namespaces = append(b.namespaces, name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing namespaces to match %v: %w", b.f.inNS, err)
	}
	return nil
}

// plan picks the resources to back up, in backup order, recording why
// the others are left out.
func (b *backup) plan(all []Resource) []Resource {
	var out []Resource
	for _, r := range all {
		ok, why := b.f.resource(r)
		switch {
		case !ok:
			b.skip(Skipped{Resource: r.String(), Reason: why})
		case !r.Namespaced && r.String() != namespacesResource.String() && !b.spec.IncludeClusterResources:
			b.skip(Skipped{Resource: r.String(), Reason: "cluster-scoped (includeClusterResources is false)"})
		default:
			out = append(out, r)
		}
	}
	return out
}

// findImpliedCRDs: with cluster resources included, the CRD of every
// included custom resource is backed up, whatever the filters say.
func (b *backup) findImpliedCRDs(ctx context.Context, plan []Resource) error {
	if !b.spec.IncludeClusterResources {
		return nil
	}
	wanted := map[string]bool{}
	for _, r := range plan {
		if r.String() == crdResource.String() {
			return nil // every CRD is backed up anyway
		}
		wanted[r.String()] = true
	}
	err := b.l.each(ctx, crdResource, "", "", true, func(obj object) error {
		if name := str(metadata(obj), "name"); wanted[name] {
			b.impliedCRDs = append(b.impliedCRDs, name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing the CRDs of included custom resources: %w", err)
	}
	return nil
}

// writeImpliedCRDs writes the CRDs of included custom resources, first,
// as CRDs always are.
func (b *backup) writeImpliedCRDs(ctx context.Context) error {
	if len(b.impliedCRDs) == 0 {
		return nil
	}
	b.idx.Resources = append(b.idx.Resources, indexResource(crdResource))
	for _, name := range b.impliedCRDs {
		obj, err := b.l.get(ctx, crdResource, "", name)
		if err != nil {
			return fmt.Errorf("reading CRD %s: %w", name, err)
		}
		if obj != nil {
			if err := b.write(crdResource, obj); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *backup) skip(s Skipped) { b.idx.Skipped = append(b.idx.Skipped, s) }

func (b *backup) objects() int {
	n := 0
	for _, r := range b.idx.Resources {
		n += r.Objects
	}
	return n
}

func indexResource(r Resource) IndexResource {
	return IndexResource{Resource: r.String(), APIVersion: r.APIVersion(), Kind: r.Kind, Namespaced: r.Namespaced}
}

// listFailed decides about a resource that cannot be listed. One that
// vanished since discovery (a CRD deleted, an aggregated API gone) is
// recorded as skipped, unless the target names it exactly. Anything else,
// a refusal above all, fails the backup: a backup that silently lacks
// what the runner may not read would be found out at restore.
func (b *backup) listFailed(r Resource, err error) error {
	if !(apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err)) {
		return fmt.Errorf("listing %s: %w", r, err)
	}
	for _, p := range b.spec.IncludedResources {
		if !isGlob(p) && matchResource(p, r) {
			return fmt.Errorf("listing %s: %w", r, err)
		}
	}
	b.skip(Skipped{Resource: r.String(), Reason: "cannot be listed: " + shortReason(err)})
	return nil
}

// shortReason is an API error's reason and message, without a body.
func shortReason(err error) string {
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		return string(st.Status().Reason) + ": " + st.Status().Message
	}
	return err.Error()
}
