package controller

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine/all"
)

// Restore tests of kubernetes targets. A restore test of resources is a
// server-side dry run of the restore (docs/proving.md), and the API server
// asks for create and patch rights even for a dry run: RBAC cannot grant
// "dry run only". So a tenant who lists a kubernetes target in
// spec.restoreTest gives its runner, for as long as it is listed, the
// restorer ClusterRole in the definition's own namespace — the namespace it
// could restore into anyway — by a RoleBinding of its own. Definitions in
// the operator namespace share one ServiceAccount; the controller grants
// it nothing cluster-wide that lasts: the cluster admin binds
// coffer-runner-restorer to coffer-runner-cluster when they want those
// tests (docs/proving.md).

// restoreTestBindingSuffix ends the standing binding's name.
const restoreTestBindingSuffix = "-restore-test"

// testsKubernetesRestore reports whether a definition's restore test lists
// a target whose engine restores through the Kubernetes API.
func testsKubernetesRestore(def *v1alpha1.BackupDefinition) bool {
	if def.Spec.RestoreTest == nil {
		return false
	}
	for _, rt := range def.Spec.RestoreTest.Targets {
		for i := range def.Spec.Targets {
			t := &def.Spec.Targets[i]
			if t.Name != rt.Name {
				continue
			}
			for _, e := range all.Selected(t) {
				if e.ReadsAPI != nil && e.ReadsAPI(t) {
					return true
				}
			}
		}
	}
	return false
}

// restoreTestBinding is the standing RoleBinding of a tenant's runner whose
// restore test dry-runs a kubernetes restore, named.
func restoreTestBinding(def *v1alpha1.BackupDefinition) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{
		Namespace: def.Namespace, Name: runnerBindingPrefix + def.Name + restoreTestBindingSuffix,
	}}
}

// applyRestoreTestRBAC binds the restorer role for a tenant runner whose
// restore test needs it, and removes the binding when it does not.
func (r *DefinitionReconciler) applyRestoreTestRBAC(ctx context.Context, def *v1alpha1.BackupDefinition) error {
	rb := restoreTestBinding(def)
	if def.Namespace == r.OperatorNamespace {
		return nil
	}
	if !testsKubernetesRestore(def) {
		if err := r.Client.Delete(ctx, rb); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("RoleBinding %s/%s: %w", rb.Namespace, rb.Name, err)
		}
		return nil
	}
	name := RunnerName(def.Namespace, def.Name)
	err := r.upsert(ctx, rb, func() error {
		rb.Labels = runnerLabels(def.Namespace, def.Name)
		rb.RoleRef = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: RunnerRestorerRole}
		rb.Subjects = []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: r.OperatorNamespace, Name: name}}
		return nil
	})
	if err != nil {
		return fmt.Errorf("RoleBinding %s/%s: %w", rb.Namespace, rb.Name, err)
	}
	return nil
}
