package manifests

import (
	"context"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"

	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestCoverageRBAC: the controller reads PersistentVolumeClaims in every
// namespace, for the coverage report, and never writes them.
func TestCoverageRBAC(t *testing.T) {
	env := testutil.SharedEnvtest(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	applyForReal(ctx, t, env.Client, build(t, "default"),
		"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
	tests := map[string]bool{
		"get": true, "list": true, "watch": true,
		"create": false, "update": false, "patch": false, "delete": false, "deletecollection": false,
	}
	const sa = "system:serviceaccount:coffer-system:coffer-controller"
	for verb, want := range tests {
		for _, ns := range []string{"", "shop", "coffer-system"} {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: sa, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:coffer-system", "system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Resource: "persistentvolumeclaims", Namespace: ns},
			}}
			if err := env.Client.Create(ctx, sar); err != nil {
				t.Fatalf("SubjectAccessReview: %v", err)
			}
			if sar.Status.Allowed != want {
				t.Errorf("%s persistentvolumeclaims in %q: allowed=%v, want %v", verb, ns, sar.Status.Allowed, want)
			}
		}
	}
}
