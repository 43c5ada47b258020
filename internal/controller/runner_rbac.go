package controller

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine/all"
)

// The runner's identity. Database, volume and git targets never need the
// Kubernetes API, so the runner pod mounts no ServiceAccount token. A
// target whose engine reads the API (kubernetes: resource backups) gets
// the runner a read-only identity, the ClusterRole RunnerReaderRole
// (config/rbac/runner_reader.yaml: get and list), bound:
//   - for a definition outside the operator namespace, to a ServiceAccount
//     of its own (runner-<ns>-<name>, operator namespace) by a RoleBinding
//     in the definition's namespace only, so a tenant never reads another
//     namespace, or the operator's, through Coffer;
//   - for a definition in the operator namespace, by being the shared
//     ServiceAccount RunnerClusterServiceAccount, which runner_reader.yaml
//     binds across the cluster.
//
// So the controller binds one ClusterRole, in one namespace at a time, and
// creates no cluster-wide binding; and no runner can write.
const (
	// RunnerReaderRole is the read-only ClusterRole runners are bound to.
	RunnerReaderRole = "coffer-runner-reader"
	// RunnerClusterServiceAccount is the identity of the runners of the
	// operator namespace's definitions.
	RunnerClusterServiceAccount = "coffer-runner-cluster"
	// runnerBindingPrefix starts the RoleBinding in a tenant's namespace.
	runnerBindingPrefix = "coffer-runner-"
)

// errTargetNotAllowed wraps a target its runner's rights cannot serve (a
// tenant's kubernetes target naming another namespace).
var errTargetNotAllowed = errors.New("target not allowed")

// readsAPI reports whether a definition's runner reads the Kubernetes API.
func readsAPI(def *v1alpha1.BackupDefinition) bool {
	for i := range def.Spec.Targets {
		t := &def.Spec.Targets[i]
		for _, e := range all.Selected(t) {
			if e.ReadsAPI != nil && e.ReadsAPI(t) {
				return true
			}
		}
	}
	return false
}

// runnerIdentity gives the runner pod its ServiceAccount and token when
// its targets read the API, and nothing otherwise.
func runnerIdentity(spec *corev1.PodSpec, def *v1alpha1.BackupDefinition, s Settings, name string) {
	if !readsAPI(def) {
		spec.AutomountServiceAccountToken = ptr.To(false) // the runner never talks to the API server
		return
	}
	spec.ServiceAccountName = name
	if def.Namespace == s.OperatorNamespace {
		spec.ServiceAccountName = RunnerClusterServiceAccount
	}
	spec.AutomountServiceAccountToken = ptr.To(true)
}

// applyRunnerRBAC creates or updates the runner's own ServiceAccount (a
// tenant's runner that reads the API, or any runner whose storage gives it
// a workload identity: runner_cloud_identity.go) and a tenant runner's
// RoleBinding, and removes what is not needed any more. The operator
// namespace's runners that read the API use the shared, pre-bound
// ServiceAccount.
func (r *DefinitionReconciler) applyRunnerRBAC(ctx context.Context, def *v1alpha1.BackupDefinition, st *v1alpha1.BackupStorage) error {
	if !ownServiceAccount(def, st, r.OperatorNamespace) {
		return r.deleteRunnerRBAC(ctx, def)
	}
	name := RunnerName(def.Namespace, def.Name)
	labels := runnerLabels(def.Namespace, def.Name)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: r.OperatorNamespace, Name: name}}
	annotations := identityAnnotations(st)
	if err := r.upsert(ctx, sa, func() error { sa.Labels, sa.Annotations = labels, annotations; return nil }); err != nil {
		return fmt.Errorf("ServiceAccount %s/%s: %w", r.OperatorNamespace, name, err)
	}
	rb := runnerBinding(def)
	if !readsAPI(def) || def.Namespace == r.OperatorNamespace {
		if err := r.Client.Delete(ctx, rb); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("RoleBinding %s/%s: %w", rb.Namespace, rb.Name, err)
		}
		return r.applyRestoreTestRBAC(ctx, def)
	}
	err := r.upsert(ctx, rb, func() error {
		rb.Labels = labels
		rb.RoleRef = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: RunnerReaderRole}
		rb.Subjects = []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: r.OperatorNamespace, Name: name}}
		return nil
	})
	if err != nil {
		return fmt.Errorf("RoleBinding %s/%s: %w", rb.Namespace, rb.Name, err)
	}
	return r.applyRestoreTestRBAC(ctx, def)
}

// runnerBinding is the RoleBinding of a tenant's runner, named.
func runnerBinding(def *v1alpha1.BackupDefinition) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: def.Namespace, Name: runnerBindingPrefix + def.Name}}
}

// deleteRunnerRBAC removes a runner's own ServiceAccount and a tenant
// runner's RoleBinding.
func (r *DefinitionReconciler) deleteRunnerRBAC(ctx context.Context, def *v1alpha1.BackupDefinition) error {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: r.OperatorNamespace, Name: RunnerName(def.Namespace, def.Name)}}
	objs := []client.Object{sa}
	if def.Namespace != r.OperatorNamespace {
		objs = append(objs, runnerBinding(def), restoreTestBinding(def))
	}
	var errs []error
	for _, obj := range objs {
		if err := r.Client.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// upsert creates obj or updates it when mutate changed it. It reads
// through the uncached Reader: the controller keeps no cache of every
// ServiceAccount and RoleBinding in the cluster for a few of its own.
func (r *DefinitionReconciler) upsert(ctx context.Context, obj client.Object, mutate func() error) error {
	err := r.Reader.Get(ctx, client.ObjectKeyFromObject(obj), obj)
	if apierrors.IsNotFound(err) {
		if err := mutate(); err != nil {
			return err
		}
		return r.Client.Create(ctx, obj)
	}
	if err != nil {
		return err
	}
	before := obj.DeepCopyObject()
	if err := mutate(); err != nil {
		return err
	}
	if equality.Semantic.DeepEqual(before, obj) {
		return nil
	}
	return r.Client.Update(ctx, obj)
}
