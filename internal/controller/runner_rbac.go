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
// target whose engine needs the API (kubernetes: resource backups) gets
// the runner a ServiceAccount of its own, runner-<ns>-<name> in the
// operator namespace, with the read-only rules its engine asks for
// (registry RunnerRules), bound:
//   - for a definition outside the operator namespace, by a Role and
//     RoleBinding in the definition's namespace only, so a tenant never
//     reads another namespace, or the operator's, through Coffer;
//   - for a definition in the operator namespace, by a ClusterRole and
//     ClusterRoleBinding.
//
// The API server lets the controller grant only rights it holds itself
// (config/rbac: get and list on everything), so a runner can never write.

// errTargetNotAllowed wraps a target its runner's rights cannot serve (a
// tenant's kubernetes target naming another namespace).
var errTargetNotAllowed = errors.New("target not allowed")

// runnerRBACPrefix starts the names of the Roles and bindings.
const runnerRBACPrefix = "coffer-"

// runnerRules are the rights on the API a definition's runner needs; nil
// means none.
func runnerRules(def *v1alpha1.BackupDefinition) []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	for i := range def.Spec.Targets {
		t := &def.Spec.Targets[i]
		for _, e := range all.Selected(t) {
			if e.RunnerRules != nil {
				rules = append(rules, e.RunnerRules(t)...)
			}
		}
	}
	return rules
}

// runnerIdentity gives the runner pod its ServiceAccount and token when
// its targets need the API, and nothing otherwise.
func runnerIdentity(spec *corev1.PodSpec, def *v1alpha1.BackupDefinition, name string) {
	if len(runnerRules(def)) == 0 {
		spec.AutomountServiceAccountToken = ptr.To(false) // the runner never talks to the API server
		return
	}
	spec.ServiceAccountName = name
	spec.AutomountServiceAccountToken = ptr.To(true)
}

// clusterWide reports whether a definition's runner is bound across the
// cluster: only the operator namespace's own definitions are.
func (r *DefinitionReconciler) clusterWide(def *v1alpha1.BackupDefinition) bool {
	return def.Namespace == r.OperatorNamespace
}

// applyRunnerRBAC creates or updates the runner's ServiceAccount, role and
// binding, or removes them when no target needs the API.
func (r *DefinitionReconciler) applyRunnerRBAC(ctx context.Context, def *v1alpha1.BackupDefinition) error {
	rules := runnerRules(def)
	if len(rules) == 0 {
		return r.deleteRunnerRBAC(ctx, def)
	}
	name := RunnerName(def.Namespace, def.Name)
	labels := runnerLabels(def.Namespace, def.Name)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: r.OperatorNamespace, Name: name}}
	if err := r.upsert(ctx, sa, func() error {
		sa.Labels = labels
		return nil
	}); err != nil {
		return fmt.Errorf("ServiceAccount %s/%s: %w", r.OperatorNamespace, name, err)
	}
	subject := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: r.OperatorNamespace, Name: name}
	role, binding := r.runnerRoleObjects(def)
	if err := r.upsert(ctx, role, func() error {
		role.SetLabels(labels)
		setRules(role, rules)
		return nil
	}); err != nil {
		return fmt.Errorf("runner role %s: %w", client.ObjectKeyFromObject(role), err)
	}
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kindOf(role), Name: role.GetName()}
	if err := r.applyBinding(ctx, binding, labels, ref, subject); err != nil {
		return fmt.Errorf("runner role binding %s: %w", client.ObjectKeyFromObject(binding), err)
	}
	return nil
}

// runnerRoleObjects are the role and binding of a definition's runner,
// named but not filled.
func (r *DefinitionReconciler) runnerRoleObjects(def *v1alpha1.BackupDefinition) (client.Object, client.Object) {
	if r.clusterWide(def) {
		name := runnerRBACPrefix + RunnerName(def.Namespace, def.Name)
		return &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}},
			&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	meta := metav1.ObjectMeta{Namespace: def.Namespace, Name: runnerRBACPrefix + "runner-" + def.Name}
	return &rbacv1.Role{ObjectMeta: meta}, &rbacv1.RoleBinding{ObjectMeta: meta}
}

func setRules(role client.Object, rules []rbacv1.PolicyRule) {
	switch o := role.(type) {
	case *rbacv1.Role:
		o.Rules = rules
	case *rbacv1.ClusterRole:
		o.Rules = rules
	}
}

func kindOf(role client.Object) string {
	if _, ok := role.(*rbacv1.ClusterRole); ok {
		return "ClusterRole"
	}
	return "Role"
}

// applyBinding creates or updates a binding; a binding whose roleRef
// changed (immutable) is deleted first.
func (r *DefinitionReconciler) applyBinding(ctx context.Context, b client.Object, labels map[string]string, ref rbacv1.RoleRef, s rbacv1.Subject) error {
	err := r.upsert(ctx, b, func() error {
		b.SetLabels(labels)
		switch o := b.(type) {
		case *rbacv1.RoleBinding:
			if o.RoleRef.Name != "" && o.RoleRef != ref {
				return errRoleRefChanged
			}
			o.RoleRef, o.Subjects = ref, []rbacv1.Subject{s}
		case *rbacv1.ClusterRoleBinding:
			if o.RoleRef.Name != "" && o.RoleRef != ref {
				return errRoleRefChanged
			}
			o.RoleRef, o.Subjects = ref, []rbacv1.Subject{s}
		}
		return nil
	})
	if errors.Is(err, errRoleRefChanged) {
		if err := r.Client.Delete(ctx, b); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		return fmt.Errorf("%w: deleted, to be created again", errRoleRefChanged)
	}
	return err
}

var errRoleRefChanged = errors.New("the binding's roleRef changed")

// upsert creates obj or updates it when mutate changed it. It reads
// through the uncached Reader: the controller keeps no cache of every
// ServiceAccount, Role and binding in the cluster for a few of its own.
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

// deleteRunnerRBAC removes the runner's ServiceAccount, role and binding,
// wherever they are.
func (r *DefinitionReconciler) deleteRunnerRBAC(ctx context.Context, def *v1alpha1.BackupDefinition) error {
	name := RunnerName(def.Namespace, def.Name)
	objs := []client.Object{&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: r.OperatorNamespace, Name: name}}}
	role, binding := r.runnerRoleObjects(def)
	objs = append(objs, binding, role)
	var errs []error
	for _, obj := range objs {
		if err := r.Client.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
