package controller_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/controller"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/kubernetes"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// installRunnerReader applies config/rbac/runner_reader.yaml, as make
// deploy does: the read-only ClusterRole and the cluster-wide identity of
// the operator namespace's runners.
func installRunnerReader(t *testing.T, e *testutil.Envtest) {
	t.Helper()
	installRBACFile(t, e, "runner_reader.yaml")
}

// kubernetesDefinition creates a definition with one kubernetes target.
func kubernetesDefinition(t *testing.T, e *testutil.Envtest, ns, name, storageName string, k v1alpha1.KubernetesTarget) *v1alpha1.BackupDefinition {
	t.Helper()
	k.AllowUnencryptedSecrets = true // the test storage does not encrypt
	d := &v1alpha1.BackupDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.BackupDefinitionSpec{StorageRef: v1alpha1.LocalObjectReference{Name: storageName},
			Targets: []v1alpha1.Target{{Name: "resources", Kubernetes: &k}}}}
	mustCreate(t, e, d)
	return d
}

// runnerUser is the runner's ServiceAccount as the API server knows it.
func runnerUser(ns, name string) (string, []string) {
	sa := controller.RunnerName(ns, name)
	if ns == operatorNS {
		sa = controller.RunnerClusterServiceAccount
	}
	return "system:serviceaccount:" + operatorNS + ":" + sa,
		[]string{"system:serviceaccounts", "system:serviceaccounts:" + operatorNS, "system:authenticated"}
}

// can asks the real RBAC authorizer whether the runner of ns/name may do verb on resource in namespace.
func can(t *testing.T, e *testutil.Envtest, ns, name, verb, group, resource, namespace string) bool {
	t.Helper()
	user, groups := runnerUser(ns, name)
	sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{User: user, Groups: groups,
		ResourceAttributes: &authzv1.ResourceAttributes{Verb: verb, Group: group, Resource: resource, Namespace: namespace}}}
	if err := e.Client.Create(context.Background(), sar); err != nil {
		t.Fatal(err)
	}
	return sar.Status.Allowed
}

// TestTenantRunnerReadsOnlyItsNamespace: a tenant's kubernetes target
// gets its runner a ServiceAccount bound read-only in the tenant's
// namespace. The RBAC authorizer, asked and exercised by a backup running
// as that identity, lets it read its namespace and nothing else: not
// another tenant's, not the operator's, no writes.
func TestTenantRunnerReadsOnlyItsNamespace(t *testing.T) {
	e := cluster(t)
	installRunnerReader(t, e)
	st := uniq("store-")
	storage(t, e, st)
	ns, other := appNamespace(t, e, true), appNamespace(t, e, true)
	for _, n := range []string{ns, other} {
		mustCreate(t, e, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: n, Name: "settings"}, Data: map[string]string{"owner": n}})
	}
	kubernetesDefinition(t, e, ns, "res", st, v1alpha1.KubernetesTarget{})
	testutil.Eventually(t, 60*time.Second, "runner StatefulSet", func() bool { _, ok := statefulSet(t, e, ns, "res"); return ok })
	sts, _ := statefulSet(t, e, ns, "res")
	spec := sts.Spec.Template.Spec
	if spec.ServiceAccountName != controller.RunnerName(ns, "res") || spec.AutomountServiceAccountToken == nil || !*spec.AutomountServiceAccountToken {
		t.Fatalf("runner pod: serviceAccountName %q, automount %v", spec.ServiceAccountName, spec.AutomountServiceAccountToken)
	}
	binding := &rbacv1.RoleBinding{}
	testutil.Eventually(t, 60*time.Second, "RoleBinding in the tenant's namespace", func() bool {
		return e.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "coffer-runner-res"}, binding) == nil
	})
	for _, c := range []struct {
		verb, group, resource, namespace string
		want                             bool
	}{
		{"list", "", "secrets", ns, true},
		{"get", "apps", "deployments", ns, true},
		{"list", "", "secrets", other, false},
		{"list", "", "configmaps", operatorNS, false},
		{"list", "", "secrets", "", false},
		{"list", "", "namespaces", "", false},
		{"create", "", "configmaps", ns, false},
		{"delete", "", "secrets", ns, false},
		{"update", "apps", "deployments", ns, false},
	} {
		if got := can(t, e, ns, "res", c.verb, c.group, c.resource, c.namespace); got != c.want {
			t.Errorf("runner may %s %s.%s in %q: %v, want %v", c.verb, c.resource, c.group, c.namespace, got, c.want)
		}
	}

	checkBackupAsRunner(t, e, ns, other)
}

// checkBackupAsRunner: a backup as the tenant's runner identity reads its
// namespace, and is refused another, and all namespaces.
func checkBackupAsRunner(t *testing.T, e *testutil.Envtest, ns, other string) {
	t.Helper()
	user, groups := runnerUser(ns, "res")
	asRunner := rest.CopyConfig(e.Config)
	asRunner.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	eng := &kubernetes.Engine{Config: func(engine.Target) (*rest.Config, error) { return asRunner, nil }}
	backup := func(namespaces ...string) (string, error) {
		var buf bytes.Buffer
		tg := engine.Target{Spec: v1alpha1.Target{Name: "resources", Kubernetes: &v1alpha1.KubernetesTarget{IncludedNamespaces: namespaces}}}
		_, err := eng.Backup(context.Background(), tg, &buf)
		return buf.String(), err
	}
	out, err := backup(ns)
	if err != nil || !strings.Contains(out, `"owner": "`+ns+`"`) {
		t.Fatalf("backup of the tenant's namespace as its runner: %v", err)
	}
	if out, err := backup(other); !apierrors.IsForbidden(err) || strings.Contains(out, `"owner": "`+other+`"`) {
		t.Fatalf("backup of another namespace as the tenant's runner: err %v, read it: %v", err, strings.Contains(out, other))
	}
	if _, err := backup(); err == nil {
		t.Fatal("backup of every namespace as the tenant's runner succeeded")
	}
}

// TestTenantKubernetesTargetScoped: a tenant's target may not name another
// namespace or cluster resources (no runner, a condition says why); its
// rendered config names its own namespace; deleting the definition removes
// the runner's identity.
func TestTenantKubernetesTargetScoped(t *testing.T) {
	e := cluster(t)
	st := uniq("store-")
	storage(t, e, st)
	ns := appNamespace(t, e, true)
	kubernetesDefinition(t, e, ns, "wide", st, v1alpha1.KubernetesTarget{IncludeClusterResources: true})
	testutil.Eventually(t, 60*time.Second, "InvalidSpec condition", func() bool {
		c := readyCondition(t, e, ns, "wide")
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == controller.ReasonInvalid && strings.Contains(c.Message, "own namespace")
	})
	if a, _, _ := runnerObjectsExist(t, e, ns, "wide"); a {
		t.Fatal("a runner was rendered for a tenant target reading cluster resources")
	}

	d := kubernetesDefinition(t, e, ns, "own", st, v1alpha1.KubernetesTarget{IncludedResources: []string{"configmaps"}})
	testutil.Eventually(t, 60*time.Second, "runner objects", func() bool { a, b, c := runnerObjectsExist(t, e, ns, "own"); return a && b && c })
	sec := &corev1.Secret{}
	if err := e.Client.Get(context.Background(), runnerKey(ns, "own"), sec); err != nil {
		t.Fatal(err)
	}
	if cfg := string(sec.Data["config.yaml"]); !strings.Contains(cfg, "includedNamespaces:") || !strings.Contains(cfg, "- "+ns+"\n") {
		t.Errorf("rendered config does not scope the target to %s:\n%s", ns, sec.Data["config.yaml"])
	}
	if err := e.Client.Delete(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, "runner identity removed", func() bool {
		sa := e.Client.Get(context.Background(), runnerKey(ns, "own"), &corev1.ServiceAccount{})
		rb := e.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "coffer-runner-own"}, &rbacv1.RoleBinding{})
		return apierrors.IsNotFound(sa) && apierrors.IsNotFound(rb)
	})
}

// TestOperatorRunnerClusterWide: a definition in the operator namespace
// runs as the shared identity bound across the cluster (read only), and the
// controller creates no binding for it; a database definition's runner
// gets no identity at all.
func TestOperatorRunnerClusterWide(t *testing.T) {
	e := cluster(t)
	installRunnerReader(t, e)
	st := uniq("store-")
	storage(t, e, st)
	own := uniq("own-store-") // no allowedNamespaces: the operator namespace only
	mustCreate(t, e, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: own + "-s3"},
		StringData: map[string]string{"accessKeyID": "AK", "secretAccessKey": "SK"}})
	mustCreate(t, e, &v1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: own},
		Spec: v1alpha1.BackupStorageSpec{S3: &v1alpha1.S3Storage{Bucket: "b", Endpoint: "http://127.0.0.1:9",
			CredentialsSecretRef: &v1alpha1.SecretReference{Name: own + "-s3"}}}})
	name := uniq("cluster-")
	kubernetesDefinition(t, e, operatorNS, name, own, v1alpha1.KubernetesTarget{IncludeClusterResources: true})
	testutil.Eventually(t, 60*time.Second, "runner StatefulSet", func() bool { _, ok := statefulSet(t, e, operatorNS, name); return ok })
	sts, _ := statefulSet(t, e, operatorNS, name)
	if sa := sts.Spec.Template.Spec.ServiceAccountName; sa != controller.RunnerClusterServiceAccount {
		t.Fatalf("the operator's runner runs as %q, want %s", sa, controller.RunnerClusterServiceAccount)
	}
	other := appNamespace(t, e, false)
	if !can(t, e, operatorNS, name, "list", "", "secrets", other) || can(t, e, operatorNS, name, "create", "", "configmaps", other) {
		t.Error("the operator's runner should read every namespace, and write none")
	}

	ns := appNamespace(t, e, true)
	definition(t, e, ns, "db", st)
	testutil.Eventually(t, 60*time.Second, "runner StatefulSet", func() bool { _, ok := statefulSet(t, e, ns, "db"); return ok })
	sts, _ = statefulSet(t, e, ns, "db")
	if s := sts.Spec.Template.Spec; s.ServiceAccountName != "" || s.AutomountServiceAccountToken == nil || *s.AutomountServiceAccountToken {
		t.Fatalf("a database runner got an identity: %q, automount %v", s.ServiceAccountName, s.AutomountServiceAccountToken)
	}
	if err := e.Client.Get(context.Background(), runnerKey(ns, "db"), &corev1.ServiceAccount{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a database runner got a ServiceAccount: %v", err)
	}
}
