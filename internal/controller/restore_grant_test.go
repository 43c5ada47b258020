package controller_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/config"
	"github.com/coffer-dev/coffer/internal/controller"
	"github.com/coffer-dev/coffer/internal/daemon"
	"github.com/coffer-dev/coffer/internal/runnerapi"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// installRBACFile applies one of config/rbac's files, as make deploy does.
func installRBACFile(t *testing.T, e *testutil.Envtest, file string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "config", "rbac", file))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
			t.Fatal(err)
		}
		if err := e.Client.Create(context.Background(), obj); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}

// podRunner plays kubelet for a tenant's kubernetes runner: it runs the
// daemon in this process with the config the pod would have, except that
// the target reaches the API with a kubeconfig holding a token the API
// server issued for the runner's ServiceAccount: the identity the pod
// would mount. Storage is a directory.
type podRunner struct {
	api *runnerapi.Client
}

func startPodRunner(t *testing.T, e *testutil.Envtest, ns, name string) *podRunner {
	t.Helper()
	ctx := context.Background()
	sa := controller.RunnerName(ns, name)
	sec := &corev1.Secret{}
	testutil.Eventually(t, 60*time.Second, "runner config Secret and ServiceAccount", func() bool {
		return e.Client.Get(ctx, runnerKey(ns, name), sec) == nil && e.Client.Get(ctx, runnerKey(ns, name), &corev1.ServiceAccount{}) == nil
	})
	testutil.Eventually(t, 60*time.Second, "the runner's read binding in force", func() bool {
		return can(t, e, ns, name, "list", "", "configmaps", ns)
	})
	cs, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(operatorNS).CreateToken(ctx, sa,
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["e"] = &clientcmdapi.Cluster{Server: e.Config.Host, CertificateAuthorityData: e.Config.CAData}
	kc.AuthInfos["runner"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts["e"] = &clientcmdapi.Context{Cluster: "e", AuthInfo: "runner"}
	kc.CurrentContext = "e"
	kubeconfig, err := clientcmd.Write(*kc)
	if err != nil {
		t.Fatal(err)
	}
	doc := fmt.Sprintf(`apiVersion: coffer.dev/v1alpha1
kind: BackupStorage
metadata: {name: store}
spec:
  filesystem: {path: %q}
---
apiVersion: coffer.dev/v1alpha1
kind: BackupDefinition
metadata: {name: %s, namespace: %s}
spec:
  storageRef: {name: store}
  targets:
  - name: resources
    kubernetes:
      includedNamespaces: [%s]
      kubeconfigSecretRef: {name: kube, key: config}
      allowUnencryptedSecrets: true
---
apiVersion: v1
kind: Secret
metadata: {name: kube}
data: {config: %s}
`, t.TempDir(), name, ns, ns, base64.StdEncoding.EncodeToString(kubeconfig))
	base, api := runDaemon(ctx, t, doc, string(sec.Data["api-token"]))
	t.Cleanup(func() { runnerURLs.Delete(ns + "/" + name) })
	runnerURLs.Store(ns+"/"+name, base)
	return &podRunner{api: api}
}

// runDaemon runs a real runner daemon of the config doc until the test
// ends, and returns its base URL and an API client, once it is ready.
func runDaemon(ctx context.Context, t *testing.T, doc, token string) (string, *runnerapi.Client) {
	t.Helper()
	cfg, err := config.Parse("runner.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(runCtx, cfg, daemon.Options{Listener: l, Token: token, Log: slog.New(slog.DiscardHandler)})
	}()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + l.Addr().String()
	api := runnerapi.NewClient(base, token, &http.Client{Timeout: 10 * time.Second})
	testutil.Eventually(t, 60*time.Second, "runner ready", func() bool { return api.Ready(ctx) == nil })
	return base, api
}

// backup takes a backup through the runner's API and waits for its end.
func (p *podRunner) backup(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	b, err := p.api.TriggerBackup(ctx, runnerapi.BackupRequest{})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, "backup "+b.ID, func() bool {
		b, err = p.api.Backup(ctx, b.ID)
		return err == nil && b.Status.Final()
	})
	if b.Status != "Completed" {
		t.Fatalf("backup %s: %s %s", b.ID, b.Status, b.Error)
	}
	return b.ID
}

// restoreAndWait creates a Restore of the definition's latest backup and
// waits for it to end.
func restoreAndWait(t *testing.T, e *testutil.Envtest, ns, def string, o *v1alpha1.KubernetesRestoreOptions) *v1alpha1.Restore {
	t.Helper()
	rs := &v1alpha1.Restore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "r-"},
		Spec: v1alpha1.RestoreSpec{LatestOf: &v1alpha1.LocalObjectReference{Name: def}, Kubernetes: o}}
	mustCreate(t, e, rs)
	testutil.Eventually(t, 90*time.Second, "Restore "+rs.Name+" ends", func() bool {
		if err := e.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: rs.Name}, rs); err != nil {
			t.Fatal(err)
		}
		return rs.Status.Phase.Final()
	})
	return rs
}

func grantExists(t *testing.T, e *testutil.Envtest, ns, restore string) bool {
	t.Helper()
	err := e.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "coffer-restore-" + restore}, &rbacv1.RoleBinding{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// TestTenantRestoreThroughOperator: a Restore of a tenant's kubernetes
// target runs as the runner's own ServiceAccount, which may write its
// namespace only while the Restore runs. Deleted objects come back; an
// object the server refuses makes the Restore PartiallyFailed with the
// item listed; a namespaceMapping to another namespace is refused before
// anything is granted, and the other namespace stays untouched; after each
// Restore the runner may write nothing.
func TestTenantRestoreThroughOperator(t *testing.T) {
	e := cluster(t)
	installRBACFile(t, e, "runner_reader.yaml")
	installRBACFile(t, e, "runner_restorer.yaml")
	st := uniq("store-")
	storage(t, e, st)
	ns, other := appNamespace(t, e, true), appNamespace(t, e, true)
	ctx := context.Background()
	mustCreate(t, e, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings"}, Data: map[string]string{"mode": "prod"}})
	mustCreate(t, e, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "frozen"}, Data: map[string]string{"v": "1"}, Immutable: ptr.To(true)})
	mustCreate(t, e, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds"}, StringData: map[string]string{"k": "v"}})
	kubernetesDefinition(t, e, ns, "res", st, v1alpha1.KubernetesTarget{IncludedResources: []string{"configmaps", "secrets"}})
	p := startPodRunner(t, e, ns, "res")
	p.backup(t)
	if can(t, e, ns, "res", "create", "", "configmaps", ns) {
		t.Fatal("the runner may write before any Restore")
	}

	// 1. Deleted objects come back, as the runner, in its namespace.
	for _, o := range []client.Object{&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds"}}} {
		if err := e.Client.Delete(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	rs := restoreAndWait(t, e, ns, "res", nil)
	if rs.Status.Phase != v1alpha1.RestoreCompleted {
		t.Fatalf("restore: %s %s", rs.Status.Phase, rs.Status.Error)
	}
	cm := &corev1.ConfigMap{}
	if err := e.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "settings"}, cm); err != nil || cm.Data["mode"] != "prod" {
		t.Fatalf("settings not restored: %v %v", err, cm.Data)
	}
	if err := e.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "creds"}, &corev1.Secret{}); err != nil {
		t.Fatalf("creds not restored: %v", err)
	}
	checkRevoked(t, e, ns, rs)

	// 2. An object the server refuses: PartiallyFailed, the item listed,
	// the rest restored.
	if err := e.Client.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "frozen"}}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, e, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "frozen"}, Data: map[string]string{"v": "2"}, Immutable: ptr.To(true)})
	rs = restoreAndWait(t, e, ns, "res", &v1alpha1.KubernetesRestoreOptions{ExistingResources: "update"})
	if rs.Status.Phase != v1alpha1.RestorePartiallyFailed || rs.Status.FailedItemCount != 1 || len(rs.Status.FailedItems) != 1 {
		t.Fatalf("restore over an immutable ConfigMap: %s, %d failed %+v, %s", rs.Status.Phase, rs.Status.FailedItemCount, rs.Status.FailedItems, rs.Status.Error)
	}
	if f := rs.Status.FailedItems[0]; f.Target != "resources" || f.Item != "configmaps "+ns+"/frozen" || !strings.Contains(f.Reason, "immutable") {
		t.Errorf("failed item %+v", f)
	}
	checkRevoked(t, e, ns, rs)

	// 3. Into another namespace: refused, nothing granted, nothing written.
	rs = restoreAndWait(t, e, ns, "res", &v1alpha1.KubernetesRestoreOptions{NamespaceMapping: map[string]string{ns: other}})
	if rs.Status.Phase != v1alpha1.RestoreFailed || !strings.Contains(rs.Status.Error, "namespaceMapping "+ns+"="+other) ||
		!strings.Contains(rs.Status.Error, "restores into "+ns+" only") {
		t.Fatalf("mapping into another namespace: %s %q", rs.Status.Phase, rs.Status.Error)
	}
	if rs.Status.RunnerRestoreID != "" || grantExists(t, e, ns, rs.Name) {
		t.Fatalf("a refused restore was started (%q) or granted", rs.Status.RunnerRestoreID)
	}
	if err := e.Client.Get(ctx, types.NamespacedName{Namespace: other, Name: "settings"}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the other namespace got the tenant's ConfigMap: %v", err)
	}
	if can(t, e, ns, "res", "create", "", "configmaps", other) {
		t.Fatal("the tenant's runner may write another namespace")
	}
}

// checkRevoked: an ended Restore leaves no grant and a runner that writes nothing.
func checkRevoked(t *testing.T, e *testutil.Envtest, ns string, rs *v1alpha1.Restore) {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, "grant of "+rs.Name+" revoked", func() bool {
		return !grantExists(t, e, ns, rs.Name) && !can(t, e, ns, "res", "create", "", "configmaps", ns)
	})
	var c *metav1.Condition
	testutil.Eventually(t, 30*time.Second, "WriteAccess condition Revoked", func() bool {
		_ = e.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: rs.Name}, rs)
		c = meta.FindStatusCondition(rs.Status.Conditions, controller.ConditionWriteAccess)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == controller.ReasonRevoked
	})
}

// TestSweepRestoreGrants: grants whose Restore is gone or ended are
// deleted; the grant of a Restore in flight stays.
func TestSweepRestoreGrants(t *testing.T) {
	e := cluster(t)
	ctx := context.Background()
	st := uniq("store-")
	storage(t, e, st)
	ns := appNamespace(t, e, true)
	// In flight: its definition's runner does not answer, so it waits
	// (Pending) for minutes. Ended: its definition does not exist.
	definition(t, e, ns, "db", st)
	running := &v1alpha1.Restore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "running"},
		Spec: v1alpha1.RestoreSpec{LatestOf: &v1alpha1.LocalObjectReference{Name: "db"}}}
	ended := &v1alpha1.Restore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ended"},
		Spec: v1alpha1.RestoreSpec{LatestOf: &v1alpha1.LocalObjectReference{Name: "nothing"}}}
	mustCreate(t, e, running)
	mustCreate(t, e, ended)
	testutil.Eventually(t, 30*time.Second, "one Restore Pending, one Failed", func() bool {
		_ = e.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "running"}, running)
		_ = e.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "ended"}, ended)
		return running.Status.Phase == v1alpha1.RestorePending && ended.Status.Phase == v1alpha1.RestoreFailed
	})
	grant := func(name, restore string) *rbacv1.RoleBinding {
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Labels:      map[string]string{controller.LabelRestoreGrant: "true"},
			Annotations: map[string]string{controller.AnnotationRestore: ns + "/" + restore}},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: controller.RunnerRestorerRole},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: operatorNS, Name: "runner-x"}}}
		mustCreate(t, e, rb)
		return rb
	}
	grant("keep", "running")
	grant("ended", "ended")
	grant("gone", "deleted-long-ago")
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: uniq("coffer-restore-sweep-"),
		Labels: map[string]string{controller.LabelRestoreGrant: "true"}, Annotations: map[string]string{controller.AnnotationRestore: operatorNS + "/gone"}},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: controller.RunnerRestorerRole},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: operatorNS, Name: controller.RunnerClusterServiceAccount}}}
	mustCreate(t, e, crb)
	if _, err := controller.SweepRestoreGrants(ctx, e.Client, e.Client); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"keep": true, "ended": false, "gone": false} {
		err := e.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &rbacv1.RoleBinding{})
		if exists := err == nil; exists != want {
			t.Errorf("grant %s: exists %v, want %v (%v)", name, exists, want, err)
		}
	}
	if err := e.Client.Get(ctx, types.NamespacedName{Name: crb.Name}, &rbacv1.ClusterRoleBinding{}); !apierrors.IsNotFound(err) {
		t.Errorf("the ClusterRoleBinding of a gone Restore stays: %v", err)
	}
}

// TestOperatorRestoreGrantClusterWide: a Restore of a kubernetes target of
// the operator namespace grants the shared runner identity write rights
// across the cluster by a ClusterRoleBinding, in force before the restore
// is asked for (the runner does not answer here, so the Restore waits,
// Pending, holding the grant); deleting the Restore revokes it.
func TestOperatorRestoreGrantClusterWide(t *testing.T) {
	e := cluster(t)
	ctx := context.Background()
	installRBACFile(t, e, "runner_reader.yaml")
	installRBACFile(t, e, "runner_restorer.yaml")
	own := uniq("own-store-")
	mustCreate(t, e, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: own + "-s3"},
		StringData: map[string]string{"accessKeyID": "AK", "secretAccessKey": "SK"}})
	mustCreate(t, e, &v1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: own},
		Spec: v1alpha1.BackupStorageSpec{S3: &v1alpha1.S3Storage{Bucket: "b", Endpoint: "http://127.0.0.1:9",
			CredentialsSecretRef: &v1alpha1.SecretReference{Name: own + "-s3"}}}})
	name := uniq("cluster-")
	kubernetesDefinition(t, e, operatorNS, name, own, v1alpha1.KubernetesTarget{IncludeClusterResources: true})
	other := appNamespace(t, e, false)
	if can(t, e, operatorNS, name, "create", "", "configmaps", other) {
		t.Fatal("the shared runner identity may write before any Restore")
	}
	rs := &v1alpha1.Restore{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: uniq("r-")},
		Spec: v1alpha1.RestoreSpec{LatestOf: &v1alpha1.LocalObjectReference{Name: name},
			Kubernetes: &v1alpha1.KubernetesRestoreOptions{NamespaceMapping: map[string]string{"shop": other}}}}
	mustCreate(t, e, rs)
	crb := &rbacv1.ClusterRoleBinding{}
	testutil.Eventually(t, 60*time.Second, "the Restore Pending with a ClusterRoleBinding", func() bool {
		_ = e.Client.Get(ctx, types.NamespacedName{Namespace: operatorNS, Name: rs.Name}, rs)
		c := meta.FindStatusCondition(rs.Status.Conditions, controller.ConditionWriteAccess)
		return rs.Status.Phase == v1alpha1.RestorePending && c != nil && c.Status == metav1.ConditionTrue &&
			e.Client.Get(ctx, types.NamespacedName{Name: "coffer-restore-" + rs.Name}, crb) == nil
	})
	if crb.RoleRef.Name != controller.RunnerRestorerRole || len(crb.Subjects) != 1 || crb.Subjects[0].Name != controller.RunnerClusterServiceAccount {
		t.Fatalf("grant %+v", crb)
	}
	if !can(t, e, operatorNS, name, "create", "", "configmaps", other) || can(t, e, operatorNS, name, "delete", "", "configmaps", other) {
		t.Error("while the grant stands the shared identity should create (and never delete) anywhere")
	}
	if err := e.Client.Delete(ctx, rs); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "grant revoked with the Restore", func() bool {
		return apierrors.IsNotFound(e.Client.Get(ctx, types.NamespacedName{Name: "coffer-restore-" + rs.Name}, &rbacv1.ClusterRoleBinding{})) &&
			!can(t, e, operatorNS, name, "create", "", "configmaps", other)
	})
}

// TestTenantGrantScope: while a tenant's Restore holds its grant (its
// runner does not answer here, so the Restore waits, Pending), the runner
// may create and patch in the tenant's namespace and nowhere else: not in
// another tenant's, not in the operator's, no cluster resources, no
// namespaces, and never delete. The grant is a RoleBinding owned by the
// Restore.
func TestTenantGrantScope(t *testing.T) {
	e := cluster(t)
	ctx := context.Background()
	installRBACFile(t, e, "runner_reader.yaml")
	installRBACFile(t, e, "runner_restorer.yaml")
	st := uniq("store-")
	storage(t, e, st)
	ns, other := appNamespace(t, e, true), appNamespace(t, e, true)
	kubernetesDefinition(t, e, ns, "res", st, v1alpha1.KubernetesTarget{})
	testutil.Eventually(t, 60*time.Second, "runner config Secret", func() bool {
		return e.Client.Get(ctx, runnerKey(ns, "res"), &corev1.Secret{}) == nil
	})
	rs := &v1alpha1.Restore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "held"},
		Spec: v1alpha1.RestoreSpec{LatestOf: &v1alpha1.LocalObjectReference{Name: "res"}}}
	mustCreate(t, e, rs)
	testutil.Eventually(t, 60*time.Second, "the Restore Pending, its grant in force", func() bool {
		_ = e.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: rs.Name}, rs)
		return rs.Status.Phase == v1alpha1.RestorePending && can(t, e, ns, "res", "create", "", "configmaps", ns)
	})
	rb := &rbacv1.RoleBinding{}
	if err := e.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "coffer-restore-held"}, rb); err != nil {
		t.Fatal(err)
	}
	if len(rb.OwnerReferences) != 1 || rb.OwnerReferences[0].UID != rs.UID || rb.RoleRef.Name != controller.RunnerRestorerRole {
		t.Errorf("grant %+v", rb)
	}
	for _, c := range []struct {
		verb, group, resource, namespace string
		want                             bool
	}{
		{"create", "", "secrets", ns, true},
		{"patch", "apps", "deployments", ns, true},
		{"delete", "", "configmaps", ns, false},
		{"create", "", "configmaps", other, false},
		{"patch", "apps", "deployments", other, false},
		{"create", "", "configmaps", operatorNS, false},
		{"create", "", "namespaces", "", false},
		{"create", "rbac.authorization.k8s.io", "clusterrolebindings", "", false},
		{"create", "", "persistentvolumes", "", false},
	} {
		if got := can(t, e, ns, "res", c.verb, c.group, c.resource, c.namespace); got != c.want {
			t.Errorf("with its grant, the runner may %s %s.%s in %q: %v, want %v", c.verb, c.resource, c.group, c.namespace, got, c.want)
		}
	}
	if err := e.Client.Delete(ctx, rs); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "grant revoked with the Restore", func() bool {
		return !grantExists(t, e, ns, "held") && !can(t, e, ns, "res", "create", "", "configmaps", ns)
	})
}
