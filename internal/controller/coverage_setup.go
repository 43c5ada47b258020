package controller

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/coverage"
)

// CoverageConfig is what the coverage reconciler needs besides the manager.
// The zero value publishes on the controller's metrics server: the metrics
// on controller-runtime's registry, the JSON report at coverage.HandlerPath.
type CoverageConfig struct {
	// Store receives the reports; nil makes one.
	Store *coverage.Store
	// Metrics registry; nil is controller-runtime's (served at /metrics).
	Metrics prometheus.Registerer
}

// setupCoverage registers the coverage reconciler, its metrics and its
// report handler.
func setupCoverage(mgr ctrl.Manager, c Config) error {
	cc := c.Coverage
	if cc.Store == nil {
		cc.Store = coverage.NewStore()
	}
	if cc.Metrics == nil {
		cc.Metrics = ctrlmetrics.Registry
	}
	m := coverage.NewMetrics(cc.Store)
	if err := m.Register(cc.Metrics); err != nil {
		return err
	}
	if err := mgr.AddMetricsServerExtraHandler(coverage.HandlerPath, coverage.Handler(cc.Store)); err != nil {
		return err
	}
	r := &CoverageReconciler{Client: mgr.GetClient(), OperatorNamespace: c.OperatorNamespace, Store: cc.Store, Metrics: m,
		Events: mgr.GetEventRecorder(managerName), Clock: c.Clock, Started: c.Clock.Now()}
	return r.SetupWithManager(mgr)
}

// SetupWithManager watches namespaces (their labels decide
// allowedNamespaces), claims (metadata only: labels and annotations are all
// coverage reads), definitions and Backups, each mapped to its namespace,
// and storages, mapped to the namespaces of every definition.
func (r *CoverageReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("coverage").
		For(&corev1.Namespace{}, builder.OnlyMetadata).
		Watches(&corev1.PersistentVolumeClaim{}, handler.EnqueueRequestsFromMapFunc(toNamespace), builder.OnlyMetadata,
			builder.WithPredicates(metadataChanged)).
		Watches(&v1alpha1.BackupDefinition{}, handler.EnqueueRequestsFromMapFunc(toNamespace)).
		Watches(&v1alpha1.Backup{}, handler.EnqueueRequestsFromMapFunc(toNamespace)).
		Watches(&v1alpha1.BackupStorage{}, handler.EnqueueRequestsFromMapFunc(r.definitionNamespaces)).
		WithOptions(controller.Options{MaxConcurrentReconciles: 2}).
		Complete(r)
}

// metadataChanged lets through a claim's creation, deletion and changes of
// its labels or annotations; status updates (binding, resizing) do not
// change its coverage.
var metadataChanged = predicate.Or(predicate.LabelChangedPredicate{}, predicate.AnnotationChangedPredicate{},
	predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool { return !e.ObjectNew.GetDeletionTimestamp().IsZero() }})

func toNamespace(_ context.Context, o client.Object) []reconcile.Request {
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: o.GetNamespace()}}}
}

// definitionNamespaces: every namespace holding a definition.
func (r *CoverageReconciler) definitionNamespaces(ctx context.Context, o client.Object) []reconcile.Request {
	if o.GetNamespace() != r.OperatorNamespace {
		return nil
	}
	var defs v1alpha1.BackupDefinitionList
	if err := r.Client.List(ctx, &defs); err != nil {
		return nil
	}
	seen := map[string]bool{}
	var reqs []reconcile.Request
	for _, d := range defs.Items {
		if !seen[d.Namespace] {
			seen[d.Namespace] = true
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: d.Namespace}})
		}
	}
	return reqs
}
