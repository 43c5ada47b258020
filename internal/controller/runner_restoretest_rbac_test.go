package controller_test

import (
	"context"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestRestoreTestOfResourcesGrantsItsNamespaceOnly: listing a kubernetes
// target in spec.restoreTest lets the tenant's runner create and patch in
// its own namespace (a server-side dry run needs those rights), never in
// another; taking it out of the restore test takes the rights away.
func TestRestoreTestOfResourcesGrantsItsNamespaceOnly(t *testing.T) {
	e := cluster(t)
	installRunnerReader(t, e)
	installRBACFile(t, e, "runner_restorer.yaml")
	st := uniq("store-")
	storage(t, e, st)
	ns, other := appNamespace(t, e, true), appNamespace(t, e, true)
	def := kubernetesDefinition(t, e, ns, "res", st, v1alpha1.KubernetesTarget{})
	key := types.NamespacedName{Namespace: ns, Name: "coffer-runner-res-restore-test"}
	binding := &rbacv1.RoleBinding{}

	// Backing up alone: read-only.
	waitFor(t, "runner read binding", func() bool {
		return e.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "coffer-runner-res"}, &rbacv1.RoleBinding{}) == nil
	})
	if err := e.Client.Get(context.Background(), key, binding); !apierrors.IsNotFound(err) {
		t.Fatalf("restore-test binding without a restore test: %v", err)
	}

	setRestoreTest(t, e, def, &v1alpha1.RestoreTestSpec{Schedule: "0 3 * * *", Targets: []v1alpha1.RestoreTestTarget{{Name: "resources"}}})
	waitFor(t, "restore-test binding", func() bool { return e.Client.Get(context.Background(), key, binding) == nil })
	if binding.RoleRef.Name != "coffer-runner-restorer" {
		t.Fatalf("restore-test binding binds %q", binding.RoleRef.Name)
	}
	waitFor(t, "create rights in its namespace", func() bool { return can(t, e, ns, "res", "create", "", "configmaps", ns) })
	for _, c := range []struct{ verb, resource, namespace string }{
		{"create", "configmaps", other}, {"patch", "secrets", other}, {"delete", "configmaps", ns}, {"create", "namespaces", ""},
	} {
		if can(t, e, ns, "res", c.verb, "", c.resource, c.namespace) {
			t.Errorf("runner with a restore test may %s %s in %q", c.verb, c.resource, c.namespace)
		}
	}

	setRestoreTest(t, e, def, nil)
	waitFor(t, "restore-test binding removed", func() bool {
		return apierrors.IsNotFound(e.Client.Get(context.Background(), key, &rbacv1.RoleBinding{}))
	})
	if can(t, e, ns, "res", "create", "", "configmaps", ns) {
		t.Error("the runner may still create after its restore test was removed")
	}
}

// setRestoreTest sets a definition's spec.restoreTest, retrying on a
// conflict with the controller's status writes.
func setRestoreTest(t *testing.T, e *testutil.Envtest, def *v1alpha1.BackupDefinition, rt *v1alpha1.RestoreTestSpec) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		live := &v1alpha1.BackupDefinition{}
		if err := e.Client.Get(context.Background(), client.ObjectKeyFromObject(def), live); err != nil {
			return err
		}
		live.Spec.RestoreTest = rt
		return e.Client.Update(context.Background(), live)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	testutil.Eventually(t, 60*time.Second, what, ok)
}
