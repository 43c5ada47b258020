package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/coverage"
)

// Event reasons on a PersistentVolumeClaim whose coverage changes.
const (
	ReasonUnprotected = "Unprotected"
	ReasonStale       = "Stale"
	ReasonProtected   = "Protected"
	ReasonExcluded    = "Excluded"
)

// coverageResync bounds how long a namespace goes without a recomputation
// when nothing changes and no deadline is near.
const coverageResync = 10 * time.Minute

// CoverageReconciler computes the coverage of one namespace's
// PersistentVolumeClaims per request (the request's name is the namespace):
// a definition covers claims of its own namespace only, so a change
// recomputes one namespace, not the cluster.
type CoverageReconciler struct {
	Client            client.Client
	OperatorNamespace string
	Store             *coverage.Store
	Metrics           *coverage.Metrics
	// Events records state changes on claims; nil records none.
	Events events.EventRecorder
	Clock  Clock
	// Started is when the controller started: a claim created before it
	// and first seen unprotected gets no Event (it had its chance before
	// the restart; the metric and report still show it).
	Started time.Time
}

// Reconcile: read the namespace's inputs, compute, publish, then record
// Events and definitions' counts.
func (r *CoverageReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ns := req.Name
	start := time.Now()
	in, claims, defs, err := r.gather(ctx, ns)
	if err != nil {
		return ctrl.Result{}, err
	}
	rep := coverage.Compute(in)
	changes := r.Store.Put(ns, rep)
	if r.Metrics != nil {
		r.Metrics.Observe(changes, time.Since(start))
	}
	r.record(changes, claims)
	if err := r.patchDefinitions(ctx, defs, rep); err != nil {
		return ctrl.Result{}, err
	}
	if len(in.Claims) == 0 && len(in.Definitions) == 0 {
		return ctrl.Result{}, nil // the watches bring it back
	}
	return ctrl.Result{RequeueAfter: requeueFor(rep.NextChange, in.Now)}, nil
}

// gather reads a namespace's claims (metadata), definitions and Backups,
// and the storages, from the cache. A namespace gone or going yields an
// empty input, which empties its report.
func (r *CoverageReconciler) gather(ctx context.Context, ns string) (coverage.Input, map[string]*metav1.PartialObjectMetadata, []v1alpha1.BackupDefinition, error) {
	in := coverage.Input{Now: r.Clock.Now(), OperatorNamespace: r.OperatorNamespace, Storages: map[string]coverage.Storage{}}
	nsMeta := &metav1.PartialObjectMetadata{}
	nsMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	err := r.Client.Get(ctx, types.NamespacedName{Name: ns}, nsMeta)
	if apierrors.IsNotFound(err) || (err == nil && !nsMeta.DeletionTimestamp.IsZero()) {
		return in, nil, nil, nil
	}
	if err != nil {
		return in, nil, nil, err
	}
	in.NamespaceLabels = map[string]map[string]string{ns: nsMeta.Labels}
	pvcs := &metav1.PartialObjectMetadataList{}
	pvcs.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaimList"))
	var defs v1alpha1.BackupDefinitionList
	var backups v1alpha1.BackupList
	var storages v1alpha1.BackupStorageList
	if err := errors.Join(
		r.Client.List(ctx, pvcs, client.InNamespace(ns)),
		r.Client.List(ctx, &defs, client.InNamespace(ns)),
		r.Client.List(ctx, &backups, client.InNamespace(ns)),
		r.Client.List(ctx, &storages, client.InNamespace(r.OperatorNamespace)),
	); err != nil {
		return in, nil, nil, err
	}
	claims := make(map[string]*metav1.PartialObjectMetadata, len(pvcs.Items))
	for i := range pvcs.Items {
		m := &pvcs.Items[i]
		claims[m.Name] = m
		in.Claims = append(in.Claims, coverageClaim(m))
	}
	live := defs.Items[:0]
	for i := range defs.Items {
		if d := &defs.Items[i]; d.DeletionTimestamp.IsZero() {
			in.Definitions = append(in.Definitions, coverageDefinition(d, backups.Items))
			live = append(live, *d)
		}
	}
	for _, st := range storages.Items {
		in.Storages[st.Name] = coverage.Storage{AllowedNamespaces: st.Spec.AllowedNamespaces}
	}
	return in, claims, live, nil
}

// record puts an Event on each claim that became unprotected or stale, and
// on one that recovered from either.
func (r *CoverageReconciler) record(changes []coverage.Change, claims map[string]*metav1.PartialObjectMetadata) {
	if r.Events == nil {
		return
	}
	for _, ch := range changes {
		m := claims[ch.Claim.Name]
		if m == nil {
			continue
		}
		bad := ch.Claim.State == coverage.Unprotected || ch.Claim.State == coverage.Stale
		wasBad := ch.Was == coverage.Unprotected || ch.Was == coverage.Stale
		if ch.Was == "" && (!bad || m.CreationTimestamp.Time.Before(r.Started)) {
			continue
		}
		if !bad && !wasBad {
			continue
		}
		kind := corev1.EventTypeNormal
		if bad {
			kind = corev1.EventTypeWarning
		}
		pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: m.Namespace, Name: m.Name, UID: m.UID}}
		r.Events.Eventf(pvc, nil, kind, eventReason(ch.Claim.State), "Coverage", "%s", truncate(ch.Claim.Reason, 1000))
	}
}

func eventReason(s coverage.State) string {
	switch s {
	case coverage.Unprotected:
		return ReasonUnprotected
	case coverage.Stale:
		return ReasonStale
	case coverage.Excluded:
		return ReasonExcluded
	}
	return ReasonProtected
}

// truncate keeps an Event's note within what the API accepts (1 kB).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// patchDefinitions writes each definition's status.coverage when it changed.
func (r *CoverageReconciler) patchDefinitions(ctx context.Context, defs []v1alpha1.BackupDefinition, rep coverage.Report) error {
	counts := make(map[string]v1alpha1.DefinitionCoverage, len(rep.Definitions))
	for _, d := range rep.Definitions {
		counts[d.Name] = v1alpha1.DefinitionCoverage{CoveredPVCs: int32(d.CoveredPVCs), ProtectedPVCs: int32(d.ProtectedPVCs)}
	}
	var errs []error
	for i := range defs {
		def := &defs[i]
		want := counts[def.Name]
		if c := def.Status.Coverage; c != nil && *c == want {
			continue
		}
		orig := def.DeepCopy()
		def.Status.Coverage = &want
		if err := r.Client.Status().Patch(ctx, def, client.MergeFrom(orig)); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("status.coverage of %s/%s: %w", def.Namespace, def.Name, err))
		}
	}
	return errors.Join(errs...)
}

// requeueFor: recompute when a definition goes stale, at least every
// coverageResync.
func requeueFor(next, now time.Time) time.Duration {
	if next.IsZero() {
		return coverageResync
	}
	// A second late, so the deadline has passed when it runs.
	return min(next.Sub(now)+time.Second, coverageResync)
}
