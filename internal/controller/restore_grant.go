package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine/all"
	"github.com/coffer-dev/coffer/internal/naming"
)

// Write rights for restores. A runner reads the API read-only
// (runner_rbac.go); a Restore of a kubernetes target must write. The
// controller grants the runner's ServiceAccount the ClusterRole
// RunnerRestorerRole (config/rbac/runner_restorer.yaml: get, list,
// create, patch) only while such a Restore is in flight, and with the same
// reach as its reads:
//   - a definition outside the operator namespace: a RoleBinding in the
//     definition's namespace, the only namespace it restores into (a
//     namespaceMapping to any other is refused before anything is granted,
//     and its own Namespace object is never written);
//   - a definition in the operator namespace: a ClusterRoleBinding for the
//     shared identity RunnerClusterServiceAccount.
//
// The grant is revoked when the Restore ends, whatever its phase; when the
// Restore is deleted (the reconciler deletes the grant it would have made,
// and the RoleBinding's owner reference lets the garbage collector do the
// same); and, for what a stopped controller missed, by SweepRestoreGrants
// at start.
const (
	// RunnerRestorerRole is the ClusterRole a restoring runner is bound to.
	RunnerRestorerRole = "coffer-runner-restorer"
	// LabelRestoreGrant marks the bindings of restore grants.
	LabelRestoreGrant = "coffer.dev/restore-grant"
	// AnnotationRestore on a grant names its Restore as <namespace>/<name>.
	AnnotationRestore = "coffer.dev/restore"
	// ConditionWriteAccess on a Restore: its runner holds write rights.
	ConditionWriteAccess = "WriteAccess"
	ReasonGranted        = "Granted"
	ReasonRevoked        = "Revoked"
	// grantPrefix starts a grant's binding name.
	grantPrefix = "coffer-restore-"
	// grantRetry is how soon a grant the authorizer does not show yet is
	// checked again.
	grantRetry = time.Second
	// grantTimeout bounds the wait for a grant to be in force: RBAC's
	// authorizer takes moments; longer means the ClusterRole is missing.
	grantTimeout = 2 * time.Minute
)

// errNotOurs wraps a binding that has a grant's name but is not Coffer's.
var errNotOurs = errors.New("exists and is not a Coffer restore grant")

// restoresThroughPod reports whether restoring target (empty: every
// target) of def writes to the API with the runner pod's identity.
func restoresThroughPod(def *v1alpha1.BackupDefinition, target string) bool {
	for i := range def.Spec.Targets {
		t := &def.Spec.Targets[i]
		if target != "" && t.Name != target {
			continue
		}
		for _, e := range all.Selected(t) {
			if e.RestoresThroughPod != nil && e.RestoresThroughPod(t) {
				return true
			}
		}
	}
	return false
}

// restoresKubernetes reports whether the Restore touches a kubernetes
// target of def, whatever identity it writes with.
func restoresKubernetes(def *v1alpha1.BackupDefinition, target string) bool {
	for _, t := range def.Spec.Targets {
		if (target == "" || t.Name == target) && t.Kubernetes != nil {
			return true
		}
	}
	return false
}

// kubernetesOptions checks a Restore's kubernetes options against its
// definition's reach and returns what the runner is asked for: a tenant
// restores into its own namespace only, and never writes its Namespace
// object (the namespace exists, the grant lives in it, and its labels are
// the cluster admin's, e.g. Pod Security levels). Errors wrap
// errCannotServe.
func (r *RestoreReconciler) kubernetesOptions(rs *v1alpha1.Restore, def *v1alpha1.BackupDefinition) (*v1alpha1.KubernetesRestoreOptions, error) {
	o := rs.Spec.Kubernetes.DeepCopy()
	if def.Namespace == r.OperatorNamespace || !restoresKubernetes(def, rs.Spec.Target) {
		return o, nil
	}
	if o == nil {
		o = &v1alpha1.KubernetesRestoreOptions{}
	}
	for _, from := range slices.Sorted(maps.Keys(o.NamespaceMapping)) {
		if to := o.NamespaceMapping[from]; to != def.Namespace {
			return nil, fmt.Errorf("%w: spec.kubernetes.namespaceMapping %s=%s: a definition in namespace %s restores into %s only "+
				"(only the operator namespace's definitions restore across namespaces; docs/operator.md)", errCannotServe, from, to, def.Namespace, def.Namespace)
		}
	}
	if !slices.Contains(o.ExcludedResources, "namespaces") {
		o.ExcludedResources = append(o.ExcludedResources, "namespaces")
	}
	return o, nil
}

// grantName names a Restore's grant binding.
func grantName(restore string) string { return naming.Shorten(grantPrefix+restore, restore, 253) }

// grantSubject is the runner's ServiceAccount.
func (r *RestoreReconciler) grantSubject(def *v1alpha1.BackupDefinition) rbacv1.Subject {
	name := RunnerName(def.Namespace, def.Name)
	if def.Namespace == r.OperatorNamespace {
		name = RunnerClusterServiceAccount
	}
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: r.OperatorNamespace, Name: name}
}

// grant gives the runner write rights for rs, and reports whether the API
// server's authorizer already lets it write.
func (r *RestoreReconciler) grant(ctx context.Context, rs *v1alpha1.Restore, def *v1alpha1.BackupDefinition, c conditions) (bool, error) {
	subject := r.grantSubject(def)
	meta := metav1.ObjectMeta{Name: grantName(rs.Name), Labels: map[string]string{LabelRestoreGrant: "true", LabelManagedBy: managerName},
		Annotations: map[string]string{AnnotationRestore: rs.Namespace + "/" + rs.Name}}
	definitionAnnotation(&meta, def.Namespace, def.Name)
	roleRef := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: RunnerRestorerRole}
	var obj client.Object
	scope := "namespace " + def.Namespace
	if def.Namespace == r.OperatorNamespace {
		obj = &rbacv1.ClusterRoleBinding{ObjectMeta: meta, RoleRef: roleRef, Subjects: []rbacv1.Subject{subject}}
		scope = "every namespace"
	} else {
		meta.Namespace = rs.Namespace
		meta.OwnerReferences = []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Restore",
			Name: rs.Name, UID: rs.UID, Controller: ptr.To(true)}}
		obj = &rbacv1.RoleBinding{ObjectMeta: meta, RoleRef: roleRef, Subjects: []rbacv1.Subject{subject}}
	}
	if err := r.createGrant(ctx, obj, rs, roleRef, subject); err != nil {
		return false, err
	}
	c.set(ConditionWriteAccess, metav1.ConditionTrue, ReasonGranted, fmt.Sprintf("%s %s binds %s to ServiceAccount %s/%s in %s until the restore ends",
		kindOf(obj), obj.GetName(), RunnerRestorerRole, subject.Namespace, subject.Name, scope))
	namespace := def.Namespace
	if def.Namespace == r.OperatorNamespace {
		namespace = "" // every namespace
	}
	ok, err := r.mayWrite(ctx, subject, namespace)
	if err != nil || ok {
		return ok, err
	}
	if since := r.Clock.Now().Sub(c.get(ConditionWriteAccess).LastTransitionTime.Time); since > grantTimeout {
		return false, fmt.Errorf("%w: the runner's ServiceAccount %s/%s still may not write in %s %v after %s %s was created: "+
			"is the ClusterRole %s installed (config/rbac/runner_restorer.yaml)?", errCannotServe, subject.Namespace, subject.Name,
			scope, since.Round(time.Second), kindOf(obj), obj.GetName(), RunnerRestorerRole)
	}
	return false, nil
}

// createGrant creates the binding, or accepts the one a previous
// reconcile created for the same Restore. A binding of that name that is not exactly the
// grant (someone else's, or one edited) fails the Restore: the controller
// never deletes or widens what it did not make.
func (r *RestoreReconciler) createGrant(ctx context.Context, obj client.Object, rs *v1alpha1.Restore, roleRef rbacv1.RoleRef, subject rbacv1.Subject) error {
	err := r.Client.Create(ctx, obj)
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	live := obj.DeepCopyObject().(client.Object)
	if err := r.Reader.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
		return err
	}
	var liveRef rbacv1.RoleRef
	var liveSubjects []rbacv1.Subject
	switch b := live.(type) {
	case *rbacv1.RoleBinding:
		liveRef, liveSubjects = b.RoleRef, b.Subjects
	case *rbacv1.ClusterRoleBinding:
		liveRef, liveSubjects = b.RoleRef, b.Subjects
	}
	if live.GetLabels()[LabelRestoreGrant] != "true" || live.GetAnnotations()[AnnotationRestore] != rs.Namespace+"/"+rs.Name ||
		liveRef != roleRef || len(liveSubjects) != 1 || liveSubjects[0] != subject {
		return fmt.Errorf("%w: %s %s %s", errCannotServe, kindOf(obj), client.ObjectKeyFromObject(obj), errNotOurs)
	}
	return nil
}

// mayWrite asks the authorizer whether subject may create ConfigMaps in
// namespace ("" for every namespace): RBAC's authorizer learns of a new
// binding through a watch, so the restore waits until it has.
func (r *RestoreReconciler) mayWrite(ctx context.Context, subject rbacv1.Subject, namespace string) (bool, error) {
	sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User:               "system:serviceaccount:" + subject.Namespace + ":" + subject.Name,
		Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + subject.Namespace, "system:authenticated"},
		ResourceAttributes: &authzv1.ResourceAttributes{Verb: "create", Resource: "configmaps", Namespace: namespace}}}
	if err := r.Client.Create(ctx, sar); err != nil {
		return false, fmt.Errorf("checking the restore grant: %w", err)
	}
	return sar.Status.Allowed, nil
}

// revoke removes rs's grant, if it had one.
func (r *RestoreReconciler) revoke(ctx context.Context, rs *v1alpha1.Restore) error {
	c := conditionsOf(&rs.Status.Conditions, rs.Generation, r.Clock)
	if w := c.get(ConditionWriteAccess); w == nil || w.Status != metav1.ConditionTrue {
		return nil
	}
	if err := r.deleteGrant(ctx, types.NamespacedName{Namespace: rs.Namespace, Name: rs.Name}); err != nil {
		return err
	}
	c.set(ConditionWriteAccess, metav1.ConditionFalse, ReasonRevoked, "the restore ended: its runner's write rights were removed")
	return nil
}

// deleteGrant deletes the bindings a Restore's grant may have made. Only
// the operator namespace's Restores have a ClusterRoleBinding.
func (r *RestoreReconciler) deleteGrant(ctx context.Context, restore types.NamespacedName) error {
	objs := []client.Object{&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: restore.Namespace, Name: grantName(restore.Name)}}}
	if restore.Namespace == r.OperatorNamespace {
		objs = append(objs, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: grantName(restore.Name)}})
	}
	var errs []error
	for _, o := range objs {
		// Only Coffer's: a binding of that name someone else made stays.
		err := r.Reader.Get(ctx, client.ObjectKeyFromObject(o), o)
		if err == nil && o.GetLabels()[LabelRestoreGrant] == "true" && o.GetAnnotations()[AnnotationRestore] == restore.String() {
			err = r.Client.Delete(ctx, o, client.Preconditions{UID: ptr.To(o.GetUID())})
		}
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("revoking the restore grant %s %s: %w", kindOf(o), client.ObjectKeyFromObject(o), err))
		}
	}
	return errors.Join(errs...)
}

func kindOf(o client.Object) string {
	if _, ok := o.(*rbacv1.ClusterRoleBinding); ok {
		return "ClusterRoleBinding"
	}
	return "RoleBinding"
}
