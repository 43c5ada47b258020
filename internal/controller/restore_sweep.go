package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

// SweepRestoreGrants deletes the restore grants (restore_grant.go) whose
// Restore is gone or has ended: what a controller that stopped between
// the end of a restore and its revocation, or while a Restore was
// deleted, left behind. The controller runs it once it leads; grants of
// Restores in flight stay. It reads through reader, uncached.
func SweepRestoreGrants(ctx context.Context, c client.Client, reader client.Reader) (deleted int, err error) {
	sel := client.MatchingLabels{LabelRestoreGrant: "true"}
	var rbs rbacv1.RoleBindingList
	if err := reader.List(ctx, &rbs, sel); err != nil {
		return 0, fmt.Errorf("listing restore grants: %w", err)
	}
	var crbs rbacv1.ClusterRoleBindingList
	if err := reader.List(ctx, &crbs, sel); err != nil {
		return 0, fmt.Errorf("listing restore grants: %w", err)
	}
	var objs []client.Object
	for i := range rbs.Items {
		objs = append(objs, &rbs.Items[i])
	}
	for i := range crbs.Items {
		objs = append(objs, &crbs.Items[i])
	}
	var errs []error
	for _, o := range objs {
		stale, err := staleGrant(ctx, reader, o)
		if err == nil && stale {
			err = client.IgnoreNotFound(c.Delete(ctx, o))
			if err == nil {
				deleted++
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("restore grant %s %s: %w", kindOf(o), client.ObjectKeyFromObject(o), err))
		}
	}
	return deleted, errors.Join(errs...)
}

// staleGrant reports whether a grant's Restore is gone or has ended. A
// grant that does not name its Restore is stale: Coffer never makes one.
func staleGrant(ctx context.Context, reader client.Reader, o client.Object) (bool, error) {
	ns, name, ok := strings.Cut(o.GetAnnotations()[AnnotationRestore], "/")
	if !ok {
		return true, nil
	}
	rs := &v1alpha1.Restore{}
	err := reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, rs)
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return rs.Status.Phase.Final() || !rs.DeletionTimestamp.IsZero(), nil
}

// restoreGrantSweep is SweepRestoreGrants as a manager runnable: once,
// when this controller starts leading.
type restoreGrantSweep struct {
	client client.Client
	reader client.Reader
}

func (s restoreGrantSweep) Start(ctx context.Context) error {
	n, err := SweepRestoreGrants(ctx, s.client, s.reader)
	if err != nil {
		// Logged, not fatal: the reconciler revokes each Restore's grant
		// too, and a failed sweep must not stop the controller.
		ctrl.Log.WithName("restore-grants").Error(err, "sweeping stale restore grants")
	}
	if n > 0 {
		ctrl.Log.WithName("restore-grants").Info("stale restore grants removed", "count", n)
	}
	return nil
}
