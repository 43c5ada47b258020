package controller

import (
	"context"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/naming"
)

// Field indexes on BackupDefinitions, so watches map inputs to definitions
// without listing every definition.
const (
	indexStorage = "spec.storageRef.name"
	indexSecrets = "coffer.dev/secretRefs"
)

// SetupWithManager registers the definition reconciler, its indexes, and
// watches on every input: storages, Secrets (metadata only), namespaces
// (their labels decide allowedNamespaces) and the rendered objects.
func (r *DefinitionReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &v1alpha1.BackupDefinition{}, indexStorage, func(o client.Object) []string {
		return []string{o.(*v1alpha1.BackupDefinition).Spec.StorageRef.Name}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &v1alpha1.BackupDefinition{}, indexSecrets, func(o client.Object) []string {
		return referencedSecretNames(o.(*v1alpha1.BackupDefinition))
	}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("backupdefinition").
		For(&v1alpha1.BackupDefinition{}, builder.WithPredicates(specOrDeletion)).
		Watches(&v1alpha1.BackupStorage{}, handler.EnqueueRequestsFromMapFunc(r.forStorage)).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.forSecret), builder.OnlyMetadata).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.forNamespace), builder.OnlyMetadata).
		Watches(&appsv1.StatefulSet{}, handler.EnqueueRequestsFromMapFunc(r.forRendered)).
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(r.forRendered)).
		// Reconciles wait on the API server and runners, not the CPU.
		WithOptions(controller.Options{MaxConcurrentReconciles: 8}).
		Complete(r)
}

// specOrDeletion lets through a definition's spec changes and its deletion,
// not the updates the controller itself makes (finalizer, status), which
// would otherwise reconcile every definition two more times.
var specOrDeletion = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	return e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() || !e.ObjectNew.GetDeletionTimestamp().IsZero()
}}

// forStorage: every definition using the storage.
func (r *DefinitionReconciler) forStorage(ctx context.Context, o client.Object) []reconcile.Request {
	if o.GetNamespace() != r.OperatorNamespace {
		return nil
	}
	return r.definitions(ctx, client.MatchingFields{indexStorage: o.GetName()})
}

// forSecret: definitions referencing the Secret in their namespace; for a
// Secret of the operator namespace, also those using a storage that
// references it; for a rendered config Secret, its definition (reverting
// hand edits).
func (r *DefinitionReconciler) forSecret(ctx context.Context, o client.Object) []reconcile.Request {
	if reqs := r.forRendered(ctx, o); len(reqs) > 0 {
		return reqs
	}
	reqs := r.definitions(ctx, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexSecrets: o.GetName()})
	if o.GetNamespace() != r.OperatorNamespace {
		return reqs
	}
	var storages v1alpha1.BackupStorageList
	if err := r.Client.List(ctx, &storages, client.InNamespace(r.OperatorNamespace)); err != nil {
		return reqs
	}
	for i := range storages.Items {
		st := &storages.Items[i]
		if naming.DedupKeySecretName(st.Name) == o.GetName() {
			reqs = append(reqs, r.definitions(ctx, client.MatchingFields{indexStorage: st.Name})...)
			continue
		}
		for _, ref := range storageSecretRefs(&st.Spec) {
			if ref.Name == o.GetName() {
				reqs = append(reqs, r.definitions(ctx, client.MatchingFields{indexStorage: st.Name})...)
				break
			}
		}
	}
	return reqs
}

// forNamespace: every definition in the namespace.
func (r *DefinitionReconciler) forNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	return r.definitions(ctx, client.InNamespace(o.GetName()))
}

// forRendered maps a rendered object back to its definition by its labels.
func (r *DefinitionReconciler) forRendered(_ context.Context, o client.Object) []reconcile.Request {
	l := o.GetLabels()
	if o.GetNamespace() != r.OperatorNamespace || l[LabelManagedBy] != managerName || l[LabelDefinitionName] == "" {
		return nil
	}
	// The annotation holds the whole name: label values are cut at 63
	// characters.
	if ns, name, ok := strings.Cut(o.GetAnnotations()[AnnotationDefinition], "/"); ok {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}}
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: l[LabelDefinitionNamespace], Name: l[LabelDefinitionName]}}}
}

func (r *DefinitionReconciler) definitions(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
	var defs v1alpha1.BackupDefinitionList
	if err := r.Client.List(ctx, &defs, opts...); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(defs.Items))
	for _, d := range defs.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: d.Namespace, Name: d.Name}})
	}
	return reqs
}
